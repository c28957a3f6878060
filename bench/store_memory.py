"""Redis bytes per recipient of a campaign after every recipient was sent (with a message id).

    python bench/store_memory.py [--n 100000] [--redis URL]

On a redis-server of its own (started on a free port) unless `--redis` names one it may use:
never the machine's shared Redis by default.

It goes through the store's own API (create, start, prepare, claim, finish), so the layout
measured is the one the workers leave. It uses its own key prefix and deletes what it wrote.
"""

import argparse
import base64
import os
import time

import redis

from bench.harness import redis_server
from broadcaster.campaigns import Campaign, RecipientStatus, new_campaign_id
from broadcaster.contacts import Contact
from broadcaster.keys import Keys
from broadcaster.store import CampaignStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--redis", default=None, help="a Redis it may write to (default: its own)")
    args = parser.parse_args()
    if args.redis is not None:
        _measure(redis.Redis.from_url(args.redis), args)
        return
    with redis_server() as server:
        _measure(server.client(13), args)


def _measure(client: "redis.Redis", args: argparse.Namespace) -> None:
    keys = Keys("bcbench")
    store = CampaignStore(client, keys=keys, stale_after=60.0)
    campaign = Campaign(
        id=new_campaign_id(), name="bench", channel="waba", sender="w", text="Halo {name}"
    )
    contacts = (
        Contact(line=i + 2, phone=f"6281{i:09d}", variables={"name": f"Name {i}"})
        for i in range(args.n)
    )
    t0 = time.perf_counter()
    campaign = store.create(campaign, contacts, window=args.n)
    created = time.perf_counter() - t0
    before = _used(client, keys)
    store.start(campaign.id)
    t0 = time.perf_counter()
    for i in range(args.n):
        ticket = store.prepare(campaign.id, i)
        until = store.clock() + 60
        store.claim(campaign.id, i, lease_until=until, phone=ticket.phone)
        # a realistic Meta id: "wamid." + base64 of ~40 bytes
        wamid = "wamid." + base64.b64encode(os.urandom(40)).decode()
        store.finish(
            campaign.id,
            i,
            RecipientStatus.SENT,
            message_id=wamid,
            phone=ticket.phone,
            lease_until=until,
        )
    sent = time.perf_counter() - t0
    after = _used(client, keys)
    print(f"recipients: {args.n}")
    print(f"create: {created:.2f} s ({args.n / created:,.0f}/s)")
    print(f"prepare+claim+finish: {sent:.2f} s ({args.n / sent:,.0f}/s, one process)")
    print(f"bytes/recipient before sending: {before / args.n:.1f}")
    print(
        f"bytes/recipient after sending (message ids, id and phone indexes): {after / args.n:.1f}"
    )
    store.delete(campaign.id)
    for name in client.scan_iter(match="bcbench:*", count=1000):
        client.delete(name)


def _used(client: "redis.Redis", keys: Keys) -> int:
    return sum(
        client.memory_usage(k, samples=0) or 0
        for k in client.scan_iter(match=f"{keys.prefix}:*", count=1000)
    )


if __name__ == "__main__":
    main()
