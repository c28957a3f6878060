"""Soak: a long campaign across two workers with periodic kills; memory must stay flat.

    python -m bench.soak [--n 100000] [--workers 2] [--concurrency 16] [--kill-every 60]
                         [--sample-every 10] [--max-minutes 40] [--json PATH]

`make soak` runs it (not part of `make test`). It starts its own redis-server (no
persistence), the sandbox and the worker processes as `bench/chaos.py` does, stores one
campaign of `--n` recipients and lets it run. Every `--kill-every` seconds the last worker
(w2) gets SIGKILL and is restarted; w1 lives through the whole run, so its memory tells
whether a worker leaks. Every `--sample-every` seconds it samples:

- Redis `used_memory` (INFO) and the recipients finished so far: the store grows by design
  with each recipient sent (its message id and the phone index, about 230 B; README, "Redis
  layout"), so the figure checked is the growth per finished recipient after the first minute;
- the broker's bytes (MEMORY USAGE of every key of the broker database: the queue, the
  unacked messages): bounded by the dispatch window whatever the campaign's size;
- the resident memory (VmRSS) of each worker process and of the sandbox (which keeps every
  send in memory for its report, so it grows: reported, not judged).

Verdict (exit status 1 when one fails): after the first minute, w1's RSS grows by at most
`max(16 MB, 10 %)`; Redis grows by at most 300 B per finished recipient; the broker stays
under 5 MB; and at the end no duplicate send and no recipient left open, as in the chaos run.
A run that reaches `--max-minutes` first stops there and reports how far it got.
"""

import argparse
import contextlib
import itertools
import json
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import redis

from bench.chaos import FULL, SENT_OR_LATER, STALE_AFTER, TERMINAL, Chaos, Plan, workdir
from bench.chaos_procs import RedisServer, Workers
from broadcaster.campaigns import CampaignState
from broadcaster.keys import Keys
from broadcaster.store import CampaignStore

MINUTE = 60.0


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process from /proc, in MB (None when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


class Soak(Chaos):
    """The chaos harness's processes, with a long campaign and a memory sampler instead."""

    def __init__(self, args: argparse.Namespace, path: Path) -> None:
        args.short, args.seed, args.broker, args.no_kills = False, 0, "redis", False
        plan = Plan(**{**FULL.__dict__, "n": args.n, "deadline": args.max_minutes * MINUTE})
        super().__init__(args, plan, path)
        self.redis_server = RedisServer(path, aof=False)
        self.samples: list[dict[str, Any]] = []

    def run(self) -> dict[str, Any]:
        env = self.env()
        os.environ.update(env)
        self.redis_server.start()
        self.sandbox.start()
        client = redis.Redis.from_url(self.redis_server.url(0), socket_timeout=30)
        self.broker = redis.Redis.from_url(self.redis_server.url(1), socket_timeout=30)
        self.store = CampaignStore(client, keys=Keys("bc"), stale_after=STALE_AFTER)
        self.workers = Workers(self.workdir, env, self.store)
        self.names = names = [f"w{i + 1}" for i in range(self.args.workers)]
        for name in names:
            self.workers.start(name, concurrency=self.args.concurrency)
        created = time.monotonic()
        self.cid = self.launch()
        self.note("campaign stored", n=self.plan.n, seconds=round(time.monotonic() - created))
        self.t0 = time.monotonic()
        killer = threading.Thread(target=self.kill_last, args=(names[-1],), daemon=True)
        killer.start()
        completed = self.sample_until_done()
        elapsed = time.monotonic() - self.t0
        self.stop.set()
        killer.join(120)
        result = self.report(elapsed, completed)
        return self.judge(result)

    def kill_last(self, name: str) -> None:
        while not self.stop.wait(self.args.kill_every):
            pid = self.workers.kill(name)  # its supervisor starts it again
            self.kills.append({"worker": name, "pid": pid, "t": self._t(), "sending": 0})
            self.note("SIGKILL worker", worker=name, pid=pid)
            try:
                self.workers.wait_ready(name, after=pid)
            except RuntimeError as exc:
                self.errors.append(str(exc))
                return

    def sample_until_done(self) -> bool:
        deadline = self.t0 + self.args.max_minutes * MINUTE
        next_sample = self.t0
        while time.monotonic() < deadline:
            if time.monotonic() >= next_sample:
                next_sample += self.args.sample_every
                self.sample()
            with contextlib.suppress(redis.RedisError):
                if self.store.get(self.cid).state == CampaignState.COMPLETED:
                    self.sample()
                    return True
            time.sleep(0.5)
        return False

    def sample(self) -> None:
        counts = self.store.counts(self.cid)
        broker_bytes = sum(
            self.broker.memory_usage(key, samples=0) or 0 for key in self.broker.scan_iter()
        )
        pids = self.workers.pids()
        entry = {
            "t": self._t(),
            "done": sum(counts.get(s, 0) for s in TERMINAL),
            "sent": sum(counts.get(s, 0) for s in SENT_OR_LATER),
            "redis_mb": round(self.store.redis.info("memory")["used_memory"] / 2**20, 2),
            "broker_kb": round(broker_bytes / 1024, 1),
            "queue": int(self.broker.llen("broadcaster")),
            "rss_mb": {name: _round(rss_mb(pid)) for name, pid in pids.items()},
            "sandbox_rss_mb": _round(rss_mb(self.sandbox.proc.pid) if self.sandbox.proc else None),
        }
        self.samples.append(entry)
        print(json.dumps(entry), flush=True)

    def judge(self, result: dict[str, Any]) -> dict[str, Any]:
        samples = self.samples
        after = [s for s in samples if s["t"] >= MINUTE] or samples[-1:]
        first, last = after[0], after[-1]
        w1 = [s["rss_mb"].get("w1") for s in after if s["rss_mb"].get("w1")]
        w1_growth = (max(w1) - w1[0]) if w1 else 0.0
        done = last["done"] - first["done"]
        redis_growth = (last["redis_mb"] - first["redis_mb"]) * 2**20
        per_recipient = redis_growth / done if done > 0 else 0.0
        broker_max = max(s["broker_kb"] for s in samples)
        rate = [
            (b["done"] - a["done"]) / (b["t"] - a["t"])
            for a, b in itertools.pairwise(samples)
            if b["t"] > a["t"]
        ]
        result["soak"] = {
            "minutes": round(result["total_seconds"] / MINUTE, 1),
            "recipients_finished": samples[-1]["done"],
            "sends_per_second_median": round(statistics.median(rate), 1) if rate else None,
            "w1_rss_mb_at_1_min": w1[0] if w1 else None,
            "w1_rss_mb_max_after": max(w1) if w1 else None,
            "w1_rss_growth_mb": round(w1_growth, 1),
            "redis_mb_at_1_min": first["redis_mb"],
            "redis_mb_end": last["redis_mb"],
            "redis_bytes_per_finished_recipient": round(per_recipient, 1),
            "broker_kb_max": broker_max,
            "samples": samples,
        }
        limit = max(16.0, 0.10 * (w1[0] if w1 else 0.0))
        checks = result["checks"]
        checks["w1 RSS flat after the first minute"] = w1_growth <= limit
        checks["Redis grows <= 300 B per finished recipient"] = per_recipient <= 300
        checks["broker stays under 5 MB"] = broker_max < 5 * 1024
        if not result["completed"]:
            checks.pop("every recipient terminal")  # stopped at --max-minutes: reported
            checks.pop("unknown within bound")
        checks.pop("every planned event ran")
        checks.pop("rolling restarts were graceful (exit code 0)")
        result["ok"] = all(checks.values()) and not self.errors
        return result

    def unknown_bound(self) -> dict[str, int]:
        bound = {"worker_kills": len(self.kills) * self.args.concurrency}
        bound["total"] = bound["worker_kills"]
        return bound


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def summary_text(result: dict[str, Any]) -> str:
    soak = result["soak"]
    lines = [
        f"soak: {soak['recipients_finished']} of {result['n']} recipients in"
        f" {soak['minutes']} min ({'completed' if result['completed'] else 'NOT completed'}),"
        f" {result['workers']} workers x {result['concurrency']} threads,"
        f" {result['kills']} kills of w2, median {soak['sends_per_second_median']} finished/s",
        f"  w1 RSS: {soak['w1_rss_mb_at_1_min']} MB at 1 min, max"
        f" {soak['w1_rss_mb_max_after']} MB after (growth {soak['w1_rss_growth_mb']} MB)",
        f"  Redis: {soak['redis_mb_at_1_min']} MB at 1 min -> {soak['redis_mb_end']} MB"
        f" ({soak['redis_bytes_per_finished_recipient']} B per finished recipient);"
        f" broker max {soak['broker_kb_max']} KB",
        f"  duplicates {result['duplicates']}, not terminal {result['non_terminal']},"
        f" unknown {result['unknown']}, counts {result['counts']}",
    ]
    lines += [f"  [{'ok' if ok else 'FAIL'}] {name}" for name, ok in result["checks"].items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=float, default=600_000.0, help="campaign rate per min")
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--kill-every", type=float, default=60.0)
    parser.add_argument("--sample-every", type=float, default=10.0)
    parser.add_argument("--max-minutes", type=float, default=40.0)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    random.seed(0)
    with workdir(args.keep) as path:
        soak = Soak(args, path)
        try:
            result = soak.run()
        finally:
            soak.close()
    print(summary_text(result))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
