"""Shared pieces of the benchmarks: processes on loopback, CPU accounting, medians.

Everything a benchmark starts goes through `process()`, in its own session, and is stopped
(TERM, then KILL) when the `with` block ends, whatever happens inside it.
"""

import contextlib
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import redis

TOKEN = "bench-token"
#: A second account's token (bench/nested.py): the sandbox throttles it on its own.
SECOND_TOKEN = "bench-token-2"
#: Every token the sandbox accepts, each an account of its own for its throttle (bench/pool.py
#: puts a sender pool on four accounts).
TOKENS = (TOKEN, SECOND_TOKEN, "bench-token-3", "bench-token-4")
ROOT = Path(__file__).resolve().parent.parent
#: The checkout whose workers, web app and importer run: this one, or another one (a
#: worktree with a change to measure) named by BENCH_PROJECT_ROOT.
PROJECT = Path(os.environ.get("BENCH_PROJECT_ROOT") or ROOT).resolve()
#: Where a benchmark's child processes write their stderr (kept for post-mortems).
LOG_DIR = Path(tempfile.gettempdir()) / "broadcaster-bench-logs"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def wait_port(port: int, timeout: float = 10.0) -> None:
    """Until something listens on the loopback port."""
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listens on port {port} after {timeout}s")
        time.sleep(0.05)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its (live and reaped) children, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in [pid, *_children(pid)]:
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        # utime stime cutime cstime are fields 14-17 (1-based) of stat; after ')' they are 11-14
        total += sum(int(x) for x in fields[11:15]) / ticks
    return total


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out.extend(int(k) for k in f.read().split())
    except (FileNotFoundError, ProcessLookupError):
        return out
    for kid in list(out):
        out.extend(_children(kid))
    return out


def peak_rss_mb(pid: int) -> float:
    """Peak resident set size (VmHWM) of a live process, in MB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def process(
    cmd: Sequence[str], env: dict[str, str] | None = None, *, log: str | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `cmd` in its own session; stderr goes to LOG_DIR/<log>.log when `log` is given."""
    err: Any = subprocess.DEVNULL
    if log:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        err = open(LOG_DIR / f"{log}.log", "wb")  # closed below
    proc = subprocess.Popen(
        list(cmd), env=env, start_new_session=True, cwd=PROJECT,
        stdout=subprocess.DEVNULL, stderr=err,
    )  # fmt: skip
    try:
        yield proc
    finally:
        stop(proc)
        if log:
            err.close()


def stop(proc: "subprocess.Popen[bytes]", grace: float = 15.0) -> None:
    """TERM the process group, then KILL it if it is still there after `grace` seconds."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, 15)
        proc.wait(grace)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait(5)


# redis ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RedisServer:
    """A private redis-server: `url(db)` for a database, `pid` for its CPU."""

    base: str
    pid: int

    def url(self, db: int) -> str:
        return f"{self.base}/{db}"

    def client(self, db: int = 0) -> "redis.Redis":
        return redis.Redis.from_url(self.url(db))

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def commands(self) -> dict[str, int]:
        """Calls per command since start (INFO commandstats), and the total."""
        stats = self.client().info("commandstats")
        calls = {k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in stats.items()}
        return calls | {"total": sum(calls.values())}

    def version(self) -> str:
        return str(self.client().info("server")["redis_version"])


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    """Start a redis-server of our own on a free loopback port, no persistence."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("redis-server is not installed (Debian/Ubuntu: apt-get install redis)")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as tmp:
        cmd = [
            exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", tmp, "--save", "",
            "--appendonly", "no", "--databases", "16", "--maxclients", "2000",
        ]  # fmt: skip
        with process(cmd, log="redis") as proc:
            server = RedisServer(f"redis://127.0.0.1:{port}", proc.pid)
            deadline = time.monotonic() + 10
            while True:
                try:
                    server.client().ping()
                    break
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            yield server


# sandbox ----------------------------------------------------------------------------------


class Sandbox:
    """A running Replai sandbox: its URL, process id, and the control routes."""

    def __init__(self, url: str, pid: int) -> None:
        self.url = url
        self.pid = pid
        self.http = httpx.Client(base_url=url, timeout=30.0)

    def reset(self) -> None:
        self.http.post("/_sandbox/reset").raise_for_status()

    def configure(self, **patch: Any) -> dict[str, Any]:
        response = self.http.post("/_sandbox/config", json=patch)
        response.raise_for_status()
        return dict(response.json())

    def sends(self, since: float | None = None) -> list[dict[str, Any]]:
        """Accepted sends (time `t`, phone, ref, message id), oldest first."""
        params = {"since": repr(since)} if since is not None else {}
        response = self.http.get("/_sandbox/sends", params=params)
        response.raise_for_status()
        return list(response.json()["sends"])

    def cpu(self) -> float:
        return cpu_seconds(self.pid)


class SendCounter:
    """Counts the sandbox's accepted sends by asking only for the ones since the last look."""

    def __init__(self, box: Sandbox) -> None:
        self.box = box
        self.seen: set[str] = set()
        self.phones: set[str] = set()
        self.last = 0.0
        self.first: float | None = None

    def poll(self) -> int:
        for send in self.box.sends(since=self.last or None):
            if send["message_id"] not in self.seen:
                self.seen.add(send["message_id"])
                self.phones.add(send["phone"])
                self.last = max(self.last, send["t"])
                self.first = send["t"] if self.first is None else min(self.first, send["t"])
        return len(self.seen)


@contextmanager
def sandbox_process(*, latency_ms: int = 0, rate_limit: str = "0") -> Iterator[Sandbox]:
    port = free_port()
    cmd = [
        sys.executable, "-m", "broadcaster.sandbox", "--port", str(port),
        *(arg for token in TOKENS for arg in ("--token", token)),
        "--latency-ms", str(latency_ms), "--rate-limit", rate_limit,
    ]  # fmt: skip
    with process(cmd, log="sandbox") as proc:
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/_sandbox/config")
        box = Sandbox(url, proc.pid)
        try:
            yield box
        finally:
            box.http.close()


@contextmanager
def sandbox(*, latency_ms: int = 0, rate_limit: str = "0") -> Iterator[str]:
    """The sandbox's URL only (kept for older scripts)."""
    with sandbox_process(latency_ms=latency_ms, rate_limit=rate_limit) as box:
        yield box.url


# celery workers ---------------------------------------------------------------------------

READY_PREFIX = "benchready:"


def celery_worker_cmd(app: str, pool: str, concurrency: int, *extra: str) -> list[str]:
    """A worker command line that reports readiness through bench.ready."""
    return [
        sys.executable, "-m", "celery", "-A", app, "worker", "-P", pool,
        "-c", str(concurrency), "--without-gossip", "--without-mingle", "--without-heartbeat",
        "-l", "WARNING", "-I", "bench.ready", *extra,
    ]  # fmt: skip


@contextmanager
def workers(
    cmd: Sequence[str], env: dict[str, str], count: int, ready: "redis.Redis", *, name: str
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start `count` worker processes and wait until each one said it is ready.

    `env` must hold BENCH_READY_URL, the Redis that `ready` points at.
    """
    for key in ready.scan_iter(READY_PREFIX + "*"):
        ready.delete(key)
    with ExitStack() as stack:
        # a node name each: on RabbitMQ two workers of one name fight over their pidbox queue
        named = [
            [*cmd, "-n", f"{name}{i}@%h"] if "-n" not in cmd else list(cmd) for i in range(count)
        ]
        procs = [
            stack.enter_context(process(c, env, log=f"{name}-{i}")) for i, c in enumerate(named)
        ]
        deadline = time.monotonic() + 60
        while sum(1 for _ in ready.scan_iter(READY_PREFIX + "*")) < count:
            dead = [p for p in procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                raise RuntimeError(f"{name} workers did not start; see {LOG_DIR}/{name}-*.log")
            time.sleep(0.05)
        yield procs


def workers_cpu(procs: Sequence["subprocess.Popen[bytes]"]) -> float:
    return sum(cpu_seconds(p.pid) for p in procs)


# statistics and the machine ---------------------------------------------------------------


def median_range(values: Sequence[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def summary(values: Sequence[float]) -> dict[str, float]:
    """median, min, max and the runs."""
    med, lo, hi = median_range(values)
    return {"median": med, "min": lo, "max": hi, "runs": list(values)}


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) of already sorted values, nearest rank."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, round(q * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def exit_on_term() -> None:
    """SIGTERM unwinds like Ctrl-C, so every process a benchmark started is stopped."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has used since boot (all CPUs, from /proc)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def revision() -> dict[str, Any]:
    """The commit of the measured checkout, and whether its product code has local changes."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=PROJECT, capture_output=True, text=True).stdout

    changed = [
        line
        for line in git("status", "--porcelain", "--", "broadcaster", "workers").splitlines()
        if line.endswith((".py", ".lua"))
    ]
    return {"project": str(PROJECT), "commit": git("rev-parse", "--short", "HEAD").strip(),
            "product_code_changed": bool(changed)}  # fmt: skip


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import celery
    import kombu

    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "ram_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "celery": celery.__version__,
        "kombu": kombu.__version__,
        "redis_py": redis.__version__,
        "httpx": httpx.__version__,
    }


# one benchmark session: a Redis and a sandbox of its own ----------------------------------

STORE_DB, BROKER_DB, READY_DB = 0, 1, 2
#: Sends per minute that no row reaches: the limits of a sandbox without a throttle.
UNLIMITED = "60000000"
#: The queue the project's workers consume (workers.app.QUEUE).
PROJECT_QUEUE = "broadcaster"


def _setting_default(name: str) -> float:
    from broadcaster.settings import Settings

    return float(Settings.model_fields[name].default)


#: The project's defaults, which every row runs with: recipients in flight per campaign,
#: recipients per send task, seconds before a queued send is published again.
WINDOW = int(_setting_default("dispatch_window"))
SEND_BATCH = int(_setting_default("send_batch"))
STALE_AFTER = _setting_default("stale_after")


def window_for(per_minute: float) -> int:
    """The dispatch window enqueue_broadcast gives a campaign at this rate (the defaults)."""
    from broadcaster.campaigns import dispatch_window

    return dispatch_window(WINDOW, per_minute, SEND_BATCH)


@dataclass
class Session:
    """A private redis-server (store db 0, broker db 1) and one sandbox, shared by the rows;
    a RabbitMQ node of its own too, started the first time a row asks for it."""

    redis: RedisServer
    box: Sandbox
    rabbit: Any = None  # bench.chaos_procs.RabbitNode, once started

    def rabbit_url(self) -> str:
        """The session's RabbitMQ broker (needs rabbitmq-server installed)."""
        if self.rabbit is None:
            from bench.chaos_procs import RabbitNode

            node = RabbitNode(Path(tempfile.mkdtemp(prefix="bc-bench-rabbitmq-")))
            node.start()
            self.rabbit = node
        return str(self.rabbit.url())

    def broker_url(self, broker: str = "redis") -> str:
        return self.rabbit_url() if broker == "rabbitmq" else self.redis.url(BROKER_DB)

    def worker_env(self, **extra: str) -> dict[str, str]:
        """Environment of every worker: the project's settings and the baselines'."""
        return (
            dict(os.environ)
            | {
                "BROADCASTER_REDIS_URL": self.redis.url(STORE_DB),
                "BROADCASTER_BROKER_URL": self.redis.url(BROKER_DB),
                "BROADCASTER_REPLAI_BASE_URL": self.box.url,
                "BROADCASTER_REPLAI_TOKEN": TOKEN,
                "BROADCASTER_KEY_PREFIX": "bc",
                "BROADCASTER_QUEUE": PROJECT_QUEUE,
                # the sandbox's throttle is off unless a row sets one: the account's and the
                # senders' limits are lifted to match, so a campaign's own rate sets the pace
                "BROADCASTER_RATE_WABA_PER_MINUTE": UNLIMITED,
                "BROADCASTER_RATE_DEVICE_PER_MINUTE": UNLIMITED,
                "BROADCASTER_SENDER_RATE": f"{UNLIMITED}/min",
                "BENCH_BROKER_URL": self.redis.url(BROKER_DB),
                "BENCH_SANDBOX_URL": self.box.url,
                "BENCH_READY_URL": self.redis.url(READY_DB),
                "PYTHONPATH": os.pathsep.join(dict.fromkeys([str(PROJECT), str(ROOT)])),
            }
            | extra
        )

    def store_client(self) -> "redis.Redis":
        return self.redis.client(STORE_DB)

    def broker_client(self) -> "redis.Redis":
        return self.redis.client(BROKER_DB)

    def ready_client(self) -> "redis.Redis":
        return self.redis.client(READY_DB)

    def clean(self) -> None:
        """Empty the store and the broker, forget the sandbox's sends."""
        self.store_client().flushdb()
        self.broker_client().flushdb()
        if self.rabbit is not None:
            from kombu import Connection

            with Connection(self.rabbit.url()) as connection:
                with contextlib.suppress(Exception):  # no queue yet: nothing to purge
                    connection.default_channel.queue_purge(PROJECT_QUEUE)
        self.box.reset()

    def start_project_task(self, name: str, *args: Any, broker: str = "redis") -> None:
        """Publish one of the project's tasks by name, on the session's broker."""
        from celery import Celery

        app = Celery("bench-client", broker=self.broker_url(broker), set_as_current=False)
        app.conf.broker_connection_retry_on_startup = True
        with app:
            app.send_task(name, args=args, queue=PROJECT_QUEUE)

    @contextmanager
    def client_env(self, **extra: str) -> Iterator[None]:
        """This process as an application of the session's deployment (`enqueue_broadcast()`
        reads its settings from the environment), the environment restored after.

        `get_settings` is read again on the way in and out; `workers.app` keeps the broker of
        the first session that imported it: every row of one `python -m bench` shares one.
        """
        from broadcaster.settings import get_settings

        saved = dict(os.environ)
        os.environ.update(self.worker_env(**extra))
        get_settings.cache_clear()  # read again, with this row's settings
        try:
            yield
        finally:
            os.environ.clear()
            os.environ.update(saved)
            get_settings.cache_clear()

    def project_workers(
        self, processes: int, pool: str = "threads", concurrency: int = 32, **extra: str
    ) -> Any:
        """The project's worker processes (`celery -A workers.app worker`), ready."""
        cmd = celery_worker_cmd("workers.app", pool, concurrency)
        return workers(cmd, self.worker_env(**extra), processes, self.ready_client(), name="bc")


@contextmanager
def session(*, latency_ms: int = 0) -> Iterator[Session]:
    with redis_server() as server, sandbox_process(latency_ms=latency_ms) as box:
        session = Session(server, box)
        try:
            yield session
        finally:
            if session.rabbit is not None:
                session.rabbit.stop()
                shutil.rmtree(session.rabbit.dir.parent, ignore_errors=True)


@contextmanager
def profiling(pids: Sequence[int], stem: str, rate: int = 250) -> Iterator[list[str]]:
    """py-spy record every process in `pids` (and its subprocesses) while the block runs.

    Writes collapsed stacks (`--format raw`) to `<stem>-<i>.raw`. Only the thread holding
    the GIL is sampled (`--gil`): in a threads pool the other threads wait in C (a lock, a
    socket), which py-spy would otherwise count as busy. Stopped with SIGINT, on which py-spy
    writes its file.
    """
    paths = [f"{stem}-{i}.raw" for i in range(len(pids))]
    spies = [subprocess.Popen(_spy(pid, path, rate), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
             for pid, path in zip(pids, paths, strict=True)]  # fmt: skip
    time.sleep(1.0)  # attached before the work starts
    try:
        yield paths
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)
        for spy in spies:
            try:
                spy.wait(30)
            except subprocess.TimeoutExpired:
                spy.kill()


def _spy(pid: int, path: str, rate: int) -> list[str]:
    exe = str(Path(sys.executable).parent / "py-spy")
    return [exe, "record", "-p", str(pid), "--format", "raw", "-r", str(rate), "--gil",
            "--subprocesses", "-o", path]  # fmt: skip
