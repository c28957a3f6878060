"""`broadcaster demo` end to end (the bounded smoke test of `make demo ARGS=--exit`), and its
Ctrl-C: everything it started stops."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from broadcaster.cli import app
from broadcaster.cli.processes import web_app_available

BIN = str(Path(sys.executable).parent / "broadcaster")
ROOT = Path(__file__).resolve().parents[1]
ENV = os.environ | {"COLUMNS": "160"}


def ports_in(output: str) -> set[int]:
    return {int(p) for p in re.findall(r"http://127\.0\.0\.1:(\d+)/", output)}


def closed(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def count(output: str, label: str) -> int:
    match = re.search(r"[│|]\s*" + re.escape(label) + r"\s*[│|]\s*(\d+)", output)
    assert match, f"no {label!r} line in the report"
    return int(match.group(1))


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_demo_exit_runs_the_whole_pipeline_and_reports(redis):
    started = time.monotonic()
    done = subprocess.run(
        [BIN, "demo", "--exit"], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=150
    )
    elapsed = time.monotonic() - started
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-3000:]
    assert elapsed < 120, f"the demo took {elapsed:.0f} s"
    assert "202 rows -> 198 recipients (1 duplicate, 0 suppressed, 3 rejected)" in out
    assert "rejected line 42: empty phone" in out
    assert "completed" in out
    assert count(out, "recipients") == 198
    assert count(out, "failed") >= 2
    assert "131026" in out and "131047" in out
    assert "Flower    http://127.0.0.1:" in out
    assert out.rstrip().endswith("Stopped everything the demo started.")
    if web_app_available():
        assert count(out, "delivered") >= 190
        assert count(out, "replies") == 2
        assert count(out, "opted out (replied with a stop word)") == 1
        assert "reply from +62*******0009: STOP" in out
        assert "OpenAPI   http://127.0.0.1:" in out
    assert all(closed(p) for p in ports_in(out)), "a service the demo started still listens"
    assert [k for k in redis.keys() if not k.startswith(b"bcdemo:")] == []


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_ctrl_c_stops_everything_the_demo_started(redis):
    proc = subprocess.Popen(
        [BIN, "demo"], cwd=ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    lines = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        assert any("Press Ctrl-C" in line for line in lines), "".join(lines)
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    out = "".join(lines) + rest
    assert proc.returncode == 0, out[-2000:] + err[-2000:]
    assert "Stopped everything the demo started." in out
    assert all(closed(p) for p in ports_in(out))


def test_demo_with_a_missing_contact_file_is_one_error_line(tmp_path):
    result = CliRunner().invoke(app, ["demo", "--exit", "--contacts", str(tmp_path / "x.csv")])
    assert result.exit_code == 1
    assert result.stderr == f"error: contact file not found: {tmp_path / 'x.csv'}\n"
