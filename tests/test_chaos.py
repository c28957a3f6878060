"""The chaos harness, short version, inside `make test` (the full one is `make chaos`).

`python -m bench.chaos --short`: 1,500 recipients through two worker processes on a private
redis-server with AOF, while workers are SIGKILLed every few seconds, the sandbox answers
5 s of 429s and 5 s of 500s, is down for 5 s, Redis is killed and restarted from its AOF,
latency goes beyond the client timeout for 3 s, and the sandbox process is killed and
restarted. See `bench/chaos.py` for how each is done and what is checked.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(300)
def test_short_chaos_run_sends_nobody_twice_and_leaves_nobody_open(tmp_path):
    out = tmp_path / "chaos.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench.chaos", "--short", "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    log = proc.stdout[-4000:] + proc.stderr[-2000:]
    assert out.exists(), log
    result = json.loads(out.read_text())
    assert result["duplicates"] == 0 and result["duplicate_phones"] == 0, log
    assert result["completed"] and result["non_terminal"] == 0, log
    assert sum(result["counts"].values()) == result["n"] == 1500
    assert result["unknown"] <= result["unknown_bound"]["total"], log
    assert result["sent_not_received"] == 0 and result["received_not_accounted"] == 0, log
    assert result["kills"] >= 2 and result["redis_crashes"] == 1, log
    assert result["sandbox_stops"] == 1, log
    ran = {e["event"] for e in result["events"]}
    for event in ("429 storm begins", "500 storm begins", "sandbox down (503)",
                  "Redis restarted from its AOF", "latency spike begins",
                  "sandbox process restarted"):  # fmt: skip
        assert event in ran, (event, log)
    assert result["ok"] and proc.returncode == 0, log


def test_each_unknown_that_never_reached_the_sandbox_is_put_to_the_fault_it_met():
    from bench.chaos_faults import attribute, windows

    events = [
        {"t": 5.0, "event": "Redis SIGSTOP"},
        {"t": 15.0, "event": "Redis SIGCONT"},
        {"t": 16.0, "event": "SIGKILL worker"},
        {"t": 40.0, "event": "latency spike begins"},
        {"t": 44.0, "event": "latency spike ends"},
        {"t": 60.0, "event": "Redis full (maxmemory, noeviction)"},
        {"t": 70.0, "event": "Redis has room again"},
        {"t": 100.0, "event": "sandbox process killed"},  # not restarted: open to the end
    ]
    faults = windows(events)
    assert (60.0, 70.0, "Redis full") in faults
    assert (100.0, float("inf"), "sandbox stopped") in faults
    rows = [
        (31.0, True),  # lease of 15 s expired at 31 s: the kill at 16 s ended its worker
        (45.0, False),  # client timeout of 2 s during the spike
        (12.0, False),  # a timeout inside the pause, nothing else around: the pause's
        (71.0, False),  # Redis full, just over
        (92.0, True),  # lost, no kill in the 15 s before: no fault explains it
        (300.0, False),  # the sandbox still stopped
    ]
    found = attribute(rows, faults, lease=15.0, timeout=2.0)
    assert found == {"worker kill": 1, "latency spike": 1, "Redis paused": 1, "Redis full": 1,
                     "no fault": 1, "sandbox stopped": 1}  # fmt: skip
