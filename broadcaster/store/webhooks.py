"""Webhook bodies into the store: one Lua script per body (callback.lua, with the rules in
receipts.lua), the indexes callbacks are matched by, and the hold for early callbacks.

- A status is matched by its message id. One whose id is not recorded yet (the provider's
  callback beat the worker's write) is held, at most `WebhookRules.hold_max` ids for
  `hold_seconds`, and applied by finish.lua the moment the worker records that id. What
  expires unapplied is counted (`webhook_stats`), never silently dropped.
- Statuses rank sent < failed < delivered < read: the recipient keeps the furthest, whatever
  the order their callbacks arrive in, stamped with the provider's time (the report's
  `updated_at`).
- A reply goes to the message it answers (`context_id`), held like a status while that id is
  unknown; without one, to the campaign that last messaged the number, when that message's
  last status is within `reply_window` seconds before the reply. The newest reply by its own
  time is kept per recipient; every reply is counted.
- Opt-outs and resumes: see `SuppressionList`.
"""

import dataclasses
import functools
from typing import TYPE_CHECKING, Any, NamedTuple

from broadcaster.optouts import OPTED_OUT_CODE, OptOutSource
from broadcaster.webhook_changes import WebhookChanges

from .base import StoreBase, digest, parse_ref

if TYPE_CHECKING:
    from broadcaster.settings import Settings

__all__ = ["WebhookPath", "WebhookResult", "WebhookRules", "WebhookStats"]

#: Longest reply text kept, in characters.
_REPLY_CHARS = 500
_KIND_CHARS = 40
#: Above this a webhook's time is in milliseconds (as seconds it would be past year 5000).
_MILLISECONDS = 1e11
_U32_MAX = 2**32 - 1


@dataclasses.dataclass(frozen=True, slots=True)
class WebhookRules:
    """How long early callbacks wait, how many, and how old a campaign a reply may go to.

    Args:
        hold_seconds: a callback for a message id not recorded yet waits this long.
        hold_max: at most this many message ids wait; callbacks past it are dropped (counted).
        reply_window: a reply without a context id goes to the campaign that last messaged
            the number only if that message's last status is this recent (seconds).
    """

    hold_seconds: float
    hold_max: int
    reply_window: float

    @classmethod
    def from_settings(cls, settings: "Settings") -> "WebhookRules":
        """The deployment's rules (`BROADCASTER_WEBHOOK_HOLD_SECONDS`, ...)."""
        return cls(settings.webhook_hold_seconds, settings.webhook_hold_max, settings.reply_window)


class WebhookResult(NamedTuple):
    """What the webhook script did with one body."""

    duplicate: bool
    statuses: int  # applied (moved a recipient)
    unchanged: int  # statuses that moved nothing (not further along, not ours) nor were held
    replies: int  # matched to a recipient
    held: int  # waiting for their message id
    opted_out: int  # opt-outs recorded
    lifted: int  # opt-outs lifted by a resume


class WebhookStats(NamedTuple):
    """Webhook counters since the store was created (`/healthz` shows them).

    Message ids: `waiting` (held, within `hold_seconds`) and `overdue` (past it, cleared by
    the next body or `expire_held`). Callbacks: `held` ever, `released` when their send was
    recorded, `expired` cleared after waiting in vain (statuses lost; replies then went by
    phone), `dropped` because the hold was full. `errors`: Meta's value-level errors;
    `skipped`: events no recipient could take (unknown kinds, unusable numbers); `late`:
    callbacks for an archived campaign, ignored.
    """

    waiting: int
    overdue: int
    held: int
    released: int
    expired: int
    dropped: int
    errors: int
    skipped: int
    late: int = 0


class WebhookPath(StoreBase):
    """Applying webhook bodies (a part of `CampaignStore`)."""

    def find_message(self, message_id: str) -> tuple[str, int] | None:
        """The campaign and recipient a Replai message id belongs to, if it is one of ours."""
        return parse_ref(self.redis.hget(self.keys.msgindex(message_id), digest(message_id)))

    def find_phone(self, phone: str) -> tuple[str, int] | None:
        """The campaign and recipient that last messaged this number."""
        return parse_ref(self.redis.hget(self.keys.by_phone(phone), phone))

    def webhook_call(
        self, changes: WebhookChanges, rules: WebhookRules, *, ttl: float = 86400.0
    ) -> tuple[list[str], list[Any]]:
        """Keys and arguments of the one script that applies a webhook body.

        `changes.digest` is seen once per `ttl` seconds ("" applies without de-duplication).
        Run it with `apply_webhook`, or with `redis.asyncio` through `webhook_script`.
        """
        k, now = self.keys, self.clock()
        keys = [k.webhook_seen(changes.digest), *self._webhook_keys]
        args: list[Any] = [
            int(ttl) if changes.digest else 0, now, rules.hold_seconds, rules.hold_max,
            rules.reply_window, len(changes.statuses), len(changes.replies), 0,
            len(changes.opt_ins), len(changes.errors), changes.ignored, *self._templates,
        ]  # fmt: skip
        stamp = _Stamp(now)
        by_message = {o.message_id for o in changes.opt_outs if o.phone is None}
        for s in changes.statuses:
            source = ""  # a 131050 without a number: the opt-out takes the recipient's
            if s.message_id in by_message and s.error_code == OPTED_OUT_CODE:
                source = str(OptOutSource.FAILED_131050)
            keys.append(k.msgindex(s.message_id))
            args += [digest(s.message_id), int(s.status), stamp(s.timestamp), s.error, source]
        for r in changes.replies:
            phone_bucket = k.by_phone(r.phone)
            keys += [phone_bucket, k.msgindex(r.context_id) if r.context_id else phone_bucket]
            kind = r.kind.replace("\x1f", "")[:_KIND_CHARS] or "text"
            text = r.text[:_REPLY_CHARS] or f"[{kind}]"  # a photo without a caption...
            context = digest(r.context_id) if r.context_id else ""
            args += [r.phone, stamp(r.timestamp), kind, text, "1" if r.opt_out else "0", context]
        opt_outs = [o for o in changes.opt_outs if o.phone is not None]
        args[7] = len(opt_outs)
        for o in opt_outs:
            args += [o.phone, str(o.source), stamp(o.timestamp)]
        for i in changes.opt_ins:
            args += [i.phone, stamp(i.timestamp)]
        args += [e.code or 0 for e in changes.errors]
        return keys, args

    @functools.cached_property
    def _webhook_keys(self) -> tuple[str, ...]:
        k = self.keys
        return (k.suppression(), k.resumes(), k.held(), k.held_since(), k.webhook_stats())

    @functools.cached_property
    def _templates(self) -> tuple[str, ...]:
        """Campaign key templates, prefix and suffix around the id, for the script."""
        k, parts = self.keys, []
        for build in (k.campaign, k.status, k.counts, k.meta, k.errors, k.replies):
            parts += build("\x00").split("\x00")
        prefix, suffix = k.recipients("\x00", 0).split("\x00")
        return (*parts, prefix, suffix[:-1])  # the script appends the bucket number

    @property
    def webhook_script(self) -> str:
        """The Lua source `webhook_call`'s keys and arguments are for."""
        return str(self.script("callback.lua").script)

    def apply_webhook(
        self, changes: WebhookChanges, rules: WebhookRules, *, ttl: float = 86400.0
    ) -> WebhookResult:
        """Apply a webhook body atomically (see `webhook_call` and the module)."""
        keys, args = self.webhook_call(changes, rules, ttl=ttl)
        return self.webhook_result(self.script("callback.lua")(keys=keys, args=args))

    @staticmethod
    def webhook_result(raw: Any) -> WebhookResult:
        """What the webhook script did, from its reply."""
        duplicate, *counts = (int(n) for n in raw)
        return WebhookResult(bool(duplicate), *counts)

    def expire_held(self, rules: WebhookRules) -> None:
        """Clear held callbacks older than `rules.hold_seconds` now (each webhook body also
        clears a few; this is for when none arrive)."""
        self.apply_webhook(WebhookChanges(""), rules)

    def webhook_stats(self, rules: WebhookRules) -> WebhookStats:
        """The webhook counters, for `/healthz` and metrics."""
        k = self.keys
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(k.webhook_stats())
        pipe.hlen(k.held())
        pipe.zcount(k.held_since(), "-inf", self.clock() - rules.hold_seconds)
        raw, held, overdue = pipe.execute()
        n = {key.decode(): int(value) for key, value in raw.items()}
        counters = ("held", "released", "expired", "dropped", "errors", "skipped", "late")
        return WebhookStats(held - overdue, overdue, *(n.get(name, 0) for name in counters))


class _Stamp:
    """An event's own time as whole Unix seconds for the script; `now` when it has none.

    A time past year 5000 is read as milliseconds; the result fits the store's u32.
    """

    __slots__ = ("now",)

    def __init__(self, now: float) -> None:
        self.now = int(now)

    def __call__(self, timestamp: float | None) -> int:
        if timestamp is None:
            return self.now
        if timestamp > _MILLISECONDS:
            timestamp /= 1000
        return min(max(int(timestamp), 0), _U32_MAX)
