"""The workers' metrics (broadcaster/metrics.py): each send's outcome and latency, 429s and
their Retry-After, the wait for a rate-limit slot, event deliveries.

`MeasuredClient` stands in for the process's ReplaiClient and times every `send`, so the send
path (delivery.py) needs no change for it.
"""

import time
from typing import Any, cast

from broadcaster import metrics
from broadcaster.campaigns import Campaign
from broadcaster.errors import ReplaiError, ReplaiThrottled
from broadcaster.replai import ReplaiClient
from broadcaster.store import CampaignStore

from .sendpath import Resources

__all__ = ["MeasuredClient", "measure", "outcome_of", "recorder"]

_recorder: metrics.Recorder | None = None


def recorder(store: CampaignStore) -> metrics.Recorder:
    """This process's recorder (one flush thread per process)."""
    global _recorder
    if _recorder is None or _recorder.redis is not store.redis:
        _recorder = metrics.Recorder(store.redis, store.keys.metrics())
    return _recorder


def measure(res: Resources) -> None:
    """Count and time `res`'s sends and slot waits from now on."""
    record = recorder(res.store)

    def account_of(cid: str) -> str | None:
        campaign = res.campaign(cid)
        return res.policy.limits.account_for(campaign.sender, campaign.account)

    def observe_wait(campaign: Campaign, seconds: float) -> None:
        labels = {"channel": str(campaign.channel)}
        record.observe("slot_wait_seconds", labels, seconds, metrics.WAIT_BUCKETS)

    res.client = cast(ReplaiClient, MeasuredClient(res.client, record, account_of))
    res.clients = {  # each account's own pool, measured the same way
        name: cast(ReplaiClient, MeasuredClient(client, record, account_of))
        for name, client in res.clients.items()
    }
    res.observe_wait = observe_wait


def outcome_of(exc: ReplaiError) -> str:
    """A bounded label for a failed request: the error class, without `Replai`."""
    name = type(exc).__name__.removeprefix("Replai")
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_") or "error"


class MeasuredClient:
    """A ReplaiClient whose `send` is counted and timed; everything else passes through.

    Labels: `channel`, `sender`, `account` (the campaign's, found through `account_of`, which
    gets the send's `ref`: `campaign_id:index`).
    """

    def __init__(self, client: Any, record: metrics.Recorder, account_of: Any) -> None:
        self._client = client
        self._record = record
        self._account_of = account_of

    def send(self, **call: Any) -> Any:
        """`ReplaiClient.send`, measured."""
        labels = {
            "channel": str(call.get("channel", "")),
            "sender": str(call.get("sender", "")),
            "account": self._account(str(call.get("ref", ""))),
        }
        start = time.perf_counter()
        try:
            result = self._client.send(**call)
        except ReplaiError as exc:
            self._done(labels, outcome_of(exc), time.perf_counter() - start)
            if isinstance(exc, ReplaiThrottled):
                self._record.inc("replai_throttled_total", labels)
                self._record.observe("replai_retry_after_seconds", labels,
                                     exc.retry_after or 0.0, metrics.WAIT_BUCKETS)  # fmt: skip
            raise
        self._done(labels, "sent", time.perf_counter() - start)
        return result

    def _done(self, labels: dict[str, str], outcome: str, seconds: float) -> None:
        self._record.inc("sends_total", {**labels, "outcome": outcome})
        self._record.observe("replai_request_seconds", {"channel": labels["channel"]}, seconds)

    def _account(self, ref: str) -> str:
        try:
            return str(self._account_of(ref.rpartition(":")[0]) or "default")
        except Exception:  # a label is not worth a failed send
            return "default"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)
