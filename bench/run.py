"""`make bench` / `make bench-quick`: every benchmark row in one run, on one machine.

    python -m bench [--quick] [--only throughput rate import webhooks pause nested pool small
                     events overhead] [--out DIR] [--name STEM]

Starts its own redis-server and sandbox on loopback (and the workers, web app and load each
row needs), runs the rows one after the other, and writes `<out>/latest.json` and
`<out>/latest.md` (`quick.json` / `quick.md` with `--quick`). See docs/benchmarks.md.
"""

import argparse
import datetime
import json
import sys
import time
from pathlib import Path
from typing import Any

from bench import (
    events,
    harness,
    importscale,
    nested,
    overhead,
    pause,
    pool,
    rate,
    report,
    small,
    throughput,
    webhooks,
)

ROWS = (
    "throughput", "rate", "import", "webhooks", "pause", "nested",
    "pool", "small", "events", "overhead",
)  # fmt: skip
#: What each row measures, for --help.
ABOUT = {
    "throughput": "sends/s and worker CPU per send against the baselines (bench/throughput.py)",
    "rate": "one sender's limit at the provider: busiest 1-s window, utilisation (rate.py)",
    "import": "a 1,000,000-row CSV and a 100,000-row .xlsx to a ready campaign (importscale.py)",
    "webhooks": "Replai callbacks ingested per second by one web process (webhooks.py)",
    "pause": "time from a pause to the last send (pause.py)",
    "nested": "two senders on one account, a second account: limits and shares (nested.py)",
    "pool": "a sender pool of 4 senders on 4 accounts: throughput, each account's use (pool.py)",
    "small": "1- and 10-recipient campaigns at 50/s: first and last send p50/p99 (small.py)",
    "events": "event webhooks: delivered/s, p99 lag, CPU and Redis bytes per event (events.py)",
    "overhead": "worker CPU per send with events and metrics on against off (overhead.py)",
}

FULL: dict[str, dict[str, Any]] = {
    "throughput": {"n": 5000, "runs": 3, "latencies": [0, 100]},
    "rate": {"per_second": 20, "seconds": 60.0, "processes": 2},
    "import": {
        "rows": 1_000_000,
        "dispatch_seconds": 10.0,
        "sent_sample": 100_000,
        "xlsx_rows": 100_000,
    },
    "webhooks": {"runs": 3, "messages": 10_000, "connections": 32},
    "pause": {"runs": 3, "n": 5000},
    "nested": {"per_second": 20, "seconds": 30.0, "processes": 2},
    "pool": {"per_second": 10, "seconds": 30.0, "processes": 2},
    "small": {"sizes": [1, 10], "campaigns": 200, "rate": 50.0, "latency_ms": 20},
    "events": {"n": 3000, "cost_events": 2000, "backlog_events": 20_000},
    "overhead": {"n": 1500, "runs": 10, "rate": 200.0, "metrics_sends": 200_000},
}
QUICK: dict[str, dict[str, Any]] = {
    "throughput": {"n": 1000, "n_naive": 300, "runs": 1, "latencies": [0, 100]},
    "rate": {"per_second": 20, "seconds": 15.0, "processes": 2},
    "import": {
        "rows": 100_000,
        "dispatch_seconds": 4.0,
        "sent_sample": 10_000,
        "xlsx_rows": 100_000,
    },
    "webhooks": {"runs": 1, "messages": 2000, "connections": 32},
    "pause": {"runs": 1, "n": 2000},
    "nested": {"per_second": 20, "seconds": 10.0, "processes": 2},
    "pool": {"per_second": 10, "seconds": 10.0, "processes": 2},
    "small": {"sizes": [1, 10], "campaigns": 100, "rate": 50.0, "latency_ms": 20},
    "events": {"n": 1000, "cost_events": 1000, "backlog_events": 5000},
    "overhead": {"n": 600, "runs": 1, "rate": 200.0, "metrics_sends": 20_000},
}
#: The rows that are `run(session, **params)`.
PLAIN = {
    "rate": rate.run, "import": importscale.run, "webhooks": webhooks.measure,
    "nested": nested.run, "pause": pause.run, "pool": pool.run, "small": small.run,
    "events": events.run, "overhead": overhead.run,
}  # fmt: skip


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def throughput_variants() -> list[str]:
    """(a), (b), (c), and (r), the pipeline on RabbitMQ, where rabbitmq-server is installed."""
    from bench.chaos_procs import rabbitmq_installed

    if rabbitmq_installed():
        return ["a", "b", "c", "r"]
    _log("rabbitmq-server is not installed: no RabbitMQ variant (r) in the throughput row")
    return ["a", "b", "c"]


def run_row(session: harness.Session, name: str, params: dict[str, Any]) -> Any:
    if name == "throughput":
        return throughput.measure(
            session, n=params["n"], runs=params["runs"], latencies=params["latencies"],
            keys=throughput_variants(), n_naive=params.get("n_naive"), log=_log,
        )  # fmt: skip
    return PLAIN[name](session, **params)


def main() -> None:
    rows = "\n".join(f"  {name:<11} {ABOUT[name]}" for name in ROWS)
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], epilog=f"rows:\n{rows}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="the ~4-minute subset")
    parser.add_argument(
        "--only", nargs="+", choices=ROWS, default=list(ROWS), metavar="ROW",
        help=f"these rows only, of: {' '.join(ROWS)}",
    )  # fmt: skip
    parser.add_argument("--out", default=str(harness.ROOT / "bench" / "results"))
    parser.add_argument(
        "--name", help="file name stem (default: latest; quick with --quick; partial with --only)"
    )
    args = parser.parse_args()
    harness.exit_on_term()
    plan = QUICK if args.quick else FULL
    partial = set(args.only) != set(ROWS)
    command = "make bench-quick" if args.quick else "make bench"
    if partial:  # a subset never replaces the full run's latest.*
        command = f"python -m bench {'--quick ' if args.quick else ''}--only {' '.join(args.only)}"
    started = time.time()
    result: dict[str, Any] = {
        "meta": {
            "command": command,
            "partial": partial,
            "argv": sys.argv[1:],
            "quick": args.quick,
            "plan": {k: plan[k] for k in args.only},
            "started": _stamp(started),
            "load_start": harness.load_average(),
            "machine": harness.machine(),
            "revision": harness.revision(),
        }
    }
    _log(f"load average {result['meta']['load_start']}; rows: {', '.join(args.only)}")
    with harness.session() as session:
        result["meta"]["machine"]["redis"] = session.redis.version()
        for name in args.only:
            _log(f"row {name}: {plan[name]}")
            t0 = time.perf_counter()
            result[name] = run_row(session, name, plan[name])
            _log(f"row {name} done in {time.perf_counter() - t0:.0f} s")
    finished = time.time()
    result["meta"] |= {
        "finished": _stamp(finished),
        "duration_s": finished - started,
        "load_end": harness.load_average(),
    }
    result["targets"] = report.targets(result)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = args.name or ("partial" if partial else "quick" if args.quick else "latest")
    (out / f"{stem}.json").write_text(json.dumps(result, indent=1) + "\n")
    page = report.markdown(result)
    (out / f"{stem}.md").write_text(page)
    print(page)
    _log(f"wrote {out / stem}.json and .md")


def _stamp(t: float) -> str:
    return datetime.datetime.fromtimestamp(t, datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


if __name__ == "__main__":
    sys.exit(main())
