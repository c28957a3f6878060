"""Chaos: one campaign through real worker processes while everything around them fails.

    python -m bench.chaos [--short] [--broker redis|rabbitmq] [--no-kills] [--n 5000]
                          [--workers 2] [--concurrency 16] [--rate 60000] [--latency-ms 20]
                          [--seed N] [--json PATH] [--keep]

`make chaos` runs the full plan with Redis as the broker, `make chaos ARGS="--broker
rabbitmq"` with RabbitMQ; `tests/test_chaos.py` runs `--short` inside `make test`.

What it starts, all on loopback and all its own (bench/chaos_procs.py; the machine's Redis
and RabbitMQ are never touched):
- a redis-server on a free port, in a temporary directory, with `--appendonly yes
  --appendfsync always` and `noeviction` (db 0 the campaign store, db 1 the Celery broker
  unless `--broker rabbitmq`);
- with `--broker rabbitmq`, a RabbitMQ node of its own (node name, ports, data directory);
- the Replai sandbox, throttle off, `--latency-ms` per send;
- `--workers` `broadcaster worker` processes (each supervises a Celery worker, threads pool,
  started again at most 1 s after it exits), with short recovery settings:
  BROADCASTER_LEASE=15, STALE_AFTER=5, REPLAI_TIMEOUT=2, BACKOFF_BASE=0.5.

Then one campaign of `--n` recipients at `--rate` per minute (far above what the machine does,
so the workers are saturated) and, while it runs:
- every few seconds the Celery process of a random worker gets SIGKILL (unless `--no-kills`);
  its supervisor starts it again;
- at progress marks (recipients finished / total), one after the other: a storm of 429s, a
  storm of 500s, the sandbox `down` (503 at once), a crash of Redis (SIGKILL, restarted from
  its AOF), latency spikes beyond the client timeout, a real stop of the sandbox process,
  Redis paused (SIGSTOP, then SIGCONT), Redis full (`maxmemory` under what it uses, then
  lifted), the RabbitMQ node restarted (with `--broker rabbitmq`), and a graceful rolling
  restart of every worker (SIGTERM to each supervisor in turn, as a deploy does).

At the end it reports, as JSON and as text: duplicate sends at the sandbox (must be 0),
recipients not in a terminal state (must be 0), `unknown` recipients by cause and their bound,
`unknown` recipients whose request never reached the sandbox and the fault each of them met
(bench/chaos_faults.py): a SIGKILL between a claim and its request (at most one per thread
of the killed process: the bound is kills x concurrency), or a request the client wrote but
the overloaded or stopping sandbox did not handle before the client's timeout (it may have
left: `unknown` is honest there); none may come from Redis paused or full. Then worker
processes that exited without being killed by the harness (must be 0: their supervisors'
logs say so), the counts, the kills, the events with their times. It also checks the store
against the sandbox: every recipient marked `sent` was received, and every number received
is marked sent (or later) or `unknown`. The exit status is 1 when a check fails.
"""

import argparse
import contextlib
import dataclasses
import json
import math
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import redis

from bench.chaos_faults import attribute, windows
from bench.chaos_procs import TOKEN, RabbitNode, RedisServer, SandboxProcess, Workers
from broadcaster.campaigns import CampaignState
from broadcaster.settings import Settings
from broadcaster.store import open_store

__all__ = ["FULL", "SHORT", "Chaos", "Plan", "main"]

TERMINAL = ("sent", "delivered", "read", "failed", "skipped", "cancelled", "unknown")
SENT_OR_LATER = ("sent", "delivered", "read")
#: The error the ticker writes when a lease expires (the worker died mid-send).
LOST = "worker lost during the send"


@dataclasses.dataclass(frozen=True)
class Plan:
    """What the harness does; `FULL` is `make chaos`, `SHORT` the version in `make test`."""

    n: int
    storm_429: float
    storm_500: float
    down: float  # sandbox answering 503 (`down: true`)
    stopped: float  # sandbox process really stopped (connection refused)
    spikes: tuple[float, ...]  # latency spikes beyond the client timeout, seconds each
    redis_down: float  # seconds between the Redis crash and its restart
    redis_paused: float  # seconds between SIGSTOP and SIGCONT
    redis_full: float  # seconds at maxmemory (noeviction)
    broker_down: float  # seconds the RabbitMQ node is stopped (with --broker rabbitmq)
    rolling: bool  # a graceful rolling restart of every worker
    kill_every: tuple[float, float]  # seconds between two worker kills (uniform)
    deadline: float  # seconds the campaign may take after its start


FULL = Plan(
    n=5000, storm_429=30, storm_500=30, down=20, stopped=10, spikes=(4.0, 4.0),
    redis_down=3.0, redis_paused=10.0, redis_full=10.0, broker_down=5.0, rolling=True,
    kill_every=(3.0, 8.0), deadline=600.0,
)  # fmt: skip
SHORT = Plan(
    n=1500, storm_429=5, storm_500=5, down=5, stopped=3, spikes=(3.0,),
    redis_down=2.0, redis_paused=3.0, redis_full=3.0, broker_down=2.0, rolling=False,
    kill_every=(4.0, 8.0), deadline=180.0,
)  # fmt: skip

#: Client timeout and lease of the workers (seconds); a spike is this + 1.5 s of latency.
REPLAI_TIMEOUT = 2.0
LEASE = 15.0
#: Seconds before a queued send is published again (short: faults lose broker messages).
STALE_AFTER = 5.0


class Chaos:
    """Runs one campaign under the plan and collects what happened."""

    def __init__(self, args: argparse.Namespace, plan: Plan, workdir: Path) -> None:
        self.args, self.plan, self.workdir = args, plan, workdir
        self.rng = random.Random(args.seed)
        self.redis_server = RedisServer(workdir)
        self.rabbit = RabbitNode(workdir) if args.broker == "rabbitmq" else None
        self.sandbox = SandboxProcess(workdir, latency_ms=args.latency_ms)
        self.events: list[dict[str, Any]] = []
        self.kills: list[dict[str, Any]] = []
        self.faults: Counter[str] = Counter()
        self.graceful_exits: list[int] = []
        self.spike_seconds: list[float] = []
        self.topology = threading.Lock()  # no worker kill while Redis or the broker is away
        self.stop = threading.Event()
        self.t0, self.wall0 = time.monotonic(), time.time()
        self.cid = ""
        self.last_counts: dict[str, int] = {}
        self.errors: list[str] = []

    # -- set-up ------------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("BROADCASTER_")}
        broker = self.rabbit.url() if self.rabbit else self.redis_server.url(1)
        return clean | {
            "BROADCASTER_REDIS_URL": self.redis_server.url(0),
            "BROADCASTER_BROKER_URL": broker,
            "BROADCASTER_KEY_PREFIX": "bc",
            "BROADCASTER_REPLAI_BASE_URL": self.sandbox.url,
            "BROADCASTER_REPLAI_TOKEN": TOKEN,
            "BROADCASTER_REPLAI_TIMEOUT": str(REPLAI_TIMEOUT),
            "BROADCASTER_REPLAI_CONNECT_TIMEOUT": str(REPLAI_TIMEOUT),
            "BROADCASTER_LEASE": str(LEASE),
            "BROADCASTER_STALE_AFTER": str(STALE_AFTER),
            # the sandbox's throttle is off: the account's and the senders' limits too
            "BROADCASTER_RATE_WABA_PER_MINUTE": "60000000",
            "BROADCASTER_SENDER_RATE": "60000000/min",
            "BROADCASTER_BACKOFF_BASE": "0.5",
            "BROADCASTER_PAIR_INTERVAL": "1",
        }

    def note(self, event: str, **detail: Any) -> None:
        entry = {"t": round(time.monotonic() - self.t0, 1), "event": event, **detail}
        self.events.append(entry)
        print(f"[{entry['t']:7.1f}s] {event} {json.dumps(detail) if detail else ''}", flush=True)

    # -- the run -----------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        env = self.env()
        os.environ.update(env)  # this process publishes the first sends through the same app
        self.redis_server.start()
        if self.rabbit is not None:
            self.rabbit.start()
        self.sandbox.start()
        client = redis.Redis.from_url(
            self.redis_server.url(0), socket_timeout=10, socket_connect_timeout=2
        )
        self.store = open_store(Settings(), redis=client)  # the workers' settings: env above
        self.workers = Workers(self.workdir, env, self.store)
        self.names = [f"w{i + 1}" for i in range(self.args.workers)]
        for name in self.names:
            self.workers.start(name, concurrency=self.args.concurrency)
        self.note("workers ready", workers=self.names, broker=self.args.broker)
        self.cid = self.launch()
        self.t0, self.wall0 = time.monotonic(), time.time()
        self.note("campaign started", id=self.cid, n=self.plan.n)
        threads = [threading.Thread(target=self.direct, daemon=True)]
        if not self.args.no_kills:
            threads.append(threading.Thread(target=self.kill_loop, daemon=True))
        for thread in threads:
            thread.start()
        completed = self.wait_completed()
        elapsed = time.monotonic() - self.t0
        self.stop.set()
        for thread in threads:
            thread.join(120)
        self.note("campaign completed" if completed else "deadline passed", seconds=elapsed)
        return self.report(elapsed, completed)

    def launch(self) -> str:
        from broadcaster.enqueue import enqueue_broadcast
        from workers.dispatch import CeleryDispatch

        rows = ({"phone": phone(i), "name": f"N{i}"} for i in range(self.plan.n))
        result = enqueue_broadcast(
            rows, sender="waba-chaos", text="Halo {name}", name="chaos",
            rate_per_minute=self.args.rate, store=self.store, dispatch=CeleryDispatch(),
        )  # fmt: skip
        return result.campaign.id

    def progress(self) -> float:
        """Finished recipients / total, from the last good read of the counters."""
        with contextlib.suppress(redis.RedisError):
            self.last_counts = self.store.counts(self.cid)
        done = sum(self.last_counts.get(s, 0) for s in TERMINAL)
        return done / self.plan.n

    def wait_completed(self) -> bool:
        deadline = self.t0 + self.plan.deadline
        last_print = 0.0
        while time.monotonic() < deadline:
            fraction = self.progress()
            with contextlib.suppress(redis.RedisError):
                if self.store.get(self.cid).state == CampaignState.COMPLETED:
                    return True
            if time.monotonic() - last_print > 10:
                last_print = time.monotonic()
                self.note("progress", percent=round(100 * fraction, 1), counts=self._open())
            time.sleep(0.25)
        return False

    def _open(self) -> dict[str, int]:
        return {k: v for k, v in self.last_counts.items() if v and k not in TERMINAL}

    def _t(self) -> float:
        return round(time.monotonic() - self.t0, 1)

    # -- the chaos ---------------------------------------------------------------------------

    def kill_loop(self) -> None:
        low, high = self.plan.kill_every
        while not self.stop.wait(self.rng.uniform(low, high)):
            with self.topology:
                if self.stop.is_set():
                    return
                name = self.rng.choice(self.names)
                with contextlib.suppress(redis.RedisError):
                    self.last_counts = self.store.counts(self.cid)
                sending = self.last_counts.get("sending", 0)
                pid = self.workers.kill(name)
                self.kills.append({"worker": name, "pid": pid, "t": self._t(), "sending": sending})
                self.note("SIGKILL worker", worker=name, pid=pid, sending_before=sending)
                try:
                    self.workers.wait_ready(name, after=pid)
                except RuntimeError as exc:
                    self.errors.append(str(exc))
                    self.note("worker restart failed", worker=name, error=str(exc))
                    return

    def steps(self) -> list[tuple[str, Callable[[], None]]]:
        """The faults in their order: those of Redis and the broker early, while most of the
        campaign is still to send (the storms slow it down; the rest goes fast)."""
        plan = self.plan
        steps: list[tuple[str, Callable[[], None]]] = [
            ("429 storm", lambda: self.storm("429", plan.storm_429))
        ]
        if self.rabbit is not None:
            steps.append(("RabbitMQ restarted", self.broker_restart))
        steps += [
            ("Redis paused", self.redis_pause),
            ("500 storm", lambda: self.storm("500", plan.storm_500)),
            ("Redis full", self.redis_fill),
            ("sandbox down", self.sandbox_down),
            ("Redis crash", self.redis_crash),
        ]
        if plan.rolling:
            steps.append(("rolling restart", self.rolling_restart))
        for n, seconds in enumerate(plan.spikes):
            steps.append((f"latency spike {n + 1}", lambda s=seconds: self.spike(s)))
            if n == 0:
                steps.append(("sandbox stopped", self.sandbox_stop))
        if not plan.spikes:
            steps.append(("sandbox stopped", self.sandbox_stop))
        return steps

    def direct(self) -> None:
        """The chaos events, each at a progress mark, one after the other."""
        steps = self.steps()
        marks = [0.03 + 0.75 * k / len(steps) for k in range(len(steps))]
        for (label, action), mark in zip(steps, marks, strict=True):
            while self.progress() < mark:
                if self.stop.wait(0.1):
                    self.note("event skipped", event=label)
                    return
            try:
                action()
            except Exception as exc:  # report it, keep the run going to its accounting
                self.errors.append(f"{label}: {exc!r}")
                self.note("event failed", event=label, error=repr(exc))

    def storm(self, mode: str, seconds: float) -> None:
        self.sandbox.configure(fail_mode=mode)
        self.note(f"{mode} storm begins", seconds=seconds)
        time.sleep(seconds)
        self.sandbox.configure(fail_mode=None)
        self.note(f"{mode} storm ends")

    def sandbox_down(self) -> None:
        self.sandbox.configure(down=True)
        self.note("sandbox down (503)", seconds=self.plan.down)
        time.sleep(self.plan.down)
        self.sandbox.configure(down=False)
        self.note("sandbox up")

    def sandbox_stop(self) -> None:
        saved = self.sandbox.stop_for_real()
        self.faults["sandbox stops"] += 1
        self.note("sandbox process killed", sends_saved=saved, seconds=self.plan.stopped)
        time.sleep(self.plan.stopped)
        self.sandbox.start()
        self.note("sandbox process restarted")

    def spike(self, seconds: float) -> None:
        latency = int((REPLAI_TIMEOUT + 1.5) * 1000)
        self.sandbox.configure(latency_ms=latency)
        self.note("latency spike begins", latency_ms=latency, seconds=seconds)
        time.sleep(seconds)
        self.sandbox.configure(latency_ms=self.args.latency_ms)
        self.spike_seconds.append(seconds)
        self.note("latency spike ends")
        # the last slowed requests are still inside the sandbox for this long: a sandbox stop
        # right after would lose them from its log
        time.sleep(latency / 1000)

    def redis_crash(self) -> None:
        with self.topology:
            self.redis_server.crash()
            self.faults["Redis crashes"] += 1
            self.note("Redis SIGKILL", seconds_down=self.plan.redis_down)
            time.sleep(self.plan.redis_down)
            self.redis_server.start()
            self.note("Redis restarted from its AOF")

    def redis_pause(self) -> None:
        with self.topology:
            self.redis_server.pause()
            self.faults["Redis pauses"] += 1
            self.note("Redis SIGSTOP", seconds=self.plan.redis_paused)
            time.sleep(self.plan.redis_paused)
            self.redis_server.resume()
            self.note("Redis SIGCONT")

    def redis_fill(self) -> None:
        with self.topology:
            limit = self.redis_server.fill()
            self.faults["Redis full"] += 1
            self.note("Redis full (maxmemory, noeviction)", maxmemory=limit,
                      seconds=self.plan.redis_full)  # fmt: skip
            time.sleep(self.plan.redis_full)
            self.redis_server.make_room()
            self.note("Redis has room again")

    def broker_restart(self) -> None:
        assert self.rabbit is not None
        with self.topology:
            self.rabbit.stop()
            self.faults["broker restarts"] += 1
            self.note("RabbitMQ stopped", seconds=self.plan.broker_down)
            time.sleep(self.plan.broker_down)
            self.rabbit.start()
            self.note("RabbitMQ started again")

    def rolling_restart(self) -> None:
        """A deploy: each worker in turn gets SIGTERM, finishes what it holds, and a new one
        starts; the next one only once the new one is ready."""
        with self.topology:
            for name in self.names:
                code = self.workers.stop(name)
                self.graceful_exits.append(code)
                self.note("worker stopped (SIGTERM)", worker=name, exit_code=code)
                self.workers.start(name, concurrency=self.args.concurrency)
                self.note("worker started again", worker=name)
            self.faults["rolling restarts"] += 1

    # -- accounting --------------------------------------------------------------------------

    def unknown_bound(self) -> dict[str, int]:
        """Sends that can have been in flight at a kill, or that met a latency spike."""
        threads = self.args.workers * self.args.concurrency
        spikes = sum(threads * (math.ceil(s / REPLAI_TIMEOUT) + 1) for s in self.spike_seconds)
        bound = {
            "worker_kills": len(self.kills) * self.args.concurrency,
            "redis_crash": self.faults["Redis crashes"] * threads,
            "sandbox_stop": self.faults["sandbox stops"] * threads,
            "latency_spikes": spikes,
        }
        bound["total"] = sum(bound.values())
        return bound

    def report(self, elapsed: float, completed: bool) -> dict[str, Any]:
        store = self.store
        counts = _retrying(lambda: store.counts(self.cid))
        rows = _retrying(lambda: list(store.iter_rows(self.cid)))
        sends = self.sandbox.all_sends()
        per_ref = Counter(s["ref"] for s in sends)
        per_phone = Counter(s["phone"] for s in sends)
        by_status: dict[str, set[str]] = {}
        for row in rows:
            by_status.setdefault(row.status, set()).add(row.phone)
        sent = set().union(*(by_status.get(s, set()) for s in SENT_OR_LATER))
        unknown_rows = [r for r in rows if r.status == "unknown"]
        never_reached = [r for r in unknown_rows if r.phone not in per_phone]

        def cause(row: Any) -> str:
            return "worker lost (lease expired)" if LOST in (row.error or "") else "client timeout"

        failed = Counter((r.error or "?") for r in rows if r.status == "failed")
        by_fault = attribute(
            (((r.updated_at or 0) - self.wall0, LOST in (r.error or "")) for r in never_reached),
            windows(self.events), lease=LEASE, timeout=REPLAI_TIMEOUT,
        )  # fmt: skip
        non_terminal = {k: v for k, v in counts.items() if v and k not in TERMINAL}
        bound = self.unknown_bound()
        exits = self.workers.unexpected_exits({k["pid"] for k in self.kills})
        result: dict[str, Any] = {
            "mode": "short" if self.args.short else "full",
            "broker": self.args.broker,
            "n": self.plan.n,
            "workers": self.args.workers,
            "concurrency": self.args.concurrency,
            "rate_per_minute": self.args.rate,
            "completed": completed,
            "total_seconds": round(elapsed, 1),
            "counts": {k: v for k, v in counts.items() if v},
            "duplicates": sum(n - 1 for n in per_ref.values()),
            "duplicate_phones": sum(n - 1 for n in per_phone.values()),
            "non_terminal": sum(non_terminal.values()),
            "unknown": counts.get("unknown", 0),
            "unknown_by_cause": dict(Counter(cause(r) for r in unknown_rows)),
            "unknown_bound": bound,
            "unknown_never_reached": len(never_reached),
            "unknown_never_reached_by_cause": dict(Counter(cause(r) for r in never_reached)),
            "unknown_never_reached_by_fault": by_fault,
            "unknown_never_reached_bound": len(self.kills) * self.args.concurrency,
            "sending_at_kills": sum(k["sending"] for k in self.kills),
            "worker_exits": exits,
            "graceful_exit_codes": self.graceful_exits,
            "failed_reasons": dict(failed.most_common(5)),
            "sandbox_sends": len(sends),
            "sent_not_received": len(sent - set(per_phone)),
            "received_not_accounted": len(set(per_phone) - sent - by_status.get("unknown", set())),
            "kills": len(self.kills),
            "faults": dict(self.faults),
            "redis_crashes": self.faults["Redis crashes"],
            "sandbox_stops": self.faults["sandbox stops"],
            "events": [e for e in self.events if e["event"] != "progress"],
            "harness_errors": self.errors,
        }
        result["checks"] = checks(result, self)
        result["ok"] = all(result["checks"].values())
        return result

    def close(self) -> None:
        self.stop.set()
        with contextlib.suppress(Exception):
            self.workers.stop_all()
        self.sandbox.stop()
        self.redis_server.stop()
        if self.rabbit is not None:
            self.rabbit.stop()


def checks(result: dict[str, Any], chaos: Chaos) -> dict[str, bool]:
    """The verdicts; the run fails when one is False."""
    return {
        "no duplicate send": result["duplicates"] == 0 and result["duplicate_phones"] == 0,
        "every recipient terminal": result["completed"] and result["non_terminal"] == 0,
        "counts add up": sum(result["counts"].values()) == result["n"],
        "unknown within bound": result["unknown"] <= result["unknown_bound"]["total"],
        "unknown that never reached the sandbox: only from kills, within their bound": (
            result["unknown_never_reached"] <= result["unknown_never_reached_bound"]
        ),
        "unknown that never reached the sandbox: none from Redis paused or full": not any(
            result["unknown_never_reached_by_fault"].get(f) for f in ("Redis paused", "Redis full")
        ),
        "no worker process exited on its own": not result["worker_exits"],
        "rolling restarts were graceful (exit code 0)": all(
            code == 0 for code in result["graceful_exit_codes"]
        ),
        "every sent recipient reached the sandbox": result["sent_not_received"] == 0,
        "every send received is accounted": result["received_not_accounted"] == 0,
        "every planned event ran": not chaos.errors
        and not any(e["event"] == "event skipped" for e in chaos.events),
    }


def phone(i: int) -> str:
    """The i-th Indonesian test mobile; last four digits 5000-8999, none of them scripted."""
    return f"6281{i // 4000 % 100000:05d}{5000 + i % 4000:04d}"


def _retrying(read: Callable[[], Any], attempts: int = 20) -> Any:
    for n in range(attempts):
        try:
            return read()
        except redis.RedisError:
            if n == attempts - 1:
                raise
            time.sleep(0.5)
    raise AssertionError("unreachable")


def summary_text(result: dict[str, Any]) -> str:
    bound = result["unknown_bound"]
    done = "completed" if result["completed"] else "NOT completed"
    lines = [
        f"chaos ({result['mode']}, {result['broker']} broker): {result['n']} recipients,"
        f" {result['workers']} workers x {result['concurrency']} threads,"
        f" {result['total_seconds']} s ({done})",
        f"  duplicate sends at the sandbox: {result['duplicates']}"
        f" (by phone: {result['duplicate_phones']})",
        f"  recipients not in a terminal state: {result['non_terminal']}",
        f"  unknown: {result['unknown']} (bound {bound['total']}: {result['unknown_by_cause']})",
        f"  unknown that never reached the sandbox: {result['unknown_never_reached']}"
        f" (bound {result['unknown_never_reached_bound']}: {result['kills']} kills x"
        f" {result['concurrency']} threads; {result['sending_at_kills']} claims held by all"
        f" workers at the kills; {result['unknown_never_reached_by_cause']};"
        f" by fault: {result['unknown_never_reached_by_fault']})",
        f"  worker processes that exited on their own: {len(result['worker_exits'])}"
        f" {result['worker_exits'] or ''}",
        f"  counts: {result['counts']}",
        f"  failed reasons: {result['failed_reasons']}",
        f"  faults: {result['kills']} worker kills, {result['faults']};"
        f" sandbox received {result['sandbox_sends']}",
    ]
    for name, ok in result["checks"].items():
        lines.append(f"  [{'ok' if ok else 'FAIL'}] {name}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    parser.add_argument("--short", action="store_true", help="the ~1-2 min version")
    parser.add_argument("--broker", choices=("redis", "rabbitmq"), default="redis")
    parser.add_argument("--no-kills", action="store_true", help="every fault but SIGKILLs")
    parser.add_argument("--n", type=int, default=None, help="recipients (5000; short 1500)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=float, default=60_000.0, help="campaign rate per minute")
    parser.add_argument("--latency-ms", type=int, default=20, help="sandbox latency per send")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None, help="write the result here")
    parser.add_argument("--keep", action="store_true", help="keep the logs' directory")
    args = parser.parse_args(argv)
    if args.seed is None:
        args.seed = random.randrange(1_000_000)
    return args


@contextlib.contextmanager
def workdir(keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="bc-chaos-"))
    try:
        yield path
    finally:
        if keep:
            print(f"logs kept in {path}")
        else:
            import shutil

            shutil.rmtree(path, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = SHORT if args.short else FULL
    if args.n is not None:
        plan = dataclasses.replace(plan, n=args.n)
    print(f"seed {args.seed}", flush=True)
    with workdir(args.keep) as path:
        chaos = Chaos(args, plan, path)
        try:
            result = chaos.run()
        finally:
            chaos.close()
        result["seed"] = args.seed
        if not result["ok"]:
            for name in sorted(p.name for p in path.glob("w*.log")):
                tail = (path / name).read_text(errors="replace").splitlines()[-15:]
                print(f"--- last lines of {name}:", *tail, sep="\n")
    print(summary_text(result))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
