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

    waits: dict[str, metrics.Histogram] = {}  # by channel, worked out once each

    def observe_wait(campaign: Campaign, seconds: float) -> None:
        channel = str(campaign.channel)
        series = waits.get(channel) or waits.setdefault(
            channel,
            metrics.histogram("slot_wait_seconds", {"channel": channel}, metrics.WAIT_BUCKETS),
        )
        record.add(*series.counts(seconds))

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
    gets the send's `ref`: `campaign_id:index`). The hash fields of each label set are worked
    out once (`_Series`): recording a send is then a bisect and one `Recorder.add`.
    """

    def __init__(self, client: Any, record: metrics.Recorder, account_of: Any) -> None:
        self._client = client
        self._record = record
        self._account_of = account_of
        self._series: dict[tuple[str, str, str], _Series] = {}

    def send(self, **call: Any) -> Any:
        """`ReplaiClient.send`, measured."""
        key = (
            str(call.get("channel", "")),
            str(call.get("sender", "")),
            self._account(str(call.get("ref", ""))),
        )
        series = self._series.get(key) or self._series.setdefault(key, _Series(*key))
        start = time.perf_counter()
        try:
            result = self._client.send(**call)
        except ReplaiError as exc:
            seconds = time.perf_counter() - start
            self._record.add((series.sends(outcome_of(exc)), 1.0),
                             *series.latency.counts(seconds))  # fmt: skip
            if isinstance(exc, ReplaiThrottled):
                self._record.inc("replai_throttled_total", series.labels)
                self._record.observe("replai_retry_after_seconds", series.labels,
                                     exc.retry_after or 0.0, metrics.WAIT_BUCKETS)  # fmt: skip
            raise
        seconds = time.perf_counter() - start
        self._record.add((series.sent, 1.0), *series.latency.counts(seconds))
        return result

    def _account(self, ref: str) -> str:
        try:
            return str(self._account_of(ref.rpartition(":")[0]) or "default")
        except Exception:  # a label is not worth a failed send
            return "default"

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class _Series:
    """The fields a send of one channel, sender and account adds to."""

    __slots__ = ("labels", "latency", "sent")

    def __init__(self, channel: str, sender: str, account: str) -> None:
        self.labels = {"channel": channel, "sender": sender, "account": account}
        self.sent = self.sends("sent")
        self.latency = metrics.histogram("replai_request_seconds", {"channel": channel})

    def sends(self, outcome: str) -> str:
        return metrics.field("sends_total", {**self.labels, "outcome": outcome})
