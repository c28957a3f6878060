"""`broadcaster worker`: a Celery worker process, started again whenever it exits on its own.

A worker should outlive every fault of Redis and the broker by itself (workers/outages.py,
`broker_channel_error_retry`), so this is the last line: whatever still ends the Celery
process (a bug, a library's unrecoverable error, the OOM killer of a child), the supervisor
says so in its log and starts it again, waiting 1 s, then 2, 4 ... up to `max_backoff`
between tries (back to 1 s once a worker has run for `steady` seconds).

Signals are forwarded: SIGTERM (a deploy's graceful stop: Celery finishes the sends in hand)
and SIGINT/SIGQUIT stop the worker and then the supervisor, with the worker's exit code;
SIGHUP, SIGUSR1 and SIGUSR2 reach the worker and change nothing here. The worker runs in its
own process group (a terminal's Ctrl-C reaches it once, through the supervisor) and gets
SIGTERM if the supervisor dies (Linux: PR_SET_PDEATHSIG).

A worker that exits with EX_CONFIG (78: its configuration is wrong, it said why) is not
started again: trying again would not help.
"""

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType

__all__ = ["EX_CONFIG", "Supervisor"]

logger = logging.getLogger("broadcaster.worker")

#: The exit code of a worker whose configuration is wrong (sysexits.h): not restarted.
EX_CONFIG = 78
#: Signals that stop the worker and then the supervisor.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)
#: Signals passed on to the worker and nothing else.
PASSED_SIGNALS = (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class Supervisor:
    """Runs `argv` until told to stop, starting it again when it exits on its own.

    Args:
        argv: the worker's command line.
        max_backoff: the longest wait before starting a worker again (seconds).
        steady: a worker that ran this long was healthy: the next wait starts at 1 s again.
    """

    def __init__(self, argv: Sequence[str], *, max_backoff: float, steady: float = 60.0) -> None:
        self.argv = list(argv)
        self.max_backoff = max_backoff
        self.steady = steady
        self.stopping: int | None = None  # the stop signal received, if any
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    def run(self) -> int:
        """Supervise until a stop signal; returns the exit code to leave with."""
        for sig in (*STOP_SIGNALS, *PASSED_SIGNALS):
            signal.signal(sig, self._on_signal)
        backoff = 1.0
        while True:
            started = time.monotonic()
            self.proc = subprocess.Popen(
                self.argv, start_new_session=True, preexec_fn=_die_with_parent
            )
            logger.info("worker process %d started", self.proc.pid)
            code = self.proc.wait()
            if self.stopping is not None:
                logger.info("worker process %d stopped (exit code %d)", self.proc.pid, code)
                return code if code >= 0 else 128 - code
            if code == EX_CONFIG:
                logger.error(
                    "worker process %d: wrong configuration, not restarted", self.proc.pid
                )
                return EX_CONFIG
            if time.monotonic() - started >= self.steady:
                backoff = 1.0
            self.restarts += 1
            logger.error(
                "worker process %d exited unexpectedly (%s); restarting in %.0f s (restart %d)",
                self.proc.pid, _describe(code), backoff, self.restarts,
            )  # fmt: skip
            if self._sleep(backoff):
                return 0
            backoff = min(self.max_backoff, backoff * 2)

    def _sleep(self, seconds: float) -> bool:
        """Wait before a restart; True when a stop signal came meanwhile."""
        deadline = time.monotonic() + seconds
        while self.stopping is None and time.monotonic() < deadline:
            time.sleep(min(0.1, deadline - time.monotonic()))
        return self.stopping is not None

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if signum in STOP_SIGNALS and self.stopping is None:
            self.stopping = signum
            logger.info("%s: stopping the worker", signal.Signals(signum).name)
        proc = self.proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signum)


def _describe(code: int) -> str:
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"
