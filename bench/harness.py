"""Shared pieces of the benchmarks: processes on loopback, CPU accounting, medians."""

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import httpx

TOKEN = "bench-token"


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


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its (live and reaped) children, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in [pid, *_children(pid)]:
        try:
            fields = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        # utime stime cutime cstime are fields 14-17 (1-based) of stat; after ')' they are 11-14
        total += sum(int(x) for x in fields[11:15]) / ticks
    return total


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            kids = open(f"/proc/{pid}/task/{tid}/children").read().split()
            out.extend(int(k) for k in kids)
    except FileNotFoundError:
        return out
    for kid in list(out):
        out.extend(_children(kid))
    return out


@contextmanager
def process(
    cmd: Sequence[str], env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        list(cmd), env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield proc
    finally:
        try:
            os.killpg(proc.pid, 15)
            proc.wait(15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(proc.pid, 9)
            proc.wait(5)


@contextmanager
def sandbox(*, latency_ms: int = 0, rate_limit: str = "0") -> Iterator[str]:
    port = free_port()
    cmd = [
        sys.executable, "-m", "broadcaster.sandbox", "--port", str(port), "--token", TOKEN,
        "--latency-ms", str(latency_ms), "--rate-limit", rate_limit,
    ]  # fmt: skip
    with process(cmd):
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/_sandbox/sends?summary=1")
        yield url


def median_range(values: Sequence[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)
