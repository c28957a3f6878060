"""Sender pools: a campaign may send through several senders, each recipient through one.

Each recipient is assigned its sender when the campaign is stored: the rendezvous (highest
random weight) hash of its number over the pool. The choice depends only on the number and the
pool's sender ids, so it is stable across retries and resumes (it is stored: one byte per
recipient, `keys.senders`, indexing `Campaign.pool()`), and sticky across campaigns with no
storage: the same number gets the same sender in a later campaign whenever that sender is in
the pool. Taking a sender out of a pool moves only that sender's recipients (rendezvous
hashing's property), so `assign(phone, pool_without_it)` is where they go.

Usage:
    pool = ["6281100", "6281200", "6281300"]
    i = assign("628123456789", pool)     # index into pool, the same every time
"""

import hashlib
from collections.abc import Sequence

__all__ = ["MAX_SENDERS", "assign", "weight"]

#: A recipient's sender is one byte: at most this many senders in a pool.
MAX_SENDERS = 255


def weight(phone: str, sender: str) -> int:
    """The rendezvous weight of the pair (the highest over a pool wins)."""
    digest = hashlib.blake2b(f"{sender}\x00{phone}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def assign(phone: str, pool: Sequence[str], out: Sequence[str] = ()) -> int:
    """The index in `pool` of the sender that sends to `phone` (senders in `out` excluded).

    Raises:
        ValueError: every sender of the pool is out.
    """
    best, chosen = -1, -1
    for i, sender in enumerate(pool):
        if sender in out:
            continue
        w = weight(phone, sender)
        if w > best:
            best, chosen = w, i
    if chosen < 0:
        raise ValueError("every sender of the pool is out")
    return chosen
