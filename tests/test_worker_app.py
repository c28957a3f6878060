import os
import subprocess
import sys


def test_worker_without_replai_credentials_exits_with_one_line():
    env = {k: v for k, v in os.environ.items() if not k.startswith("BROADCASTER_REPLAI")}
    cmd = [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "-P", "threads",
           "-c", "1", "-l", "WARNING"]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=50)
    assert done.returncode == 1
    assert "error: set BROADCASTER_REPLAI_TOKEN" in done.stderr


def test_celery_app_uses_the_configured_queue():
    code = "from workers.app import app; print(app.conf.task_default_queue)"
    env = os.environ | {"BROADCASTER_QUEUE": "campaigns-eu"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "campaigns-eu"
