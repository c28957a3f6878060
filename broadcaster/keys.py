"""Every Redis key Broadcaster uses, built in one place.

All keys start with a prefix (`bc` by default, `BROADCASTER_KEY_PREFIX`), so one Redis can be
shared and `SCAN bc:*` finds everything ours. Per-campaign keys share `{prefix}:c:{id}:`.

Recipient data is bucketed: `bucket(index)` groups `BUCKET_SIZE` recipients per hash so that
Redis keeps each hash in its compact listpack encoding (default limit 128 entries).
"""

import zlib

__all__ = ["BUCKET_SIZE", "MSGINDEX_BUCKETS", "Keys"]

#: Recipients per bucket hash; below Redis's hash-max-listpack-entries (128).
BUCKET_SIZE = 100
#: Buckets of the global message-id index (message id -> campaign and recipient).
MSGINDEX_BUCKETS = 1 << 16


class Keys:
    """Builds key names under one prefix.

    Usage:
        keys = Keys("bc")
        keys.campaign("c123")  # "bc:c:c123"
    """

    __slots__ = ("prefix",)

    def __init__(self, prefix: str = "bc") -> None:
        if not prefix or ":" in prefix:
            raise ValueError(f"key prefix must be non-empty and without ':', got {prefix!r}")
        self.prefix = prefix

    # global
    def campaigns(self) -> str:
        """Sorted set of campaign ids by creation time."""
        return f"{self.prefix}:campaigns"

    def running(self) -> str:
        """Set of ids of campaigns the ticker must look after (running or scheduled)."""
        return f"{self.prefix}:running"

    def scheduled(self) -> str:
        """Sorted set of scheduled campaign ids by start time."""
        return f"{self.prefix}:scheduled"

    def expiring(self) -> str:
        """Sorted set of paused campaigns with an `expires_at`, by it: the ticker expires them
        when it passes (a running one expires in its own tick)."""
        return f"{self.prefix}:expiring"

    def expiring_indexed(self) -> str:
        """String set once the paused campaigns of versions before `expiring` were put in it
        (`Lifecycle.index_paused_expiries`): the scan is done once per deployment."""
        return f"{self.prefix}:expiring:indexed"

    def suppression(self) -> str:
        """Hash of suppressed numbers (WhatsApp keys) -> `"<source> <unix time>"`."""
        return f"{self.prefix}:suppression"

    def legacy_suppression(self) -> str:
        """The suppression list before sources were kept: a set of numbers (migrated away)."""
        return f"{self.prefix}:suppressed"

    def resumes(self) -> str:
        """Hash number -> unix time of its latest `user_preferences` resume (opt-outs from
        Meta's setting older than it are lifted, and stay lifted when they arrive late)."""
        return f"{self.prefix}:resumed"

    def held(self) -> str:
        """Hash of a message id digest -> the callbacks (JSON) that came before its send was
        recorded, waiting for it."""
        return f"{self.prefix}:held"

    def held_since(self) -> str:
        """Sorted set of the `held` digests by the time their first callback arrived."""
        return f"{self.prefix}:held:since"

    def webhook_stats(self) -> str:
        """Hash of webhook counters: held, released, expired, dropped, errors, skipped..."""
        return f"{self.prefix}:whstats"

    def msgindex(self, message_id: str) -> str:
        """Bucket hash mapping a digest of a Replai message id to `campaign_id:index`."""
        return f"{self.prefix}:msg:{_crc_bucket(message_id)}"

    def by_phone(self, phone: str) -> str:
        """Bucket hash mapping a phone number to the `campaign_id:index` that last messaged it."""
        return f"{self.prefix}:ph:{_crc_bucket(phone)}"

    def webhook_seen(self, digest: str) -> str:
        """Marker of an already processed webhook body (de-duplication)."""
        return f"{self.prefix}:wh:{digest}"

    def ticker_lock(self) -> str:
        """Lock held by the one worker running the periodic ticker."""
        return f"{self.prefix}:ticker"

    def worker(self, node: str) -> str:
        """Heartbeat of one worker process (expires when the worker stops beating)."""
        return f"{self.prefix}:worker:{node}"

    def workers(self) -> str:
        """Glob pattern matching every worker heartbeat."""
        return f"{self.prefix}:worker:*"

    def rate(self, sender: str) -> str:
        """GCRA state (theoretical arrival time) of a sender's global rate limit."""
        return f"{self.prefix}:rate:{sender}"

    def share(self, limit: str, cid: str) -> str:
        """GCRA state of a campaign's fair share of a shared limit (its account's)."""
        return f"{self.prefix}:rate:share:{limit}:{cid}"

    def sharing(self, limit: str) -> str:
        """Sorted set: the campaigns active on a shared limit, by when they last sent."""
        return f"{self.prefix}:sharing:{limit}"

    def share_caps(self, limit: str) -> str:
        """Hash: the interval of each campaign's own rate on a shared limit (0: none)."""
        return f"{self.prefix}:sharing:{limit}:caps"

    def daily(self, sender: str, day: str) -> str:
        """Set of unique recipients a sender reached on one UTC day."""
        return f"{self.prefix}:daily:{sender}:{day}"

    def metrics(self) -> str:
        """Hash of counters and histogram buckets every process adds to (metrics.py)."""
        return f"{self.prefix}:metrics"

    # outbound event webhooks (broadcaster/events.py)
    def hooks(self) -> str:
        """Set of the ids of every event subscription (global and per campaign)."""
        return f"{self.prefix}:hooks"

    def global_hooks(self) -> str:
        """Set of the ids of the subscriptions made through the API (`POST
        /events/subscriptions`): every campaign launched gets them."""
        return f"{self.prefix}:hooks:global"

    def hook(self, sub: str) -> str:
        """Hash of one subscription: url, secret, disabled, attempts, next_at, last_error..."""
        return f"{self.prefix}:hook:{sub}"

    def hook_events(self, sub: str) -> str:
        """Stream of a subscription's events not delivered yet, oldest first (bounded)."""
        return f"{self.prefix}:hook:{sub}:q"

    def hook_dead(self, sub: str) -> str:
        """List of a subscription's events given up on (JSON, newest first; bounded)."""
        return f"{self.prefix}:hook:{sub}:dead"

    def hook_lock(self, sub: str) -> str:
        """Lock of the one task delivering a subscription's events (they go in order)."""
        return f"{self.prefix}:hook:{sub}:lock"

    def hook_stats(self) -> str:
        """Hash of event counters: `dropped` (a subscription's backlog was full)."""
        return f"{self.prefix}:hookstats"

    # per campaign
    def campaign(self, cid: str) -> str:
        """Hash of the campaign's fields."""
        return f"{self.prefix}:c:{cid}"

    def counts(self, cid: str) -> str:
        """Hash status -> number of recipients in it."""
        return f"{self.prefix}:c:{cid}:n"

    def status(self, cid: str) -> str:
        """String with one status byte per recipient."""
        return f"{self.prefix}:c:{cid}:st"

    def zones(self, cid: str) -> str:
        """String with one timezone number per recipient (`Campaign.zone_names`; none: 0)."""
        return f"{self.prefix}:c:{cid}:tz"

    def senders(self, cid: str) -> str:
        """String with one sender number per recipient (`Campaign.pool` index; pools only)."""
        return f"{self.prefix}:c:{cid}:sd"

    def senders_out(self, cid: str) -> str:
        """Hash of the pool's senders taken out of the campaign: sender -> reason."""
        return f"{self.prefix}:c:{cid}:so"

    def meta(self, cid: str) -> str:
        """String of packed per-recipient attempts (u8) and last change time (u32)."""
        return f"{self.prefix}:c:{cid}:mt"

    def recipients(self, cid: str, bucket: int) -> str:
        """Bucket hash index -> phone and template variables."""
        return f"{self.prefix}:c:{cid}:r:{bucket}"

    def message_ids(self, cid: str, bucket: int) -> str:
        """Bucket hash index -> Replai message id."""
        return f"{self.prefix}:c:{cid}:m:{bucket}"

    def errors(self, cid: str) -> str:
        """Hash index -> last error reason."""
        return f"{self.prefix}:c:{cid}:e"

    def replies(self, cid: str) -> str:
        """Hash index -> last reply text."""
        return f"{self.prefix}:c:{cid}:re"

    def active(self, cid: str) -> str:
        """Sorted set of recipients released and not finished, scored by their deadline."""
        return f"{self.prefix}:c:{cid}:a"

    def parked(self, cid: str) -> str:
        """Set of the waiting or paced recipients whose time is far off (they do not hold the
        window)."""
        return f"{self.active(cid)}:parked"

    def recent(self, cid: str) -> str:
        """Hash of 64 one-second slots counting requests sent (the current send rate)."""
        return f"{self.prefix}:c:{cid}:rt"

    def given_back(self, cid: str, index: int) -> str:
        """Lease deadline of a claim given back before it reached Redis (expires with the
        lease): the claim is refused if it arrives later."""
        return f"{self.prefix}:c:{cid}:gb:{index}"

    def requeue(self, cid: str) -> str:
        """List of recipients to release again before the cursor moves on."""
        return f"{self.prefix}:c:{cid}:q"

    def events(self, cid: str) -> str:
        """Append-only list of campaign events (JSON)."""
        return f"{self.prefix}:c:{cid}:ev"

    def all_for(self, cid: str) -> str:
        """Glob pattern matching every key of one campaign."""
        return f"{self.prefix}:c:{cid}*"


def _crc_bucket(text: str) -> int:
    return zlib.crc32(text.encode()) % MSGINDEX_BUCKETS
