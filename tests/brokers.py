"""The Celery brokers the tests run on: the tests' own Redis, and RabbitMQ.

RabbitMQ is the one at `BC_TEST_AMQP_URL` (default `amqp://guest:guest@127.0.0.1:5672`, as on
the development machines and in CI). It is shared, so the session makes a vhost of its own
(`rabbitmqctl add_vhost`, or the management API when `rabbitmqctl` cannot reach the node)
and deletes it at the end, with every queue and exchange in it: nothing is left behind and
nothing of anybody else's is touched. Without a reachable RabbitMQ the tests that need it fail
when `CI` is set, and are skipped with the reason otherwise.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from typing import NamedTuple
from urllib.parse import quote, urlsplit

import httpx
import pytest
from celery import Celery

from broadcaster.settings import Settings

# workers.app builds its app from the settings when imported: the fixtures import it, once
# conftest has pointed the settings at the tests' own Redis
__all__ = ["Broker", "rabbitmq_app", "rabbitmq_broker", "rabbitmq_vhost", "redis_broker"]

AMQP_BASE = os.environ.get("BC_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672").rstrip("/")
#: The management API, tried when rabbitmqctl is missing or cannot reach the node.
MANAGEMENT_API = os.environ.get("BC_TEST_RABBITMQ_API", "http://127.0.0.1:15672/api")


class Broker(NamedTuple):
    """A broker for one test: its URL (workers get it) and an app that publishes to it."""

    kind: str
    url: str
    app: Celery

    def dispatch(self):
        """The dispatch launches and lifecycle actions use in the test process."""
        from workers.dispatch import CeleryDispatch

        return CeleryDispatch(self.app)


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"RabbitMQ is needed under CI: {reason}")
    pytest.skip(f"RabbitMQ tests skipped: {reason}")


def _reachable(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 5672), 2):
            return True
    except OSError:
        return False


class _Vhosts:
    """Adds and deletes vhosts with rabbitmqctl or the management API."""

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user, password
        self.ctl = shutil.which("rabbitmqctl")

    def _ctl(self, *args: str) -> bool:
        if self.ctl is None:
            return False
        done = subprocess.run([self.ctl, *args], capture_output=True, timeout=30)
        return done.returncode == 0

    def _api(self, method: str, path: str, body: object = None) -> bool:
        with contextlib.suppress(httpx.HTTPError):
            response = httpx.request(
                method, f"{MANAGEMENT_API}{path}", json=body, timeout=10,
                auth=(self.user, self.password),
            )  # fmt: skip
            return response.status_code in (200, 201, 204)
        return False

    def add(self, name: str) -> bool:
        everything = [".*", ".*", ".*"]
        if self._ctl("add_vhost", name):
            return self._ctl("set_permissions", "-p", name, self.user, *everything)
        vhost = quote(name, safe="")
        perms = dict(zip(("configure", "write", "read"), everything, strict=True))
        return self._api("PUT", f"/vhosts/{vhost}") and self._api(
            "PUT", f"/permissions/{vhost}/{quote(self.user, safe='')}", perms
        )

    def delete(self, name: str) -> None:
        if not self._ctl("delete_vhost", name):
            self._api("DELETE", f"/vhosts/{quote(name, safe='')}")


@pytest.fixture(scope="session")
def rabbitmq_vhost() -> Iterator[str]:
    """The URL of a vhost of this session's own on the test RabbitMQ (deleted at the end)."""
    if not _reachable(AMQP_BASE):
        _unavailable(f"nothing answers at {urlsplit(AMQP_BASE).netloc.rpartition('@')[2]}")
    parts = urlsplit(AMQP_BASE)
    vhosts = _Vhosts(parts.username or "guest", parts.password or "guest")
    name = f"bc-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    if not vhosts.add(name):
        _unavailable("cannot create a vhost (rabbitmqctl and the management API both failed)")
    try:
        yield f"{AMQP_BASE}/{quote(name, safe='')}"
    finally:
        vhosts.delete(name)


@pytest.fixture
def redis_broker(redis) -> Iterator[Broker]:
    """The tests' Redis, database 14 (emptied by the `redis` fixture)."""
    from workers.app import app

    yield Broker("redis", os.environ["BROADCASTER_BROKER_URL"], app)


@pytest.fixture(scope="session")
def rabbitmq_app(rabbitmq_vhost) -> Iterator[Celery]:
    """The session's app publishing to its vhost (one: kombu keeps its producer pools per
    broker URL for the whole process)."""
    from workers.app import create_app

    app = create_app(Settings(broker_url=rabbitmq_vhost))  # type: ignore[call-arg]
    yield app
    app.close()


@pytest.fixture
def rabbitmq_broker(redis, rabbitmq_vhost, rabbitmq_app) -> Broker:
    """The session's RabbitMQ vhost, its queue emptied before the test."""
    with rabbitmq_app.connection_for_write() as connection:
        queue = rabbitmq_app.amqp.queues[rabbitmq_app.conf.task_default_queue]
        queue.bind(connection.default_channel).declare()
        queue.bind(connection.default_channel).purge()
    return Broker("rabbitmq", rabbitmq_vhost, rabbitmq_app)
