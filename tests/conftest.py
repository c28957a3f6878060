"""Fixtures every test shares: a Redis of the tests' own, the sandbox, real workers.

The tests never touch a Redis they did not start: at the start of the session they start a
private `redis-server` on a free loopback port, in a temporary directory, without persistence
(stopped at the end), and point `BROADCASTER_REDIS_URL` and `BROADCASTER_BROKER_URL` at it,
for this process and every process the tests start. A Redis at 127.0.0.1:6379 is never used.
Without `redis-server` installed, set `BC_TEST_REDIS_URL` to a Redis the tests may empty (its
databases 14 and 15 are flushed); otherwise the Redis tests fail under `CI` and are skipped
elsewhere, saying so.
"""

import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

import httpx
import pytest
import redis as redis_lib

from tests.brokers import Broker, rabbitmq_app, rabbitmq_broker, rabbitmq_vhost, redis_broker

# fixtures, from tests.brokers
__all__ = ["rabbitmq_app", "rabbitmq_broker", "rabbitmq_vhost", "redis_broker"]

# A shell without job control starts a background command (`make test &`, a CI step run in the
# background) with SIGINT ignored, and every process the tests start would inherit that: the
# tests that press Ctrl-C on `broadcaster launch` and `broadcaster demo` would then wait for
# nothing. Python's own handler here makes the children start with the default disposition.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

SANDBOX_TOKEN = "sandbox-test-token"
#: A second static token: another Replai account for the sandbox's throttle.
SECOND_TOKEN = "sandbox-test-token-2"
#: The test workers' BROADCASTER_STALE_AFTER; stores that launch campaigns for them use it too.
WORKER_STALE_AFTER = 5.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_private_redis() -> str | None:
    """Start a redis-server for this test session; its base URL, or None when not installed."""
    exe = shutil.which("redis-server")
    if exe is None:
        return None
    port, folder = free_port(), tempfile.mkdtemp(prefix="broadcaster-test-redis-")
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--dir", folder, "--save", "",
         "--appendonly", "no", "--maxclients", "4000", "--loglevel", "warning"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip

    def stop() -> None:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(folder, ignore_errors=True)

    atexit.register(stop)
    client = redis_lib.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis_lib.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                code = proc.poll()
                raise RuntimeError(
                    f"the tests' redis-server did not start (exit {code})"
                ) from None
            time.sleep(0.02)
    client.close()
    return f"redis://127.0.0.1:{port}"


#: The tests' own Redis (a private redis-server, or BC_TEST_REDIS_URL), without a database.
TEST_REDIS = (
    re.sub(r"/\d*$", "", os.environ.get("BC_TEST_REDIS_URL", "")) or _start_private_redis()
)


def redis_url(db: int) -> str:
    return f"{TEST_REDIS or 'redis://127.0.0.1:1'}/{db}"


# The store uses db 15 and the Celery broker db 14, in this process and in workers it starts.
STORE_DB = 15
BROKER_DB = STORE_DB - 1
os.environ["BROADCASTER_REDIS_URL"] = redis_url(STORE_DB)
os.environ["BROADCASTER_BROKER_URL"] = redis_url(BROKER_DB)
# The sandbox runs with its throttle off unless a test turns it on, so the default account's
# throttle (Replai's 120/min by default) and the senders' rate (Meta's 80/s) are raised to
# match: campaigns' own rates set the pace.
# Tests of the throttle set both sides themselves.
ACCOUNT_RATE_PER_MINUTE = 600_000
os.environ["BROADCASTER_RATE_WABA_PER_MINUTE"] = str(ACCOUNT_RATE_PER_MINUTE)
os.environ["BROADCASTER_RATE_DEVICE_PER_MINUTE"] = str(ACCOUNT_RATE_PER_MINUTE)
os.environ["BROADCASTER_SENDER_RATE"] = f"{ACCOUNT_RATE_PER_MINUTE}/min"


@pytest.fixture
def redis() -> Iterator[redis_lib.Redis]:
    """The tests' Redis, store database, emptied before and after each test."""
    if TEST_REDIS is None:
        if os.environ.get("CI"):
            raise RuntimeError("redis-server is not installed and BC_TEST_REDIS_URL is not set")
        pytest.skip("install redis-server, or set BC_TEST_REDIS_URL to a Redis the tests own")
    client = redis_lib.Redis.from_url(redis_url(STORE_DB))
    broker = redis_lib.Redis.from_url(redis_url(BROKER_DB))
    client.flushdb()
    broker.flushdb()
    yield client
    client.flushdb()
    broker.flushdb()
    client.close()
    broker.close()


@pytest.fixture
def maxmemory(redis):
    """Set `maxmemory` (noeviction) on the tests' own redis-server: `maxmemory(free=bytes)` leaves
    that much room above what is used now, `maxmemory(0)` lifts the limit (done at the end)."""
    if os.environ.get("BC_TEST_REDIS_URL"):
        pytest.skip("changes the server's maxmemory: only on the tests' own redis-server")

    def limit(size: int | None = None, *, free: int | None = None) -> int:
        if free is not None:
            size = int(redis.info("memory")["used_memory"]) + free
        redis.config_set("maxmemory-policy", "noeviction")
        redis.config_set("maxmemory", str(size))
        return int(size or 0)

    yield limit
    redis.config_set("maxmemory", "0")


def wait_http(
    url: str, timeout: float = 15.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before serving {url}")
        try:
            httpx.get(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


class Sandbox:
    """A running sandbox process, reached over real HTTP on loopback."""

    def __init__(self, url: str, proc: subprocess.Popen[bytes]) -> None:
        self.url = url
        self.proc = proc
        self.http = httpx.Client(base_url=url, timeout=10.0)

    def reset(self) -> None:
        self.http.post("/_sandbox/reset").raise_for_status()

    def configure(self, **options: object) -> None:
        self.http.post("/_sandbox/config", json=options).raise_for_status()

    def sends(self, **params: object) -> dict:  # type: ignore[type-arg]
        response = self.http.get("/_sandbox/sends", params=params)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def sandbox_process() -> Iterator[Sandbox]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "broadcaster.sandbox",
            "--port",
            str(port),
            "--token",
            SANDBOX_TOKEN,
            "--token",
            SECOND_TOKEN,
            "--latency-ms",
            "0",
            "--seed",
            "1",
        ],
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/_sandbox/sends?summary=1", proc=proc)
        box = Sandbox(url, proc)
        yield box
        box.http.close()
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def sandbox(sandbox_process: Sandbox) -> Iterator[Sandbox]:
    """The session's sandbox, reset to its defaults for this test."""
    sandbox_process.reset()
    sandbox_process.configure(
        latency_ms=0,
        rate_limit_per_minute=None,
        webhook_url=None,
        fail_mode=None,
        down=False,
        throttle_window="fixed",
        token_rate_limits={},
        callbacks_first=False,
    )
    yield sandbox_process


class Workers:
    """Real Celery worker processes against the test Redis, a broker and the sandbox."""

    def __init__(self, redis: redis_lib.Redis, sandbox: Sandbox, broker_url: str) -> None:
        self.redis = redis
        self.env = os.environ | {
            "BROADCASTER_BROKER_URL": broker_url,
            "BROADCASTER_REPLAI_BASE_URL": sandbox.url,
            "BROADCASTER_REPLAI_TOKEN": SANDBOX_TOKEN,
            "BROADCASTER_REPLAI_TIMEOUT": "3",
            "BROADCASTER_LEASE": "10",
            "BROADCASTER_STALE_AFTER": str(WORKER_STALE_AFTER),
            "BROADCASTER_PAIR_INTERVAL": "1",
            "BROADCASTER_BACKOFF_BASE": "0.5",
        }
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str = "w1", *, concurrency: int = 8, pool: str = "threads", **env: str):
        cmd = [
            sys.executable, "-m", "celery", "-A", "workers.app", "worker", "-P", pool,
            "-c", str(concurrency), "-n", f"{name}@%h", "--without-gossip", "--without-mingle",
            "-l", "WARNING",
        ]  # fmt: skip
        proc = subprocess.Popen(cmd, env=self.env | env, start_new_session=True)
        self.procs[name] = proc
        deadline = time.monotonic() + 30
        key = f"bc:worker:*:{proc.pid}"
        while not list(self.redis.scan_iter(key)):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker {name} did not start (exit code {proc.poll()})")
            time.sleep(0.1)
        return proc

    def kill(self, name: str = "w1") -> None:
        proc = self.procs.pop(name)
        os.killpg(proc.pid, 9)
        proc.wait(10)
        self.redis.delete(*self.redis.keys(f"bc:worker:*:{proc.pid}") or ["-"])

    def stop_all(self) -> None:
        for name in list(self.procs):
            proc = self.procs.pop(name)
            os.killpg(proc.pid, 15)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait(5)


@pytest.fixture
def broker(redis_broker: Broker) -> Broker:
    """The Celery broker of a test: the tests' Redis (tests/test_pipeline.py runs on both)."""
    return redis_broker


@pytest.fixture
def workers(redis: redis_lib.Redis, sandbox: Sandbox, broker: Broker) -> Iterator[Workers]:
    pool = Workers(redis, sandbox, broker.url)
    yield pool
    pool.stop_all()
