"""`broadcaster worker`: the Celery worker it runs is started again when it exits on its own,
and a SIGTERM (a deploy) stops it gracefully, once."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SANDBOX_TOKEN

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent / "broadcaster"


def worker_pids(redis) -> set[int]:
    return {int(k.rsplit(b":", 1)[1]) for k in redis.scan_iter("bc:worker:*")}


def wait_for(predicate, timeout=40.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout}s")


@pytest.fixture
def supervised(redis, sandbox, tmp_path):
    log = tmp_path / "worker.log"
    env = os.environ | {
        "BROADCASTER_REPLAI_BASE_URL": sandbox.url,
        "BROADCASTER_REPLAI_TOKEN": SANDBOX_TOKEN,
    }
    command = [str(BIN)] if BIN.exists() else [sys.executable, "-m", "broadcaster.cli"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [*command, "worker", "-c", "2", "-l", "WARNING", "--without-gossip",
             "--without-mingle"],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        yield proc, log
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        for pid in worker_pids(redis):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_a_worker_that_exits_is_started_again_and_sigterm_stops_it_once(redis, supervised):
    proc, log = supervised
    (first,) = wait_for(lambda: worker_pids(redis))
    os.kill(first, signal.SIGKILL)  # as the OOM killer would
    redis.delete(*redis.keys(f"bc:worker:*:{first}"))
    (second,) = wait_for(lambda: worker_pids(redis) - {first})
    text = log.read_text()
    assert f"worker process {first} exited unexpectedly (killed by SIGKILL)" in text, text
    assert "restarting in 1 s (restart 1)" in text
    assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)  # a deploy: graceful stop, no restart
    assert proc.wait(30) == 0
    text = log.read_text()
    assert "SIGTERM: stopping the worker" in text
    assert f"worker process {second} stopped (exit code 0)" in text
    assert "restart 2" not in text
    with pytest.raises(ProcessLookupError):
        os.kill(second, 0)


def test_a_worker_with_a_wrong_configuration_is_not_started_again():
    code = (
        "import logging, sys\n"
        "from broadcaster.cli.supervisor import Supervisor\n"
        "logging.basicConfig(level=logging.INFO)\n"
        "worker = [sys.executable, '-c', 'raise SystemExit(78)']\n"
        "sys.exit(Supervisor(worker, max_backoff=1).run())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.returncode == 78
    assert "wrong configuration, not restarted" in done.stderr
    assert "restarting" not in done.stderr
