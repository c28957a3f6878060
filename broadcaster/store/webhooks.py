"""Delivery statuses and replies into the store: one Lua script per webhook body
(callback.lua), and the two indexes callbacks are matched by."""

from typing import Any

from broadcaster.campaigns import RecipientStatus

from .base import StoreBase, digest, parse_ref

__all__ = ["DELIVERY_STATUSES", "WebhookPath"]

#: The statuses a delivery callback may set.
DELIVERY_STATUSES = frozenset(
    {RecipientStatus.SENT, RecipientStatus.DELIVERED, RecipientStatus.READ, RecipientStatus.FAILED}
)


class WebhookPath(StoreBase):
    """Applying webhook bodies (a part of `CampaignStore`)."""

    def find_message(self, message_id: str) -> tuple[str, int] | None:
        """The campaign and recipient a Replai message id belongs to, if it is one of ours."""
        return parse_ref(self.redis.hget(self.keys.msgindex(message_id), digest(message_id)))

    def find_phone(self, phone: str) -> tuple[str, int] | None:
        """The campaign and recipient that last messaged this number."""
        return parse_ref(self.redis.hget(self.keys.by_phone(phone), phone))

    def webhook_call(
        self,
        body_digest: str,
        statuses: list[tuple[str, RecipientStatus, str]],
        replies: list[tuple[str, str, bool]],
        *,
        ttl: float = 86400.0,
    ) -> tuple[list[str], list[Any]]:
        """Keys and arguments of the one script that applies a webhook body.

        Args:
            body_digest: the body's digest, seen once per `ttl` seconds; "" applies without it.
            statuses: (message id, sent/delivered/read/failed, error or "") in order.
            replies: (phone, text, opted out) in order; an opted-out phone is suppressed.

        Run it with `apply_webhook`, or with `redis.asyncio` through `webhook_script`.
        """
        k = self.keys
        keys = [k.webhook_seen(body_digest), k.suppression()]
        args: list[Any] = [int(ttl) if body_digest else 0, self.clock(), len(statuses)]
        for build in (k.campaign, k.status, k.counts, k.meta, k.errors, k.replies):
            args.extend(build("\x00").split("\x00"))  # a template the script puts ids in
        for message_id, status, error in statuses:
            if status not in DELIVERY_STATUSES:
                raise ValueError(f"not a delivery status: {status!r}")
            keys.append(k.msgindex(message_id))
            args += [digest(message_id), int(status), error]
        for phone, text, stop in replies:
            keys.append(k.by_phone(phone))
            args += [phone, text[:500], "1" if stop else "0"]
        return keys, args

    @property
    def webhook_script(self) -> str:
        """The Lua source `webhook_call`'s keys and arguments are for."""
        return str(self.script("callback.lua").script)

    def apply_webhook(
        self,
        body_digest: str,
        statuses: list[tuple[str, RecipientStatus, str]],
        replies: list[tuple[str, str, bool]],
        *,
        ttl: float = 86400.0,
    ) -> tuple[bool, int, int]:
        """Apply a webhook body atomically: see `webhook_call`.

        Returns (duplicate, statuses applied, replies matched to a recipient); statuses of
        unknown ids or going backwards are not applied, a duplicate body changes nothing.
        """
        keys, args = self.webhook_call(body_digest, statuses, replies, ttl=ttl)
        return self.webhook_result(self.script("callback.lua")(keys=keys, args=args))

    @staticmethod
    def webhook_result(raw: Any) -> tuple[bool, int, int]:
        """(duplicate, statuses applied, replies matched) from the webhook script's reply."""
        return bool(raw[0]), int(raw[1]), int(raw[2])
