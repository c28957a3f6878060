"""CPU per send of recording its metrics: the Redis-backed Recorder against prometheus-client's
multiprocess mode (mmap files in PROMETHEUS_MULTIPROC_DIR), and the cost of one scrape.

    python -m bench.metrics_cost [--sends 200000] [--processes 8]

Per send a worker records one counter (outcome, channel, account, sender) and two histogram
observations (Replai latency, slot wait). Both ways are timed in one thread for `--sends`
sends; the Recorder's flushes (one pipeline a second) are counted in. The scrape: the web
app's collector over the Redis hash after `--processes` processes flushed, against
prometheus-client's MultiProcessCollector over the files of as many processes.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

from bench import harness
from broadcaster import metrics

LABELS = {"outcome": "sent", "channel": "waba", "account": "default", "sender": "waba-1"}


def recorder_cost(client, sends: int) -> float:
    """As a worker records a send (workers/instruments.py): fields worked out once per label
    set, then one `Recorder.add` for the slot wait and one for the outcome and latency."""
    record = metrics.Recorder(client, "bc:metrics", interval=None)
    sent = metrics.field("sends_total", LABELS)
    latency = metrics.histogram("replai_request_seconds", {"channel": "waba"})
    waits = metrics.histogram("slot_wait_seconds", {"channel": "waba"}, metrics.WAIT_BUCKETS)
    start = time.process_time()
    last = time.monotonic()
    for i in range(sends):
        record.add(*waits.counts(0.001))
        record.add((sent, 1.0), *latency.counts(0.02 + i % 7 / 1000))
        if time.monotonic() - last >= 1.0:
            record.flush()
            last = time.monotonic()
    record.flush()
    return (time.process_time() - start) / sends


_MULTIPROC = """
import sys, time
from prometheus_client import Counter, Histogram
from broadcaster import metrics
sends = int(sys.argv[1])
c = Counter("sends", "x", ["outcome", "channel", "account", "sender"])
h = Histogram("replai_request_seconds", "x", ["channel"], buckets=metrics.LATENCY_BUCKETS)
w = Histogram("slot_wait_seconds", "x", ["channel"], buckets=metrics.WAIT_BUCKETS)
start = time.process_time()
for i in range(sends):
    c.labels("sent", "waba", "default", "waba-1").inc()
    h.labels("waba").observe(0.02 + i % 7 / 1000)
    w.labels("waba").observe(0.001)
print((time.process_time() - start) / sends)
"""


def multiprocess_cost(directory: str, sends: int) -> float:
    env = os.environ | {"PROMETHEUS_MULTIPROC_DIR": directory}
    out = subprocess.run([sys.executable, "-c", _MULTIPROC, str(sends)], env=env,
                         check=True, capture_output=True, text=True)  # fmt: skip
    return float(out.stdout)


def scrape_costs(server, processes: int) -> tuple[float, float]:
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    from broadcaster.keys import Keys
    from broadcaster.store import CampaignStore
    from broadcaster.web.routes.metrics import DeploymentCollector

    with tempfile.TemporaryDirectory() as directory:
        for _ in range(processes):
            multiprocess_cost(directory, 1000)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=directory)
        start = time.perf_counter()
        for _ in range(20):
            generate_latest(registry)
        files = (time.perf_counter() - start) / 20
    client = server.client()
    for _ in range(processes):
        recorder_cost(client, 1000)
    settings = type("S", (), {"celery_broker_url": "amqp://none", "queue": "q"})()
    store = CampaignStore(client, keys=Keys("bc"), stale_after=60.0)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DeploymentCollector(store, settings))  # type: ignore[arg-type]
    start = time.perf_counter()
    for _ in range(20):
        generate_latest(registry)
    return files, (time.perf_counter() - start) / 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=200_000)
    parser.add_argument("--processes", type=int, default=8)
    args = parser.parse_args()
    with harness.redis_server() as server, tempfile.TemporaryDirectory() as directory:
        ours = recorder_cost(server.client(), args.sends)
        theirs = multiprocess_cost(directory, args.sends)
        files, hashed = scrape_costs(server, args.processes)
    print(f"record per send: Recorder {ours * 1e6:.1f} us CPU, "
          f"multiprocess mode {theirs * 1e6:.1f} us CPU")  # fmt: skip
    print(f"scrape of {args.processes} processes: Redis hash {hashed * 1e3:.1f} ms, "
          f"multiprocess files {files * 1e3:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
