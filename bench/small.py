"""Small campaigns offered often: latency from enqueue_broadcast() returning to the provider
receiving the first and the last message, and the cost per campaign; with `--events`, the lag
of event webhooks behind the change they report.

    python -m bench.small [--sizes 1 10] [--campaigns 200] [--rate 50] [--latency-ms 20]
                          [--workers 2] [--concurrency 32] [--events] [--profile STEM]

A redis-server, a sandbox (`--latency-ms`) and `--workers` project worker processes of their
own. For each size, `--campaigns` campaigns are offered at `--rate` a second by four threads
calling `enqueue_broadcast()` as an application does (its own store and Celery dispatch).
The clock of each campaign starts when its call returns; the sandbox stamps each send as it
arrives. Reported per size: first and last send after the call, p50 and p99; the call's own
time; worker CPU per campaign; Redis keys and bytes a finished campaign keeps. With
`--events`, every campaign has an `events_url` (a receiver in this process) and the report
adds events per second delivered and the lag from each event's timestamp (the change, on
Redis's side) to its arrival, p50 and p99. With `--profile STEM`, py-spy records the workers
into `STEM-<size>-<i>.raw` (summarised by `python -m bench.profile`), and the row adds the sends
counted while it recorded (`profiled_sends`).
"""

import argparse
import json
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Any

from bench import harness
from bench.receiver import SECRET, Arrivals, event_phone


def offer(
    session: Any, procs: Any, size: int, campaigns: int, rate: float, events_url: str | None,
    base: int, profile: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    from broadcaster import enqueue
    from broadcaster.settings import Settings
    from broadcaster.store import open_store
    from workers.dispatch import CeleryDispatch

    store = open_store(Settings())
    dispatch = CeleryDispatch()
    returned: dict[str, float] = {}
    calls: list[float] = []
    start = time.monotonic() + 0.2

    def one(k: int) -> None:
        time.sleep(max(0.0, start + k / rate - time.monotonic()))
        rows = [{"phone": event_phone(base + k * size + i)} for i in range(size)]
        t0 = time.perf_counter()
        result = enqueue.enqueue_broadcast(
            rows, sender="waba-1", text="Halo", store=store, dispatch=dispatch,
            events_url=events_url, events_secret=SECRET if events_url else None,
        )  # fmt: skip
        calls.append(time.perf_counter() - t0)
        returned[result.campaign.id] = time.time()

    expected = campaigns * size
    with ExitStack() as stack:
        if profile:
            pids = [p.pid for p in procs]
            stack.enter_context(harness.profiling(pids, f"{profile}-{size}"))
            start = time.monotonic() + 0.2
        cpu0 = harness.workers_cpu(procs)
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(one, range(campaigns)))
        offered = time.monotonic() - start
        deadline = time.monotonic() + 60 + campaigns * size / 100
        while True:
            ours = [s for s in session.box.sends() if s["ref"].rpartition(":")[0] in returned]
            if len(ours) >= expected or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        cpu = harness.workers_cpu(procs) - cpu0
    first: dict[str, float] = {}
    last: dict[str, float] = {}
    for send in ours:
        cid = send["ref"].rpartition(":")[0]
        first[cid] = min(first.get(cid, send["t"]), send["t"])
        last[cid] = max(last.get(cid, 0.0), send["t"])
    firsts = sorted(first[c] - returned[c] for c in first)
    lasts = sorted(last[c] - returned[c] for c in last)
    keys, nbytes = _footprint(store, list(returned)[:20])
    return {
        "size": size, "campaigns": campaigns, "offered_per_s": campaigns / offered,
        "sent": len(ours), "expected": expected,
        "first_p50_ms": _pct(firsts, 0.5), "first_p99_ms": _pct(firsts, 0.99),
        "last_p50_ms": _pct(lasts, 0.5), "last_p99_ms": _pct(lasts, 0.99),
        "call_p50_ms": _pct(sorted(calls), 0.5), "call_p99_ms": _pct(sorted(calls), 0.99),
        "worker_cpu_ms_per_campaign": cpu / campaigns * 1000,
        "keys_per_campaign": keys, "bytes_per_campaign": nbytes,
    } | ({"profiled_sends": len(ours)} if profile else {})  # fmt: skip


def _footprint(store: Any, cids: list[str]) -> tuple[float, float]:
    keys = nbytes = 0
    for cid in cids:
        for key in store.redis.scan_iter(store.keys.all_for(cid)):
            keys += 1
            nbytes += store.redis.memory_usage(key, samples=0) or 0
    return keys / max(1, len(cids)), nbytes / max(1, len(cids))


def _pct(values: list[float], q: float) -> float:
    return round(harness.percentile(values, q) * 1000, 1) if values else float("nan")


def event_lag(arrivals: Arrivals, expected: int, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while len(arrivals.got) < expected and time.monotonic() < deadline:
        time.sleep(0.2)
    got = list(arrivals.got.values())
    lags = sorted(a - s for a, s in got)
    span = max(a for a, _ in got) - min(a for a, _ in got) if got else 0.0
    return {
        "events": len(got), "expected_events": expected,
        "events_per_s": round(len(got) / span, 1) if span else None,
        "lag_p50_ms": _pct(lags, 0.5), "lag_p99_ms": _pct(lags, 0.99),
    }  # fmt: skip


def run(
    session: Any, *, sizes: Sequence[int] = (1, 10), campaigns: int = 200, rate: float = 50.0,
    latency_ms: int = 20, workers: int = 2, concurrency: int = 32, events: bool = False,
    profile: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The row: each size offered in turn to the same workers (with `events`, every campaign
    has an events_url and the lag of its events is measured too)."""
    session.clean()
    session.box.configure(latency_ms=latency_ms)
    arrivals = Arrivals() if events else None
    out: dict[str, Any] = {
        "latency_ms": latency_ms, "rate_per_s": rate, "campaigns": campaigns,
        "pool": f"threads {concurrency} x {workers} processes", "sizes": {},
        "load_before": harness.load_average()[0],
    }  # fmt: skip
    try:
        with (
            session.client_env(),
            session.project_workers(workers, concurrency=concurrency) as procs,
        ):
            base = 0
            for size in sizes:
                before = len(arrivals.got) if arrivals else 0
                row = offer(session, procs, size, campaigns, rate,
                            arrivals.url if arrivals else None, base, profile)  # fmt: skip
                base += campaigns * size
                if arrivals is not None:  # started, one sent per recipient, completed
                    row |= event_lag(arrivals, before + campaigns * (size + 2))
                out["sizes"][str(size)] = row
                print(json.dumps(row), flush=True)
    finally:
        session.box.configure(latency_ms=0)
        if arrivals is not None:
            arrivals.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--campaigns", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--events", action="store_true")
    parser.add_argument(
        "--overhead", type=int, default=0, metavar="N",
        help="instead: CPU per send of events and metrics, campaigns of N (bench.overhead)",
    )  # fmt: skip
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", metavar="STEM", help="py-spy the workers into STEM-*.raw")
    args = parser.parse_args()
    harness.exit_on_term()
    if args.overhead:
        from bench import overhead

        overhead.main(["--n", str(args.overhead), "--runs", str(args.runs),
                       "--latency-ms", str(args.latency_ms)])  # fmt: skip
        return
    with harness.session() as session:
        result = run(
            session, sizes=args.sizes, campaigns=args.campaigns, rate=args.rate,
            latency_ms=args.latency_ms, workers=args.workers, concurrency=args.concurrency,
            events=args.events, profile=args.profile,
        )  # fmt: skip
    print(json.dumps({"cpu": harness.machine().get("cpu"), **result}))


if __name__ == "__main__":
    main()
