import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
import redis as redis_lib

SANDBOX_TOKEN = "sandbox-test-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def redis_url(db: int = 15) -> str:
    base = os.environ.get("BROADCASTER_REDIS_URL", "redis://127.0.0.1:6379/0")
    return base.rsplit("/", 1)[0] + f"/{db}"


@pytest.fixture
def redis() -> Iterator[redis_lib.Redis]:
    """A real Redis on db 15, emptied before and after each test."""
    client = redis_lib.Redis.from_url(redis_url(15))
    try:
        client.ping()
    except redis_lib.ConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip("Redis is not reachable; run the tests with `make test`")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


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
    )
    yield sandbox_process
