"""The log of accepted sends that `GET /_sandbox/sends` reports."""

from collections import Counter
from dataclasses import dataclass
from typing import Any

__all__ = ["SendLog", "SendRecord"]


@dataclass(frozen=True, slots=True)
class SendRecord:
    """One accepted send.

    `t` is the wall-clock time the request reached its handler, before any latency sleep;
    `ref` is the `X-Broadcaster-Ref` header, None when absent.
    """

    t: float
    phone: str
    ref: str | None
    route: str
    message_id: str
    token: str | None = None
    account: str | None = None  #: whose throttle it counted toward (`Accounts.throttle_key`)
    sender: str | None = None  #: the device_id, waba_id or device_key it went out on

    def to_json(self) -> dict[str, Any]:
        """The record as `/_sandbox/sends` lists it."""
        return {
            "t": self.t,
            "phone": self.phone,
            "ref": self.ref,
            "route": self.route,
            "message_id": self.message_id,
            "token": self.token,
            "account": self.account,
            "sender": self.sender,
        }


def _report(
    records: list[SendRecord], per_phone: Counter[str], per_ref: Counter[str]
) -> dict[str, Any]:
    return {
        "count": len(records),
        "duplicates": sum(n - 1 for n in per_ref.values()),
        "per_phone": dict(per_phone),
        "per_ref": dict(per_ref),
    }


class SendLog:
    """Every accepted send in arrival order, with running per-phone and per-ref counts."""

    def __init__(self) -> None:
        self.records: list[SendRecord] = []
        self._per_phone: Counter[str] = Counter()
        self._per_ref: Counter[str] = Counter()

    def __len__(self) -> int:
        return len(self.records)

    def add(self, record: SendRecord) -> None:
        """Record one accepted send."""
        self.records.append(record)
        self._per_phone[record.phone] += 1
        if record.ref:
            self._per_ref[record.ref] += 1

    def report(self, *, since: float | None = None, summary: bool = False) -> dict[str, Any]:
        """The `/_sandbox/sends` body: counts, duplicates (sum over refs of n-1) and sends.

        Args:
            since: only sends that arrived at or after this unix time.
            summary: leave the `sends` list out.
        """
        if since is None:
            records = self.records
            body = _report(records, self._per_phone, self._per_ref)
        else:
            records = [r for r in self.records if r.t >= since]
            per_phone = Counter(r.phone for r in records)
            per_ref = Counter(r.ref for r in records if r.ref)
            body = _report(records, per_phone, per_ref)
        if not summary:
            body["sends"] = [r.to_json() for r in records]
        return body

    def clear(self) -> None:
        """Forget every send."""
        self.records.clear()
        self._per_phone.clear()
        self._per_ref.clear()
