"""GET /metrics: Prometheus metrics of the whole deployment (docs/metrics.md).

Counters and histograms come from the Redis hash every worker and web process adds to
(`broadcaster.metrics.Recorder`); gauges are read from Redis at scrape time: the dispatch
window and the broker queue, campaigns running and scheduled, the event subscriptions'
backlogs, the webhook hold, Redis memory. One scrape target covers every worker on every host.
"""

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import redis
from fastapi import APIRouter, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from broadcaster import metrics
from broadcaster.settings import Settings
from broadcaster.store import CampaignStore

from ..auth import ApiKey
from ..deps import SettingsDep, StoreDep

__all__ = ["router"]

router = APIRouter(tags=["metrics"], dependencies=[ApiKey])

#: Series the processes record, with their help text (histograms list their buckets).
COUNTERS = {
    "sends_total": "Requests to Replai by outcome (sent, throttled, rejected, timeout...), "
    "channel, account and sender.",
    "replai_throttled_total": "429 answers (or Meta's 130429) by channel, account and sender.",
    "callbacks_total": "Webhook callbacks received, by kind (status, reply, opt_out, "
    "duplicate body).",
}
HISTOGRAMS = {
    "replai_request_seconds": ("Replai send latency by channel.", metrics.LATENCY_BUCKETS),
    "replai_retry_after_seconds": ("Retry-After of 429 answers.", metrics.WAIT_BUCKETS),
    "slot_wait_seconds": ("Wait for a sender's rate-limit slot.", metrics.WAIT_BUCKETS),
}
#: Webhook hold counters (store.WebhookStats) exposed as `webhook_hold_total{kind}`.
HOLD_KINDS = ("held", "released", "expired", "dropped", "errors", "skipped")
PREFIX = "broadcaster_"


class DeploymentCollector:
    """A prometheus-client collector reading the store's Redis at each scrape."""

    def __init__(self, store: CampaignStore, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    def collect(self) -> Iterator[Metric]:
        """Every family, recorded and computed."""
        yield from self._recorded()
        yield from self._campaigns()
        yield from self._events()
        yield from self._redis()

    def _recorded(self) -> Iterator[Metric]:
        raw = self.store.redis.hgetall(self.store.keys.metrics())
        series: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
        for name, value in raw.items():
            base, labels = metrics.parse_field(name.decode())
            series[base].append((labels, float(value)))
        for name, doc in COUNTERS.items():
            family = None
            for labels, value in sorted(series.get(name, []), key=lambda s: sorted(s[0].items())):
                if family is None:
                    family = CounterMetricFamily(PREFIX + name, doc, labels=sorted(labels))
                family.add_metric([labels[k] for k in sorted(labels)], value)
            if family is not None:
                yield family
        for name, (doc, buckets) in HISTOGRAMS.items():
            yield from _histogram(name, doc, buckets, series)

    def _campaigns(self) -> Iterator[Metric]:
        store, k = self.store, self.store.keys
        running = store.running_ids()
        pipe = store.redis.pipeline(transaction=False)
        for cid in running:
            pipe.zcard(k.active(cid))
        window = sum(pipe.execute()) if running else 0
        yield _gauge("campaigns_running", "Campaigns running.", len(running))
        scheduled = store.redis.zcard(k.scheduled())
        yield _gauge("campaigns_scheduled", "Campaigns waiting for their start time.", scheduled)
        yield _gauge("window_recipients", "Recipients released and not finished (queued, "
                     "sending, waiting), over every running campaign.", window)  # fmt: skip
        depth = self._broker_depth()
        if depth is not None:
            yield _gauge("broker_queue_messages", "Tasks waiting in the broker's queue "
                         "(Redis broker only).", depth)  # fmt: skip
        hold = store.redis.hgetall(k.webhook_stats())
        family = CounterMetricFamily(PREFIX + "webhook_hold", "Callbacks held for their send, "
                                     "released, expired, dropped...", labels=["kind"])  # fmt: skip
        for kind in HOLD_KINDS:
            family.add_metric([kind], float(hold.get(kind.encode(), 0)))
        yield family

    def _broker_depth(self) -> int | None:
        url = self.settings.celery_broker_url
        if not url.startswith(("redis://", "rediss://", "unix://")):
            return None
        client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        try:
            return int(client.llen(self.settings.queue))
        finally:
            client.close()

    def _events(self) -> Iterator[Metric]:
        store = self.store
        states = [store.hook_state(sub) for sub in store.hook_ids()]
        labels = ["subscription"]
        families: dict[str, CounterMetricFamily | GaugeMetricFamily] = {
            "delivered": CounterMetricFamily(PREFIX + "event_deliveries", "Events delivered "
                                             "(2xx).", labels=labels),
            "failed": CounterMetricFamily(PREFIX + "event_delivery_failures", "Event delivery "
                                          "attempts that failed.", labels=labels),
            "backlog": GaugeMetricFamily(PREFIX + "event_backlog", "Events waiting for "
                                         "delivery.", labels=labels),
            "dead": GaugeMetricFamily(PREFIX + "event_dead_letters", "Events given up on.",
                                      labels=labels),
        }  # fmt: skip
        for state in states:
            for name, family in families.items():
                family.add_metric([state.id], float(getattr(state, name)))
        yield from families.values()
        dropped = store.redis.hget(store.keys.hook_stats(), "dropped")
        yield CounterMetricFamily(PREFIX + "events_dropped", "Events dropped: a subscription's "
                                  "backlog was full.", value=float(dropped or 0))  # fmt: skip

    def _redis(self) -> Iterator[Metric]:
        info = self.store.redis.info("memory")
        yield _gauge("redis_used_memory_bytes", "Redis used_memory.", info["used_memory"])
        yield _gauge("redis_maxmemory_bytes", "Redis maxmemory (0: none).", info["maxmemory"])


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(PREFIX + name, doc, value=float(value))


def _histogram(
    name: str, doc: str, bounds: tuple[float, ...],
    series: dict[str, list[tuple[dict[str, str], float]]],
) -> Iterator[Metric]:  # fmt: skip
    """A histogram from its per-bucket (not cumulative) counts, sums and counts."""
    counts: dict[tuple[tuple[str, str], ...], dict[str, float]] = defaultdict(dict)
    for labels, value in series.get(name + "_bucket", []):
        le = labels.pop("le")
        counts[tuple(sorted(labels.items()))][le] = value
    sums = {tuple(sorted(lb.items())): v for lb, v in series.get(name + "_sum", [])}
    if not counts:
        return
    names = [k for k, _ in next(iter(counts))]
    family = HistogramMetricFamily(PREFIX + name, doc, labels=names)
    for key, per_bucket in sorted(counts.items()):
        total, buckets = 0.0, []
        for bound in [*(repr(b) for b in bounds), "+Inf"]:
            total += per_bucket.get(bound, 0.0)
            buckets.append((bound, total))
        family.add_metric([v for _, v in key], buckets, sums.get(key, 0.0))
    yield family


@router.get("/metrics", response_class=Response, summary="Prometheus metrics")
async def metrics_endpoint(store: StoreDep, settings: SettingsDep) -> Response:
    """The deployment's metrics in Prometheus's text format (every worker's, added up)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DeploymentCollector(store, settings))
    body: Any = await run_in_threadpool(generate_latest, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
