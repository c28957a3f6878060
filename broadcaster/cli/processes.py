"""Child processes the demo starts, waits for, watches and stops.

Each child runs in its own session (process group), so the terminal's Ctrl-C reaches only
the demo, which then stops the children itself: SIGTERM to each group, SIGKILL to whatever
is left after a grace period. On Linux a child also gets SIGTERM if the demo dies without
cleaning up (PR_SET_PDEATHSIG), so nothing is left running behind a killed demo.
"""

import contextlib
import dataclasses
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

import httpx

__all__ = ["WEB_APP", "Child", "ChildProcesses", "ServiceFailed", "free_port", "web_app_available"]

#: Seconds the children get to stop after SIGTERM before they are killed.
DEFAULT_GRACE = 10.0
#: The web app factory, for uvicorn.
WEB_APP = "broadcaster.web.app:create_app"
_PR_SET_PDEATHSIG = 1


class ServiceFailed(Exception):
    """A child did not start, or stopped on its own; the message names it and its log."""


def free_port() -> int:
    """A TCP port free on the loopback interface right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def web_app_available() -> bool:
    """True when the HTTP API (broadcaster.web.app) is installed."""
    try:
        return importlib.util.find_spec(WEB_APP.split(":")[0]) is not None
    except ImportError:
        return False


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclasses.dataclass(slots=True)
class Child:
    """One started program and its log file."""

    name: str
    proc: "subprocess.Popen[bytes]"
    log: Path
    log_file: IO[bytes]

    def tail(self, lines: int = 5) -> str:
        """The last lines of the log, on one line, for an error message."""
        try:
            text = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(line.strip() for line in text[-lines:])

    def failure(self, what: str) -> ServiceFailed:
        """An error naming the child, what went wrong, its log and the log's last lines."""
        tail = self.tail()
        return ServiceFailed(
            f"{self.name} {what}; log: {self.log}" + (f": {tail}" if tail else "")
        )


class ChildProcesses:
    """Starts programs with one environment and working directory, logging to files."""

    def __init__(self, env: Mapping[str, str], log_dir: Path) -> None:
        self.env = dict(env)
        self.log_dir = log_dir
        self.children: list[Child] = []

    def start(self, name: str, argv: list[str]) -> Child:
        """Start `argv` in its own session, output to `<log_dir>/<name>.log`."""
        log = self.log_dir / f"{name}.log"
        log_file = log.open("wb")
        proc = subprocess.Popen(
            argv, env=self.env, cwd=self.log_dir, stdin=subprocess.DEVNULL, stdout=log_file,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent,
        )  # fmt: skip
        child = Child(name, proc, log, log_file)
        self.children.append(child)
        return child

    def wait_until(
        self, child: Child, ready: Callable[[], bool], *, deadline: float, what: str
    ) -> None:
        """Poll `ready` until it is true; raise ServiceFailed if the child exits or time is up."""
        while not ready():
            if child.proc.poll() is not None:
                raise child.failure(f"exited with code {child.proc.returncode} before {what}")
            if time.monotonic() > deadline:
                raise child.failure(f"did not get to {what} in time")
            time.sleep(0.1)

    def wait_http(self, child: Child, url: str, *, deadline: float) -> None:
        """Wait until `url` answers with any HTTP status."""

        def answers() -> bool:
            try:
                httpx.get(url, timeout=1.0)
            except httpx.TransportError:
                return False
            return True

        self.wait_until(child, answers, deadline=deadline, what=f"answering at {url}")

    def check_alive(self) -> None:
        """Raise ServiceFailed when a child has stopped on its own."""
        for child in self.children:
            if child.proc.poll() is not None:
                raise child.failure(f"stopped unexpectedly (exit code {child.proc.returncode})")

    def stop_all(self, grace: float = DEFAULT_GRACE) -> None:
        """SIGTERM every child's process group, wait up to `grace` s, SIGKILL the rest."""
        for child in self.children:
            if child.proc.poll() is None:
                _signal_group(child.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for child in self.children:
            try:
                child.proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(child.proc.pid, signal.SIGKILL)
                child.proc.wait()
            finally:
                _signal_group(child.proc.pid, signal.SIGKILL)  # anything it left in its group
                child.log_file.close()
        self.children.clear()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
