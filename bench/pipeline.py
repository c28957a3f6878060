"""Throughput and worker CPU per send of the full pipeline, every guarantee on.

    python bench/pipeline.py [--n 5000] [--latency-ms 0] [--pool threads] [--concurrency 16]
                             [--workers 1] [--runs 3]

Starts the sandbox (no throttle), worker processes and a campaign of N recipients with a rate
limit far above what the machine can do, on Redis db 9 (store) and 8 (broker); measures the
wall time from start to completion and the CPU the worker processes used, from /proc.
"""

import argparse
import json
import os
import signal
import sys
import time

import redis

from bench import harness
from broadcaster.campaigns import Campaign, CampaignState, new_campaign_id
from broadcaster.contacts import Contact
from broadcaster.keys import Keys
from broadcaster.store import CampaignStore

BASE = os.environ.get("BROADCASTER_REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]


def run_once(args: argparse.Namespace, url: str) -> dict[str, float]:
    store_url, broker_url = f"{BASE}/9", f"{BASE}/8"
    client = redis.Redis.from_url(store_url)
    client.flushdb()
    redis.Redis.from_url(broker_url).flushdb()
    env = os.environ | {
        "BROADCASTER_REDIS_URL": store_url,
        "BROADCASTER_BROKER_URL": broker_url,
        "BROADCASTER_REPLAI_BASE_URL": url,
        "BROADCASTER_REPLAI_TOKEN": harness.TOKEN,
    }
    cmd = [
        sys.executable, "-m", "celery", "-A", "workers.app", "worker", "-P", args.pool,
        "-c", str(args.concurrency), "--without-gossip", "--without-mingle", "-l", "ERROR",
    ]  # fmt: skip
    if args.profile:
        cmd = [os.path.join(os.path.dirname(sys.executable), "py-spy"), "record", "--format",
               "raw", "-r", "200", "-o", args.profile, "--", *cmd]  # fmt: skip
    store = CampaignStore(client, keys=Keys("bc"))
    with _many(cmd, env, args.workers) as procs:
        _wait_workers(client, len(procs))
        campaign = store.create(
            Campaign(id=new_campaign_id(), name="bench", channel="waba", sender="w",
                     text="Halo {name}", rate_per_minute=6_000_000),
            (Contact(i + 2, _phone(i), {"name": f"N{i}"}) for i in range(args.n)),
            window=args.window,
        )  # fmt: skip
        cpu0 = sum(harness.cpu_seconds(p.pid) for p in procs)
        t0 = time.perf_counter()
        os.environ.update(env)
        from workers.tasks import start_campaign

        start_campaign.apply_async((campaign.id,))
        deadline = time.monotonic() + args.timeout
        while store.get(campaign.id).state != CampaignState.COMPLETED:
            if time.monotonic() > deadline:
                raise SystemExit(f"campaign did not complete: {store.counts(campaign.id)}")
            time.sleep(0.05)
        wall = time.perf_counter() - t0
        cpu = sum(harness.cpu_seconds(p.pid) for p in procs) - cpu0
    sent = store.counts(campaign.id)["sent"]
    return {"sends_per_s": sent / wall, "cpu_ms_per_send": cpu * 1000 / sent, "wall_s": wall}


class _many:
    def __init__(self, cmd: list[str], env: dict[str, str], n: int) -> None:
        self.ctx = [harness.process(cmd, env) for _ in range(n)]

    def __enter__(self) -> list:  # type: ignore[type-arg]
        return [c.__enter__() for c in self.ctx]

    def __exit__(self, *exc: object) -> None:
        for c in self.ctx:
            c.__exit__(None, None, None)


def _wait_workers(client: redis.Redis, n: int) -> None:
    deadline = time.monotonic() + 30
    while len(list(client.scan_iter("bc:worker:*"))) < n:
        if time.monotonic() > deadline:
            raise RuntimeError("workers did not start")
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--pool", default="threads")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--window", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--profile", help="record the worker with py-spy into this file")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the processes get stopped
    results = []
    with harness.sandbox(latency_ms=args.latency_ms) as url:
        for _ in range(args.runs):
            results.append(run_once(args, url))
            print(json.dumps(results[-1]), flush=True)
    for key in ("sends_per_s", "cpu_ms_per_send"):
        med, lo, hi = harness.median_range([r[key] for r in results])
        print(f"{key}: median {med:.2f} (min {lo:.2f}, max {hi:.2f})")


def _phone(i: int) -> str:
    # last four digits >= 5000: clear of the sandbox's scripted numbers (0001-0014)
    return f"6281{i // 4000:05d}{5000 + i % 4000:04d}"


if __name__ == "__main__":
    main()
