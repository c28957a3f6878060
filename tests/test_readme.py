"""The README's "Try it by hand" block, run as written, in bash, against the tests' Redis."""

import os
import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The loopback ports the block uses.
PORTS = (8099, 8077)


def block(section: str) -> str:
    """The first ```bash block under the README heading `section`."""
    text = (ROOT / "README.md").read_text()
    start = text.index(f"## {section}\n")
    match = re.compile(r"```bash\n(.*?)```", re.S).search(text, start)
    assert match, f"no bash block under {section!r}"
    return match.group(1)


def in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_try_it_by_hand_shows_delivered_and_read(redis, tmp_path):
    busy = [port for port in PORTS if in_use(port)]
    assert not busy, f"the README block needs ports {busy} free"
    script = block("Try it by hand")
    assert "make venv" in script and "kill %1 %2 %3" in script
    # the processes write their logs at the top of the clone: under other names, removed after
    env = os.environ | {"PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "-e", "-c", f"cd {ROOT} && {script.replace('.log', '.log.tmp')}"],
        env=env, capture_output=True, text=True, timeout=150, cwd=tmp_path,
    )  # fmt: skip
    logs = {p.name: p.read_text()[-2000:] for p in ROOT.glob("*.log.tmp")}
    for path in ROOT.glob("*.log.tmp"):
        path.unlink()
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-2000:], logs)
    assert "imported: 2 recipients" in done.stdout
    assert "completed {'read': 1, 'failed': 1}" in done.stdout, (done.stdout, logs)
    deadline = time.monotonic() + 15  # SIGTERM: the worker finishes its warm shutdown
    while any(in_use(port) for port in PORTS) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(in_use(port) for port in PORTS), "the block left a process listening"
    assert list(redis.scan_iter("bc:c:*")), "the campaign went to the tests' Redis"
