"""The processes the chaos and soak harnesses start, each of their own on a free loopback port:
a redis-server (restartable, pausable, fillable), the Replai sandbox (its send log survives a
real stop), a RabbitMQ node, and `broadcaster worker` processes.
"""

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import redis

from broadcaster.store import CampaignStore

__all__ = [
    "TOKEN", "RabbitNode", "RedisServer", "SandboxProcess", "Workers", "free_port",
    "rabbitmq_installed",
]  # fmt: skip

TOKEN = "chaos-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_group(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
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

    def admin(self) -> "redis.Redis":
        return redis.Redis(port=self.port, socket_timeout=5, socket_connect_timeout=2)

    def start(self) -> None:
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.aof else []
        cmd = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.dir), "--save", "", *persistence, "--logfile", str(self.log),
            "--maxmemory-policy", "noeviction",
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
        stop_group(self.proc, signal.SIGKILL)

    def pause(self) -> None:
        """SIGSTOP: connections are accepted and commands wait, nothing is answered."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def fill(self) -> int:
        """`maxmemory` just under what is used (noeviction): every write needing memory is
        refused with OOM. Returns the limit set."""
        with contextlib.closing(self.admin()) as admin:
            limit = int(admin.info("memory")["used_memory"]) - 64 * 1024
            admin.config_set("maxmemory", str(limit))
        return limit

    def make_room(self) -> None:
        with contextlib.closing(self.admin()) as admin:
            admin.config_set("maxmemory", "0")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.resume()
            stop_group(self.proc)


class SandboxProcess:
    """The Replai sandbox on a fixed port; its send log survives a real restart.

    The sandbox records sends in memory, so a killed sandbox forgets them. Before a stop the
    harness sets `down: true` (a new send is answered 503 before anything is recorded), waits
    for the sends already inside to be recorded, saves `/_sandbox/sends`, and only then kills.
    """

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
        stop_group(self.proc, signal.SIGKILL)
        return len(sends)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            stop_group(self.proc)
        self.http.close()


def _rabbitmq_server() -> str:
    """The rabbitmq-server script itself (Debian's /usr/sbin one switches to another user)."""
    for candidate in (
        os.environ.get("BC_RABBITMQ_SERVER", ""),
        "/usr/lib/rabbitmq/bin/rabbitmq-server",
        shutil.which("rabbitmq-server") or "",
    ):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise SystemExit(
        "rabbitmq-server is not installed (Debian/Ubuntu: apt-get install rabbitmq-server)"
    )


def rabbitmq_installed() -> bool:
    try:
        _rabbitmq_server()
    except SystemExit:
        return False
    return True


class RabbitNode:
    """A RabbitMQ node of its own: its node name, ports, data and configuration in `workdir`
    (the machine's RabbitMQ, its configuration and its data are never touched). Restartable:
    durable queues and persistent messages survive."""

    def __init__(self, workdir: Path) -> None:
        self.port, self.dist_port = free_port(), free_port()
        self.dir = workdir / "rabbitmq"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.name = f"bcchaos{os.getpid()}@localhost"
        self.log = self.dir / "rabbitmq.log"
        self.proc: subprocess.Popen[bytes] | None = None
        (self.dir / "rabbitmq.conf").write_text(f"listeners.tcp.default = 127.0.0.1:{self.port}\n")
        (self.dir / "enabled_plugins").write_text("[].\n")
        (self.dir / "rabbitmq-env.conf").write_text("")

    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def start(self, timeout: float = 60.0) -> None:
        env = os.environ | {
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(self.dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.dir / "log"),
            "RABBITMQ_CONFIG_FILE": str(self.dir / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.dir / "enabled_plugins"),
            "RABBITMQ_CONF_ENV_FILE": str(self.dir / "rabbitmq-env.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.dir / "advanced.config"),
            "RABBITMQ_LOGS": "-",
        }
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [_rabbitmq_server()], env=env, start_new_session=True, stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        from kombu import Connection

        deadline = time.monotonic() + timeout
        while True:
            try:
                with Connection(self.url(), connect_timeout=1) as connection:
                    connection.ensure_connection(max_retries=1)
                return
            except Exception:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"RabbitMQ did not start; see {self.log}") from None
                time.sleep(0.25)

    def stop(self) -> None:
        """SIGTERM: RabbitMQ stops cleanly, keeping durable queues and persistent messages."""
        if self.proc is not None and self.proc.poll() is None:
            stop_group(self.proc)


class Workers:
    """`broadcaster worker` processes, one per name: each supervises a Celery worker (threads
    pool) and starts it again when it exits (after `max_backoff` s at most). Output, the
    supervisor's lines included, is appended to one log file per name."""

    STARTED = re.compile(rb"worker process (\d+) started")
    EXITED = re.compile(rb"worker process (\d+) exited unexpectedly \(([^)]*)\)")

    def __init__(
        self, workdir: Path, env: dict[str, str], store: CampaignStore, *, max_backoff: float = 1
    ) -> None:
        self.workdir, self.env, self.store = workdir, env, store
        self.max_backoff = max_backoff
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.concurrency: dict[str, int] = {}

    def log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def start(self, name: str, *, concurrency: int, timeout: float = 90.0) -> None:
        cmd = [
            sys.executable, "-m", "broadcaster.cli", "worker", "-c", str(concurrency),
            "-l", "WARNING", "--max-backoff", str(self.max_backoff), "-n", f"{name}@%h",
            "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        # a restart appends to the same log: the Celery process started last before this one
        # (its heartbeat may outlive it) is not the new one being ready
        previous = self.child(name) if self.log(name).exists() else None
        with open(self.log(name), "ab") as out:
            proc = subprocess.Popen(
                cmd, env=self.env, start_new_session=True, stdout=out, stderr=subprocess.STDOUT
            )
        self.procs[name], self.concurrency[name] = proc, concurrency
        self.wait_ready(name, after=previous, timeout=timeout)

    def child(self, name: str) -> int | None:
        """The Celery process the supervisor started last."""
        found = self.STARTED.findall(self.log(name).read_bytes())
        return int(found[-1]) if found else None

    def wait_ready(self, name: str, *, after: int | None = None, timeout: float = 90.0) -> int:
        """Wait for a Celery process (another than `after`) to write its heartbeat."""
        proc, deadline = self.procs[name], time.monotonic() + timeout
        while True:
            pid = self.child(name)
            if pid is not None and pid != after:
                with contextlib.suppress(redis.RedisError):
                    if self.store.redis.exists(self.store.keys.worker(f"{_host()}:{pid}")):
                        return pid
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker {name} did not start (exit code {proc.poll()})")
            time.sleep(0.1)

    def kill(self, name: str) -> int:
        """SIGKILL the Celery process, as an OOM killer would; its supervisor starts it again."""
        pid = self.child(name)
        assert pid is not None
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self, name: str, timeout: float = 60.0) -> int:
        """SIGTERM the supervisor (a deploy): the worker finishes the sends in hand and stops."""
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            stop_group(proc, signal.SIGKILL)
            return -9

    def stop_all(self) -> None:
        for name in list(self.procs):
            proc = self.procs.pop(name)
            stop_group(proc)
            child = self.child(name)
            if child is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)

    def pids(self) -> dict[str, int]:
        """The Celery process of each worker."""
        return {name: pid for name in self.procs if (pid := self.child(name)) is not None}

    def unexpected_exits(self, killed: set[int]) -> list[dict[str, Any]]:
        """Exits no one asked for: Celery processes the harness did not kill that exited
        (their supervisor says so), and supervisors that ended on their own."""
        out: list[dict[str, Any]] = []
        for path in sorted(self.workdir.glob("w*.log")):
            for pid, why in self.EXITED.findall(path.read_bytes()):
                if int(pid) not in killed:
                    out.append({"worker": path.stem, "pid": int(pid), "why": why.decode()})
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                out.append({"worker": name, "pid": proc.pid, "why": f"supervisor {proc.poll()}"})
        return out


def _host() -> str:
    return socket.gethostname()
