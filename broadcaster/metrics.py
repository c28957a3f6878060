"""Counters and histograms that add up across processes and hosts, kept in one Redis hash.

Every worker process (and web process) counts in memory (`Recorder.inc`, `Recorder.observe`:
a dict update under a lock) and adds its counts to the hash `Keys.metrics()` once a second
(one pipeline of HINCRBYFLOAT). The web app's `/metrics` reads the hash at scrape time, with
the gauges it computes then (window and queue depth, event backlogs, Redis memory): one scrape
target for any number of workers on any number of hosts, and no files to share. Why not
prometheus-client's multiprocess mode: it adds up processes of one host only (a directory of
mmap files), so each worker host would need its own HTTP endpoint and scrape job
(docs/metrics.md has the measurement). A process that is killed loses at most its last
second of counts.

Labels are bounded: outcome, channel, account, sender (configured senders), callback kind,
subscription id; never a phone number or a campaign id.
"""

import bisect
import dataclasses
import functools
import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "LATENCY_BUCKETS", "WAIT_BUCKETS", "Histogram", "Recorder", "field", "histogram",
    "parse_field",
]  # fmt: skip

logger = logging.getLogger(__name__)

#: Upper bounds (seconds) of the provider latency histogram.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Upper bounds (seconds) of waits: for a rate-limit slot, a provider's Retry-After.
WAIT_BUCKETS = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 15.0, 60.0, 300.0)
#: Seconds between two flushes of a process's counts to Redis.
DEFAULT_FLUSH_INTERVAL = 1.0
_SEP, _EQ = "\x1f", "\x1e"


def field(name: str, labels: Mapping[str, str]) -> str:
    """The hash field of one series: the name, then `label=value` pairs, sorted."""
    return _field(name, tuple(labels.items()))


@functools.lru_cache(maxsize=4096)
def _field(name: str, items: tuple[tuple[str, str], ...]) -> str:
    return _SEP.join([name, *(f"{k}{_EQ}{_clean(v)}" for k, v in sorted(items))])


@dataclasses.dataclass(frozen=True, slots=True)
class Histogram:
    """The hash fields of one labelled histogram, worked out once (`histogram`): a hot path
    that observes the same series again and again (each send) keeps one and passes
    `counts(value)` to `Recorder.add`."""

    bounds: tuple[float, ...]
    #: One field per bucket (`le`, not cumulative: the reader adds them up), `+Inf` last.
    buckets: tuple[str, ...]
    total: str
    count: str

    def counts(self, value: float) -> tuple[tuple[str, float], ...]:
        """What observing `value` adds: its bucket, the sum and the count."""
        at = bisect.bisect_left(self.bounds, value)
        return ((self.buckets[at], 1.0), (self.total, value), (self.count, 1.0))


def histogram(
    name: str, labels: Mapping[str, str], buckets: Sequence[float] = LATENCY_BUCKETS
) -> Histogram:
    """The fields of histogram `name` with `labels` and upper bounds `buckets`."""
    return _histogram(name, tuple(labels.items()), tuple(buckets))


@functools.lru_cache(maxsize=1024)
def _histogram(
    name: str, items: tuple[tuple[str, str], ...], bounds: tuple[float, ...]
) -> Histogram:
    les = [_le(b) for b in bounds] + ["+Inf"]
    return Histogram(
        bounds,
        tuple(_field(name + "_bucket", (*items, ("le", le))) for le in les),
        _field(name + "_sum", items),
        _field(name + "_count", items),
    )


def parse_field(raw: str) -> tuple[str, dict[str, str]]:
    """(name, labels) of a hash field written by `field`."""
    name, *pairs = raw.split(_SEP)
    return name, dict(p.split(_EQ, 1) for p in pairs)


def _clean(value: str) -> str:
    return str(value).replace(_SEP, " ").replace(_EQ, " ")[:100]


class Recorder:
    """Counts in memory and flushes to a Redis hash every `interval` seconds (a thread of its
    own, started on first use and again after a fork; with `interval=None`, only `flush()`).

    Usage:
        recorder = Recorder(redis, keys.metrics())
        recorder.inc("sends_total", {"outcome": "sent", "channel": "waba"})
        recorder.observe("replai_request_seconds", {"channel": "waba"}, 0.042)
    """

    def __init__(self, redis: Any, key: str, *, interval: float = DEFAULT_FLUSH_INTERVAL) -> None:
        self.redis = redis
        self.key = key
        self.interval = interval
        self._pending: dict[str, float] = {}
        self._lock = threading.Lock()
        self._pid = 0

    def inc(self, name: str, labels: Mapping[str, str], by: float = 1.0) -> None:
        """Add `by` to a counter."""
        self._add(((field(name, labels), by),))

    def observe(
        self, name: str, labels: Mapping[str, str], value: float,
        buckets: Sequence[float] = LATENCY_BUCKETS,
    ) -> None:  # fmt: skip
        """Count `value` in a histogram: its bucket (`le`, not cumulative: the reader adds
        them up), the sum and the count."""
        self._add(_histogram(name, tuple(labels.items()), tuple(buckets)).counts(value))

    def add(self, *counts: tuple[str, float]) -> None:
        """Add to fields worked out beforehand (`field`, `Histogram.counts`), under one lock."""
        self._add(counts)

    def flush(self) -> None:
        """Add what was counted since the last flush to Redis (kept for the next one when
        Redis does not answer)."""
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return
        try:
            pipe = self.redis.pipeline(transaction=False)
            for name, value in pending.items():
                pipe.hincrbyfloat(self.key, name, value)
            pipe.execute()
        except Exception as exc:
            logger.warning("metrics not flushed, kept for the next try: %r", exc)
            with self._lock:
                for name, value in pending.items():
                    self._pending[name] = self._pending.get(name, 0.0) + value

    def _add(self, items: Sequence[tuple[str, float]]) -> None:
        if self._pid != os.getpid() and self.interval is not None:
            self._start()
        with self._lock:
            for name, value in items:
                self._pending[name] = self._pending.get(name, 0.0) + value

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._pending = {}  # a fork's copy of the parent's counts is the parent's
        thread = threading.Thread(target=self._run, name="broadcaster-metrics", daemon=True)
        thread.start()

    def _run(self) -> None:
        assert self.interval is not None
        while True:
            time.sleep(self.interval)
            self.flush()


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)
