"""Throughput and worker CPU per send of the project's pipeline alone, any pool.

    python -m bench.pipeline [--n 5000] [--latency-ms 0] [--pool threads] [--concurrency 32]
                             [--workers 2] [--runs 3] [--profile STEM] [--events]

Row 1a of `make bench` with the pool as options (see bench/throughput.py for what is
measured): a redis-server and a sandbox of its own, `--workers` Celery worker processes, a
campaign of N recipients with every guarantee on. `--profile STEM` records the workers with
py-spy during each run into `STEM-<run>-<worker>.raw` (collapsed stacks, idle threads left
out); `python -m bench.profile STEM-*.raw --sends N` summarises them.
"""

import argparse
import json
import sys

from bench import harness, throughput


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--pool", default="threads")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--profile", help="py-spy the workers into STEM-<run>-<worker>.raw")
    parser.add_argument(
        "--events", action="store_true", help="workers send task events (-E), as for Flower"
    )
    args = parser.parse_args()
    harness.exit_on_term()
    pool = throughput.Pool(args.pool, args.concurrency, args.workers)
    variant = throughput.VARIANTS["a"]
    variant.pools = {0: pool}
    if args.events:
        variant.extra = ("-E",)
    results = []
    with harness.session() as session:
        for run in range(args.runs):
            stem = f"{args.profile}-{run}" if args.profile else None
            result = throughput.run_once(
                session, variant, args.n, args.latency_ms, timeout=args.timeout, profile=stem
            )
            results.append(result)
            print(json.dumps(throughput._brief(result)), flush=True)
    for key in ("sends_per_s", "worker_cpu_ms_per_send"):
        med, lo, hi = harness.median_range([r[key] for r in results])
        print(f"{key}: median {med:.2f} (min {lo:.2f}, max {hi:.2f}) [{pool}]")


if __name__ == "__main__":
    sys.exit(main())
