"""Operations: docker-compose.yml's structure (no Docker engine here), the Procfile's commands
really start, and Flower shows the send tasks with readable names and no phone numbers."""

import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from broadcaster import enqueue
from tests import factories
from tests.conftest import SANDBOX_TOKEN, WORKER_STALE_AFTER, free_port, wait_http
from workers.dispatch import CeleryDispatch

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = str(Path(sys.executable).parent)
APP_SERVICES = {"web", "worker", "flower", "sandbox"}
#: Keys of a service in the Compose specification that this file may use.
SERVICE_KEYS = {
    "build", "image", "command", "entrypoint", "environment", "env_file", "depends_on", "ports",
    "volumes", "healthcheck", "profiles", "restart", "stop_grace_period", "expose", "networks",
}  # fmt: skip
_INTERPOLATION = re.compile(r"\$\{([^}]*)\}")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:(?::?[-?+]).*)?", re.S)
AUTH = ("ops", "s3cret-pass")


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and line[0] != "#")


# --- docker-compose.yml ------------------------------------------------------------------------


def test_compose_services_and_their_keys(compose):
    services = compose["services"]
    assert set(services) == {"redis", "rabbitmq"} | APP_SERVICES
    for name, service in services.items():
        assert set(service) <= SERVICE_KEYS, (name, set(service) - SERVICE_KEYS)
        for port in service.get("ports", []):
            assert re.fullmatch(r"\d+:\d+", port), (name, port)
        for dependency in service.get("depends_on", {}):
            assert dependency in services, (name, dependency)


def test_compose_redis_keeps_an_aof_on_a_volume(compose):
    redis = compose["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    volume, _, mount = redis["volumes"][0].partition(":")
    assert mount == "/data"
    assert volume in compose["volumes"]
    assert redis["healthcheck"]["test"][0] == "CMD"


def test_compose_app_services_share_the_image_settings_and_wait_for_redis(compose):
    services = compose["services"]
    assert (ROOT / "Dockerfile").is_file()
    for name in APP_SERVICES:
        service = services[name]
        assert service["build"] == ".", name
        assert service["env_file"] == [{"path": ".env", "required": False}], name
        assert service["environment"]["BROADCASTER_REDIS_URL"] == "redis://redis:6379/0", name
        assert service["depends_on"]["redis"]["condition"] == "service_healthy", name


def test_compose_commands(compose):
    services = compose["services"]
    web = shlex.split(services["web"]["command"])
    assert web[:3] == ["uvicorn", "broadcaster.web.app:create_app", "--factory"]
    assert web[web.index("--port") + 1] == "8000" and services["web"]["ports"] == ["8000:8000"]
    worker = shlex.split(services["worker"]["command"])
    assert worker[:2] == ["broadcaster", "worker"]  # supervised; -E (task events) is its default
    assert shlex.split(services["flower"]["command"])[:4] == [
        "celery",
        "-A",
        "workers.app",
        "flower",
    ]


def test_compose_flower_auth_from_env_and_sandbox_in_the_demo_profile(compose):
    services = compose["services"]
    auth = services["flower"]["environment"]["FLOWER_BASIC_AUTH"]
    assert auth.startswith("${FLOWER_BASIC_AUTH:?")  # refuses to start without credentials
    assert services["sandbox"]["profiles"] == ["demo"]
    assert [n for n, s in services.items() if "profiles" in s] == ["sandbox", "rabbitmq"]
    assert "broadcaster sandbox" in services["sandbox"]["command"]


def test_compose_offers_rabbitmq_as_the_broker_in_a_profile(compose):
    services = compose["services"]
    rabbitmq = services["rabbitmq"]
    assert rabbitmq["profiles"] == ["rabbitmq"] and "ports" not in rabbitmq
    volume, _, mount = rabbitmq["volumes"][0].partition(":")
    assert mount == "/var/lib/rabbitmq" and volume in compose["volumes"]  # queues survive
    assert rabbitmq["healthcheck"]["test"][:2] == ["CMD", "rabbitmq-diagnostics"]
    for name in APP_SERVICES:  # waited for when the profile is on, ignored when it is not
        assert services[name]["depends_on"]["rabbitmq"] == {
            "condition": "service_healthy",
            "required": False,
        }, name
    redis = services["redis"]["command"]
    assert redis[redis.index("--maxmemory-policy") + 1] == "noeviction"


def test_compose_interpolations_are_well_formed():
    text = (ROOT / "docker-compose.yml").read_text()
    found = _INTERPOLATION.findall(text)
    assert found
    for expression in found:
        assert _VARIABLE.fullmatch(expression), expression


# --- Procfile ----------------------------------------------------------------------------------


def test_procfile_has_web_worker_and_flower():
    processes = procfile()
    assert {"web", "worker", "flower"} <= set(processes)
    assert "broadcaster.web.app:create_app --factory" in processes["web"]
    assert "$PORT" in processes["web"] or "${PORT" in processes["web"]


def _ready(name: str, proc, ports: dict[str, int], redis) -> None:
    base = "http://127.0.0.1"
    if name == "worker":  # supervised: the heartbeat is the Celery process's, a child
        deadline = time.monotonic() + 40
        while not redis.keys("bc:worker:*"):
            assert proc.poll() is None, f"worker exited with {proc.returncode}"
            assert time.monotonic() < deadline, "worker did not start"
            time.sleep(0.1)
    elif name == "web":
        wait_http(f"{base}:{ports['PORT']}/openapi.json", timeout=40, proc=proc)
    elif name == "flower":
        url = f"{base}:{ports['FLOWER_PORT']}"
        wait_http(f"{url}/healthcheck", timeout=40, proc=proc)
        assert httpx.get(f"{url}/api/workers").status_code == 401
        assert httpx.get(f"{url}/api/workers", auth=AUTH).status_code == 200
    elif name == "sandbox":
        wait_http(f"{base}:{ports['SANDBOX_PORT']}/_sandbox/config", timeout=40, proc=proc)
    else:
        pytest.fail(f"no readiness check for Procfile process {name!r}")


@pytest.mark.parametrize("name", sorted(procfile()))
def test_procfile_command_starts(name, redis, sandbox):
    ports = {"PORT": free_port(), "FLOWER_PORT": free_port(), "SANDBOX_PORT": free_port()}
    env = (
        os.environ
        | {k: str(v) for k, v in ports.items()}
        | {
            "PATH": VENV_BIN + os.pathsep + os.environ.get("PATH", ""),
            "BROADCASTER_REPLAI_BASE_URL": sandbox.url,
            "BROADCASTER_REPLAI_TOKEN": SANDBOX_TOKEN,
            "FLOWER_BASIC_AUTH": ":".join(AUTH),
        }
    )
    # as a process manager runs it: a shell expands ${VAR:-default}, then the program replaces it
    command = ["sh", "-c", "exec " + procfile()[name]]
    proc = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, start_new_session=True
    )
    try:
        _ready(name, proc, ports, redis)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


# --- Flower --------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_flower_shows_send_tasks_by_name_without_phone_numbers(redis, sandbox):
    sandbox.configure(rate_limit_per_minute=0)
    port = free_port()
    env = os.environ | {
        "BROADCASTER_REPLAI_BASE_URL": sandbox.url,
        "BROADCASTER_REPLAI_TOKEN": SANDBOX_TOKEN,
        "FLOWER_BASIC_AUTH": ":".join(AUTH),
    }
    flower = [sys.executable, "-m", "celery", "-A", "workers.app", "flower", f"--port={port}",
              "--address=127.0.0.1"]  # fmt: skip
    worker = [str(Path(VENV_BIN) / "broadcaster"), "worker", "-c", "2", "-n", "flowerw@%h",
              "--without-mingle", "-l", "WARNING"]  # fmt: skip
    procs = [subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL, start_new_session=True)
             for c in (flower, worker)]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/healthcheck", timeout=40, proc=procs[0])
        _wait(lambda: any(httpx.get(f"{url}/api/workers?status=true", auth=AUTH).json().values()))
        phones = [factories.phone(i) for i in range(5)]
        store = factories.store(redis, stale_after=WORKER_STALE_AFTER)
        result = enqueue.enqueue_broadcast(
            [{"phone": p, "name": "x"} for p in phones], sender="waba-1", text="Halo {name}",
            store=store, dispatch=CeleryDispatch(), rate_per_minute=60_000,
        )  # fmt: skip
        cid = result.campaign.id

        def sends():
            tasks = httpx.get(f"{url}/api/tasks", auth=AUTH).json().values()
            return [t for t in tasks if t["name"] == "broadcaster.send_messages"]

        # five recipients travel in one send_messages task (send_batch is 8)
        found = _wait(lambda: sends())
        shown = json.dumps(found)
        assert all(cid in t["args"] for t in found)
        assert any("[0, 1, 2, 3, 4]" in t["args"] for t in found), found
        assert not any(p in shown or p[2:] in shown for p in phones)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(20)


def _wait(predicate, timeout=40.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"condition not met within {timeout}s")
