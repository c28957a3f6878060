"""Chaos: one campaign through real worker processes while everything around them fails.

    python -m bench.chaos [--short] [--n 5000] [--workers 2] [--concurrency 16]
                          [--rate 60000] [--latency-ms 20] [--seed N] [--json PATH]

`make chaos` runs the full plan; `tests/test_chaos.py` runs `--short` inside `make test`.

What it starts, all on loopback and all its own (the machine's Redis is never touched):
- a redis-server on a free port, in a temporary directory, with `--appendonly yes
  --appendfsync always` (db 0 the campaign store, db 1 the Celery broker);
- the Replai sandbox, throttle off, `--latency-ms` per send;
- `--workers` Celery worker processes (threads pool), with short recovery settings:
  BROADCASTER_LEASE=15, STALE_AFTER=5, REPLAI_TIMEOUT=2, BACKOFF_BASE=0.5.

Then one campaign of `--n` recipients at `--rate` per minute (far above what the machine does,
so the workers are saturated) and, while it runs:
- every few seconds a random worker gets SIGKILL (its whole process group) and is restarted;
- at progress marks (recipients finished / total), one after the other: a storm of 429s, a
  storm of 500s (`fail_mode`), the sandbox `down` (503 at once), one crash of Redis (SIGKILL,
  restarted on the same port and directory: the AOF is replayed), latency spikes beyond the
  client timeout (those sends reach the sandbox, the client gives up: they must end
  `unknown`, never be sent again), and one real stop of the sandbox process (connection
  refused), restarted on the same port.

The sandbox keeps its send log in memory, so a real stop would lose it. Before the stop the
harness sets `down: true` (new sends are answered 503 before they are recorded), waits for
the sends already inside the sandbox to finish, saves `/_sandbox/sends`, and only then kills
the process. Duplicates are counted over the saved log and the new process's log together.

At the end (the campaign completed, or the deadline passed) it reports, as JSON and as text:
duplicate sends at the sandbox (must be 0), recipients not in a terminal state (must be 0),
`unknown` recipients by cause and their bound (the sends that can have been in flight when a
worker or Redis was killed, or that met a latency spike), the counts per status, the kills,
the events with their times, and the total time. It also cross-checks the store against the
sandbox: every recipient marked `sent` was received by the sandbox, and every number the
sandbox received belongs to a recipient marked sent (or later), or `unknown`.
The exit status is 1 when a check fails.
"""

import argparse
import contextlib
import dataclasses
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import redis

from broadcaster.campaigns import CampaignState
from broadcaster.settings import Settings
from broadcaster.store import CampaignStore, open_store

TOKEN = "chaos-token"
TERMINAL = ("sent", "delivered", "read", "failed", "skipped", "cancelled", "unknown")
SENT_OR_LATER = ("sent", "delivered", "read")
#: The error the ticker writes when a lease expires (the worker died mid-send).
LOST = "worker lost during the send"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def phone(i: int) -> str:
    """The i-th Indonesian test mobile; last four digits 5000-8999, none of them scripted."""
    return f"6281{i // 4000 % 100000:05d}{5000 + i % 4000:04d}"


def _stop_group(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


class RedisServer:
    """A private redis-server with AOF (fsync on every write), restartable on its port."""

    def __init__(self, workdir: Path, *, aof: bool = True) -> None:
        self.port = free_port()
        self.dir = workdir / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.aof = aof
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = self.dir / "redis.log"

    def url(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.aof else []
        cmd = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.dir), "--save", "", *persistence, "--logfile", str(self.log),
        ]  # fmt: skip
        self.proc = subprocess.Popen(cmd, start_new_session=True)
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 30
        while True:
            try:
                if client.ping():
                    break
            except redis.BusyLoadingError:
                pass  # replaying the AOF
            except redis.ConnectionError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"redis-server exited; see {self.log}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not answer; see {self.log}")
            time.sleep(0.05)
        client.close()

    def crash(self) -> None:
        """SIGKILL: no shutdown, no final rewrite; what is in the AOF is what survives."""
        assert self.proc is not None
        _stop_group(self.proc, signal.SIGKILL)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            _stop_group(self.proc)


class SandboxProcess:
    """The Replai sandbox on a fixed port; its send log survives a real restart (see top)."""

    def __init__(self, workdir: Path, *, latency_ms: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.latency_ms = latency_ms
        self.log = workdir / "sandbox.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.http = httpx.Client(base_url=self.url, timeout=30.0)
        #: sends recorded by earlier processes, saved before each real stop
        self.saved: list[dict[str, Any]] = []

    def start(self) -> None:
        cmd = [
            sys.executable, "-m", "broadcaster.sandbox", "--port", str(self.port),
            "--token", TOKEN, "--latency-ms", str(self.latency_ms), "--rate-limit", "0",
        ]  # fmt: skip
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                cmd, start_new_session=True, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                self.http.get("/_sandbox/config").raise_for_status()
                return
            except httpx.HTTPError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the sandbox did not start; see {self.log}") from None
                time.sleep(0.05)

    def configure(self, **options: object) -> None:
        self.http.post("/_sandbox/config", json=options).raise_for_status()

    def sends(self) -> list[dict[str, Any]]:
        response = self.http.get("/_sandbox/sends")
        response.raise_for_status()
        return list(response.json()["sends"])

    def all_sends(self) -> list[dict[str, Any]]:
        return self.saved + self.sends()

    def stop_for_real(self) -> int:
        """Quiesce, save the send log, SIGKILL. Returns the sends saved."""
        assert self.proc is not None
        self.configure(down=True)  # new sends: 503 before anything is recorded
        time.sleep(1.0 + self.latency_ms / 1000)  # sends already inside finish recording
        sends = self.sends()
        self.saved.extend(sends)
        _stop_group(self.proc, signal.SIGKILL)
        return len(sends)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            _stop_group(self.proc)
        self.http.close()


class Workers:
    """Celery worker processes (threads pool); output appended to one log file per name."""

    def __init__(self, workdir: Path, env: dict[str, str], store: CampaignStore) -> None:
        self.workdir, self.env, self.store = workdir, env, store
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.concurrency: dict[str, int] = {}

    def start(self, name: str, *, concurrency: int, timeout: float = 90.0) -> None:
        cmd = [
            sys.executable, "-m", "celery", "-A", "workers.app", "worker", "-P", "threads",
            "-c", str(concurrency), "-n", f"{name}@%h", "--without-gossip",
            "--without-mingle", "-l", "WARNING",
        ]  # fmt: skip
        with open(self.workdir / f"{name}.log", "ab") as out:
            proc = subprocess.Popen(
                cmd, env=self.env, start_new_session=True, stdout=out, stderr=subprocess.STDOUT
            )
        self.procs[name], self.concurrency[name] = proc, concurrency
        deadline = time.monotonic() + timeout
        pattern = self.store.keys.worker(f"*:{proc.pid}")
        while True:  # ready once its ticker thread writes a heartbeat
            with contextlib.suppress(redis.RedisError):
                if next(self.store.redis.scan_iter(pattern), None) is not None:
                    return
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker {name} did not start (exit code {proc.poll()})")
            time.sleep(0.1)

    def kill(self, name: str) -> None:
        """SIGKILL the worker's process group, as an OOM killer or a lost host would."""
        _stop_group(self.procs.pop(name), signal.SIGKILL)

    def stop_all(self) -> None:
        for name in list(self.procs):
            _stop_group(self.procs.pop(name))

    def pids(self) -> dict[str, int]:
        return {name: proc.pid for name, proc in self.procs.items()}


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
    kill_every: tuple[float, float]  # seconds between two worker kills (uniform)
    deadline: float  # seconds the campaign may take after its start


FULL = Plan(
    n=5000, storm_429=30, storm_500=30, down=20, stopped=10, spikes=(4.0, 4.0),
    redis_down=3.0, kill_every=(3.0, 8.0), deadline=540.0,
)  # fmt: skip
SHORT = Plan(
    n=1500, storm_429=5, storm_500=5, down=5, stopped=3, spikes=(3.0,),
    redis_down=2.0, kill_every=(4.0, 8.0), deadline=150.0,
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
        self.sandbox = SandboxProcess(workdir, latency_ms=args.latency_ms)
        self.events: list[dict[str, Any]] = []
        self.kills: list[dict[str, Any]] = []
        self.redis_crashes = 0
        self.sandbox_stops = 0
        self.spike_seconds: list[float] = []
        self.topology = threading.Lock()  # no worker kill while Redis is down
        self.stop = threading.Event()
        self.t0 = time.monotonic()
        self.cid = ""
        self.last_counts: dict[str, int] = {}
        self.errors: list[str] = []

    # -- set-up ------------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("BROADCASTER_")}
        return clean | {
            "BROADCASTER_REDIS_URL": self.redis_server.url(0),
            "BROADCASTER_BROKER_URL": self.redis_server.url(1),
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
        os.environ.update(env)  # this process publishes the start task through the same app
        self.redis_server.start()
        self.sandbox.start()
        client = redis.Redis.from_url(
            self.redis_server.url(0), socket_timeout=10, socket_connect_timeout=2
        )
        self.store = open_store(Settings(), redis=client)  # the workers' settings: env above
        self.workers = Workers(self.workdir, env, self.store)
        names = [f"w{i + 1}" for i in range(self.args.workers)]
        for name in names:
            self.workers.start(name, concurrency=self.args.concurrency)
        self.note("workers ready", workers=names, concurrency=self.args.concurrency)
        self.cid = self.launch()
        self.t0 = time.monotonic()
        self.note("campaign started", id=self.cid, n=self.plan.n)
        killer = threading.Thread(target=self.kill_loop, args=(names,), daemon=True)
        director = threading.Thread(target=self.direct, daemon=True)
        killer.start()
        director.start()
        completed = self.wait_completed()
        elapsed = time.monotonic() - self.t0
        self.stop.set()
        director.join(60)
        killer.join(120)
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

    # -- the chaos ---------------------------------------------------------------------------

    def kill_loop(self, names: list[str]) -> None:
        low, high = self.plan.kill_every
        while not self.stop.wait(self.rng.uniform(low, high)):
            with self.topology:
                if self.stop.is_set():
                    return
                name = self.rng.choice(names)
                pid = self.workers.procs[name].pid
                self.workers.kill(name)
                self.kills.append({"worker": name, "pid": pid, "t": self._t()})
                self.note("SIGKILL worker", worker=name, pid=pid)
                time.sleep(self.rng.uniform(0.3, 1.5))
                try:
                    self.workers.start(name, concurrency=self.args.concurrency)
                except RuntimeError as exc:
                    self.errors.append(str(exc))
                    self.note("worker restart failed", worker=name, error=str(exc))
                    return

    def _t(self) -> float:
        return round(time.monotonic() - self.t0, 1)

    def direct(self) -> None:
        """The chaos events, each at a progress mark, one after the other."""
        plan = self.plan
        steps: list[tuple[str, Callable[[], None]]] = [
            ("429 storm", lambda: self.storm("429", plan.storm_429)),
            ("500 storm", lambda: self.storm("500", plan.storm_500)),
            ("sandbox down", self.sandbox_down),
            ("Redis crash", self.redis_crash),
        ]
        for n, seconds in enumerate(plan.spikes):
            steps.append((f"latency spike {n + 1}", lambda s=seconds: self.spike(s)))
            if n == 0:
                steps.append(("sandbox stopped", self.sandbox_stop))
        if len(plan.spikes) == 0:
            steps.append(("sandbox stopped", self.sandbox_stop))
        marks = [0.06 + 0.8 * k / len(steps) for k in range(len(steps))]
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
        self.sandbox_stops += 1
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

    def redis_crash(self) -> None:
        with self.topology:
            self.redis_server.crash()
            self.redis_crashes += 1
            self.note("Redis SIGKILL", seconds_down=self.plan.redis_down)
            time.sleep(self.plan.redis_down)
            self.redis_server.start()
            self.note("Redis restarted from its AOF")

    # -- accounting --------------------------------------------------------------------------

    def unknown_bound(self) -> dict[str, int]:
        """Sends that can have been in flight at a kill, or that met a latency spike."""
        threads = self.args.workers * self.args.concurrency
        spikes = sum(threads * (math.ceil(s / REPLAI_TIMEOUT) + 1) for s in self.spike_seconds)
        bound = {
            "worker_kills": len(self.kills) * self.args.concurrency,
            "redis_crash": self.redis_crashes * threads,
            "sandbox_stop": self.sandbox_stops * threads,
            "latency_spikes": spikes,
        }
        bound["total"] = sum(bound.values())
        return bound

    def report(self, elapsed: float, completed: bool) -> dict[str, Any]:
        store = self._retrying(lambda: self.store)
        counts = self._retrying(lambda: store.counts(self.cid))
        rows = self._retrying(lambda: list(store.iter_rows(self.cid)))
        sends = self.sandbox.all_sends()
        per_ref = Counter(s["ref"] for s in sends)
        per_phone = Counter(s["phone"] for s in sends)
        by_status: dict[str, set[str]] = {}
        for row in rows:
            by_status.setdefault(row.status, set()).add(row.phone)
        sent = set().union(*(by_status.get(s, set()) for s in SENT_OR_LATER))
        unknown_rows = [r for r in rows if r.status == "unknown"]
        causes = Counter(
            "worker lost (lease expired)" if LOST in (r.error or "") else "client timeout"
            for r in unknown_rows
        )
        failed = Counter((r.error or "?") for r in rows if r.status == "failed")
        non_terminal = {k: v for k, v in counts.items() if v and k not in TERMINAL}
        bound = self.unknown_bound()
        result: dict[str, Any] = {
            "mode": "short" if self.args.short else "full",
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
            "unknown_by_cause": dict(causes),
            "unknown_bound": bound,
            "failed_reasons": dict(failed.most_common(5)),
            "sandbox_sends": len(sends),
            "sent_not_received": len(sent - set(per_phone)),
            "received_not_accounted": len(set(per_phone) - sent - by_status.get("unknown", set())),
            "kills": len(self.kills),
            "redis_crashes": self.redis_crashes,
            "sandbox_stops": self.sandbox_stops,
            "events": [e for e in self.events if e["event"] != "progress"],
            "harness_errors": self.errors,
        }
        result["checks"] = {
            "no duplicate send": result["duplicates"] == 0 and result["duplicate_phones"] == 0,
            "every recipient terminal": completed and result["non_terminal"] == 0,
            "counts add up": sum(counts.values()) == self.plan.n,
            "unknown within bound": result["unknown"] <= bound["total"],
            "every sent recipient reached the sandbox": result["sent_not_received"] == 0,
            "every send received is accounted": result["received_not_accounted"] == 0,
            "every planned event ran": not self.errors
            and not any(e["event"] == "event skipped" for e in self.events),
        }
        result["ok"] = all(result["checks"].values())
        return result

    def _retrying(self, read: Callable[[], Any], attempts: int = 20) -> Any:
        for n in range(attempts):
            try:
                return read()
            except redis.RedisError:
                if n == attempts - 1:
                    raise
                time.sleep(0.5)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.stop.set()
        with contextlib.suppress(Exception):
            self.workers.stop_all()
        self.sandbox.stop()
        self.redis_server.stop()


def summary_text(result: dict[str, Any]) -> str:
    bound = result["unknown_bound"]
    lines = [
        f"chaos ({result['mode']}): {result['n']} recipients, {result['workers']} workers"
        f" x {result['concurrency']} threads, {result['total_seconds']} s"
        f" ({'completed' if result['completed'] else 'NOT completed'})",
        f"  duplicate sends at the sandbox: {result['duplicates']}"
        f" (by phone: {result['duplicate_phones']})",
        f"  recipients not in a terminal state: {result['non_terminal']}",
        f"  unknown: {result['unknown']} (bound {bound['total']}: {result['unknown_by_cause']})",
        f"  counts: {result['counts']}",
        f"  failed reasons: {result['failed_reasons']}",
        f"  kills: {result['kills']} workers, {result['redis_crashes']} Redis,"
        f" {result['sandbox_stops']} sandbox; sandbox received {result['sandbox_sends']}",
    ]
    for name, ok in result["checks"].items():
        lines.append(f"  [{'ok' if ok else 'FAIL'}] {name}")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__)
    parser.add_argument("--short", action="store_true", help="the ~1-2 min version")
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
