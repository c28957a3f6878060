"""CampaignStore: campaigns, recipients, statuses and counters in Redis.

Layout per campaign (keys in `keys.py`): a hash of fields; one status byte per recipient in a
string; attempts (u8) and last change time (u32) packed 5 bytes per recipient in another
string; recipients (phone plus the variables the message needs) and message ids in bucket
hashes of 100 that Redis keeps in its compact encoding; a sorted set of the recipients in
flight (the dispatch window), scored by a deadline; a requeue list; counters per status.

Every state change is one Lua script, so a recipient moves atomically and the counters always
add up to the total. The store is one class assembled from its parts, one module each:
`records` (create, read, list), `deletion` (delete, drop archived data, in steps),
`archive` (what an archived campaign keeps), `erasure` (a number's data),
`lifecycle` (start, pause, ..., the ticker's pass), `sending` (prepare, claim and outcome),
`webhooks` (statuses, replies, the hold for early callbacks), `suppression` (each number with
its source and time), `rows` (reports), `memory` (room left in Redis), `events` (outbound
event subscriptions), `subscriptions` (those made through the API), `pools` (a
sender pool's senders). Get one with `open_store(settings)`.
"""

from typing import TYPE_CHECKING, Any

from broadcaster.keys import Keys

from .archive import Archiving
from .deletion import Removal
from .erasure import BlockedNumbers, Erasure
from .events import EventOutbox, HookState
from .lifecycle import Lifecycle
from .memory import BYTES_PER_RECIPIENT, MemoryPart, RedisMemory
from .pools import PoolState, SenderShare
from .records import CampaignRecords
from .rows import RecipientRow, RowReader
from .sending import Claim, DailyLimit, Hours, SendPath, Slot, Ticket
from .subscriptions import GlobalHooks
from .suppression import SuppressionEntry, SuppressionList
from .webhooks import WebhookPath, WebhookResult, WebhookRules, WebhookStats

if TYPE_CHECKING:
    from broadcaster.settings import Settings

__all__ = [
    "BYTES_PER_RECIPIENT",
    "BlockedNumbers",
    "CampaignStore",
    "Claim",
    "DailyLimit",
    "HookState",
    "Hours",
    "RecipientRow",
    "RedisMemory",
    "Removal",
    "SenderShare",
    "Slot",
    "SuppressionEntry",
    "Ticket",
    "WebhookResult",
    "WebhookRules",
    "WebhookStats",
    "open_store",
]


class CampaignStore(
    CampaignRecords,
    Lifecycle,
    SendPath,
    WebhookPath,
    SuppressionList,
    RowReader,
    MemoryPart,
    Archiving,
    Erasure,
    EventOutbox,
    GlobalHooks,
    PoolState,
):
    """Reads and writes campaigns in Redis. Every method is safe across processes and hosts.

    Args:
        redis: a `redis.Redis` client (bytes responses).
        keys: key builder with the deployment's prefix.
        stale_after: seconds a released send may sit in the broker before it is published
            again (`Settings.stale_after`).
        clock: time source, seconds.

    Usage:
        store = open_store(get_settings())
        campaign = store.get("c1a2b3c4d5e6")
    """


def open_store(settings: "Settings", *, redis: Any = None, **overrides: Any) -> CampaignStore:
    """The deployment's store: its Redis (`settings.redis_client()` unless `redis` is given),
    key prefix and timings. `overrides` go to CampaignStore (e.g. `clock=`)."""
    client = redis if redis is not None else settings.redis_client()
    secret = settings.erasure_secret
    options: dict[str, Any] = {
        "keys": Keys(settings.key_prefix), "stale_after": settings.stale_after,
        "erasure_secret": secret.get_secret_value().encode() if secret else None,
    } | overrides  # fmt: skip
    return CampaignStore(client, **options)
