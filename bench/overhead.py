"""What events and metrics cost the send path: worker CPU per send with them on against off.

    python -m bench.overhead [--n 1500] [--runs 10] [--rate 200] [--latency-ms 0]
                             [--metrics-sends 200000] [--variants full,down]

One campaign of `--n` recipients paced at `--rate` sends/s (the sandbox unthrottled) through two
fresh worker processes of 32 threads, three ways, alternating from run to run: `plain`
(metrics off, no subscription), `full` (metrics on, every event delivered to a receiver in
this process; its CPU counted until the last event is delivered) and `down` (metrics on, a
subscriber whose port refuses every connection: retried with backoff). Reported: worker CPU
per send and the campaign's time, each run; the overhead is the median over the runs of
`full` over `plain` in the same run (target: under 10 %), with the quartiles of those ratios
and the ratio of the medians beside it. Paced, because flat out the same variant's CPU per
send moved by a third from one campaign to the next on a 2-core host (pairs from -21 % to
+78 %); at 200/s, well under what two cores send, the pairs still spread (10-25 points
between their quartiles) but the medians of runs of 10-16 pairs agreed within a few points
(docs/benchmarks.md). `--rate 0` sends flat out. `--variants` picks
the ways beside `plain`, among them each part alone: `metrics` (metrics on, no subscription)
and `events` (events delivered, metrics off). Then the metrics alone, per send in
one thread (bench/metrics_cost.py): the Redis Recorder against prometheus-client's
multiprocess mode.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

from bench import harness, metrics_cost
from bench.receiver import SECRET, Arrivals, event_phone

VARIANTS = ("plain", "full", "down")
#: Each part on its own (`--variants`): metrics on with no subscription, events delivered with
#: metrics off.
PARTS = ("metrics", "events")
#: A subscriber that is down: nothing listens on the discard port.
DOWN_URL = "http://127.0.0.1:9/refused"


def _campaign(
    session: Any, variant: str, url: str | None, n: int, rate: float = 0.0
) -> tuple[float, float]:
    """One campaign on fresh workers: (worker CPU ms per send, seconds to completed)."""
    from broadcaster import enqueue
    from broadcaster.settings import Settings
    from broadcaster.store import open_store
    from workers.dispatch import CeleryDispatch

    session.clean()
    metrics_on = "false" if variant in ("plain", "events") else "true"
    with session.project_workers(2, BROADCASTER_METRICS=metrics_on) as procs:
        store = open_store(Settings())
        cpu0, t0 = harness.workers_cpu(procs), time.monotonic()
        cid = enqueue.enqueue_broadcast(
            [{"phone": event_phone(i)} for i in range(n)], sender="waba-1", text="Halo",
            store=store, dispatch=CeleryDispatch(), events_url=url,
            events_secret=SECRET if url else None, rate_per_minute=rate * 60 or None,
        ).campaign.id  # fmt: skip
        deadline = t0 + 60 + n / min(rate or 20.0, 20.0)
        while store.state(cid) != "completed" and time.monotonic() < deadline:
            time.sleep(0.05)
        if store.state(cid) != "completed":
            raise RuntimeError(f"{variant}: the campaign did not complete ({store.counts(cid)})")
        seconds = time.monotonic() - t0
        while (
            variant in ("full", "events")
            and time.monotonic() < deadline
            and any(store.hook_state(h).backlog for h in store.hook_ids())
        ):
            time.sleep(0.1)
        return (harness.workers_cpu(procs) - cpu0) / n * 1000, seconds


def run(
    session: Any, *, n: int = 3000, runs: int = 5, latency_ms: int = 0,
    metrics_sends: int = 200_000, rate: float = 0.0, variants: Sequence[str] = VARIANTS,
) -> dict[str, Any]:  # fmt: skip
    variants = ("plain", *(v for v in variants if v != "plain"))
    per_send: dict[str, list[float]] = {v: [] for v in variants}
    seconds: dict[str, list[float]] = {v: [] for v in variants}
    arrivals = Arrivals()
    urls = {
        "plain": None,
        "full": arrivals.url,
        "down": DOWN_URL,
        "metrics": None,
        "events": arrivals.url,
    }
    load = harness.load_average()[0]
    session.box.configure(latency_ms=latency_ms)
    try:
        with session.client_env():
            for i in range(runs):
                for variant in variants if i % 2 == 0 else variants[::-1]:
                    cpu, took = _campaign(session, variant, urls[variant], n, rate)
                    per_send[variant].append(round(cpu, 3))
                    seconds[variant].append(round(took, 2))
    finally:
        session.box.configure(latency_ms=0)
        arrivals.close()
    med = {v: statistics.median(per_send[v]) for v in variants}
    # each run's variants ran one after the other: their ratio cancels the host's drift from
    # run to run (the same variant's CPU per send varied by a third between runs on one host)
    paired = {
        v: [
            round((x / p - 1) * 100, 1)
            for x, p in zip(per_send[v], per_send["plain"], strict=True)
        ]
        for v in variants[1:]
    }
    session.clean()
    with tempfile.TemporaryDirectory() as directory:
        recorder = metrics_cost.recorder_cost(session.store_client(), metrics_sends)
        multiprocess = metrics_cost.multiprocess_cost(directory, metrics_sends)
    session.clean()
    return {
        "recipients": n, "runs": runs, "latency_ms": latency_ms,
        "pool": "threads 32 x 2 processes",
        "cpu_ms_per_send": per_send, "campaign_seconds": seconds,
        "median_ms_per_send": {v: round(m, 3) for v, m in med.items()},
        "paired_pct": paired,
        **{("overhead_pct" if v == "full" else f"{v}_overhead_pct"):
           round(statistics.median(paired[v]), 1) for v in variants[1:]},
        "paired_quartiles_pct": {v: _quartiles(paired[v]) for v in paired},
        "of_medians_pct": {v: round((med[v] / med["plain"] - 1) * 100, 1) for v in paired},
        "rate_per_s": rate,
        "metrics_us_per_send": {"recorder": round(recorder * 1e6, 2),
                                "multiprocess": round(multiprocess * 1e6, 2)},
        "load_before": load,
    }  # fmt: skip


def _quartiles(values: Sequence[float]) -> list[float]:
    """The first and third quartiles (one value: itself twice)."""
    if len(values) < 2:
        return [values[0], values[0]] if values else []
    q = statistics.quantiles(values, n=4)
    return [round(q[0], 1), round(q[2], 1)]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1500)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--metrics-sends", type=int, default=200_000)
    parser.add_argument("--rate", type=float, default=200.0, help="sends/s (0: flat out)")
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help=f"of {', '.join(VARIANTS + PARTS)} (plain is always run)",
    )
    args = parser.parse_args(argv)
    harness.exit_on_term()
    with harness.session() as session:
        result = run(session, n=args.n, runs=args.runs, latency_ms=args.latency_ms,
                     metrics_sends=args.metrics_sends, rate=args.rate,
                     variants=args.variants.split(","))  # fmt: skip
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    sys.exit(main())
