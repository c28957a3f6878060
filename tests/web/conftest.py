"""Fixtures for the HTTP API: the real app (`create_app`) against the test Redis."""

import threading
import time
import warnings
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from broadcaster.settings import Settings
from broadcaster.web.app import create_app
from broadcaster.web.deps import get_dispatch
from tests import factories
from tests.conftest import (
    BROKER_DB,
    SANDBOX_TOKEN,
    STORE_DB,
    WORKER_STALE_AFTER,
    free_port,
    redis_url,
)

# Starlette's TestClient warns at import that it prefers httpx2, which is not installed here.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

API_KEY = "test-api-key"
WEBHOOK_SECRET = "hook-secret-123"
AUTH = {"X-API-Key": API_KEY}


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "api_keys": [API_KEY, "second-key"],
        "webhook_secret": WEBHOOK_SECRET,
        "redis_url": redis_url(STORE_DB),
        "broker_url": redis_url(BROKER_DB),
        "key_prefix": "bc",
        "replai_base_url": "http://127.0.0.1:9",
        "replai_token": SANDBOX_TOKEN,
    }
    return Settings(**(values | overrides))  # type: ignore[arg-type]


#: A Dispatch that records what the API handed to the workers (`calls`: campaign, indexes).
Recorder = factories.Published


@pytest.fixture
def store(redis):
    return factories.store(redis, stale_after=WORKER_STALE_AFTER)


@pytest.fixture
def dispatched() -> Recorder:
    return Recorder()


def build_app(dispatched: Recorder | None = None, **settings: object):
    app = create_app(make_settings(**settings))
    if dispatched is not None:
        app.dependency_overrides[get_dispatch] = lambda: dispatched
    return app


@pytest.fixture
def app(redis, dispatched):
    return build_app(dispatched)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    """A client with a valid API key."""
    with TestClient(app, headers=AUTH) as c:
        yield c


@pytest.fixture
def anon(app) -> Iterator[TestClient]:
    """A client without an API key."""
    with TestClient(app) as c:
        yield c


class LiveServer:
    """The app served by uvicorn in a thread, on a free loopback port."""

    def __init__(self, app) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", ws="none", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0, **kwargs)  # type: ignore[arg-type]


def csv_bytes(rows: list[list[str]], header: tuple[str, ...] = ("phone", "name")) -> bytes:
    lines = [",".join(header), *(",".join(row) for row in rows)]
    return ("\n".join(lines) + "\n").encode()
