"""Outbound events end to end: enqueue_broadcast(events_url=...) -> real Celery workers ->
a real HTTP receiver on loopback, signatures checked with the Standard Webhooks library."""

import collections
import time

import pytest

from broadcaster import enqueue
from tests import factories
from tests.conftest import WORKER_STALE_AFTER
from tests.event_receiver import SECRET, Receiver

pytestmark = pytest.mark.slow

#: Fast retries and a short POST timeout, so a test sees several attempts in seconds.
EVENTS_ENV = {"BROADCASTER_EVENTS_BACKOFF_BASE": "0.05", "BROADCASTER_EVENTS_TIMEOUT": "1"}


def launch(redis, broker, n: int, url: str) -> str:
    rows = [{"phone": factories.phone(i), "name": f"N{i}"} for i in range(n)]
    result = enqueue.enqueue_broadcast(
        rows, sender="waba-1", text="Halo {name}", rate_per_minute=60_000.0,
        store=factories.store(redis, stale_after=WORKER_STALE_AFTER),
        dispatch=broker.dispatch(), events_url=url, events_secret=SECRET,
    )  # fmt: skip
    return result.campaign.id


def wait_events(receiver: Receiver, count: int, timeout: float = 40.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = receiver.unique()
        if len(got) >= count:
            return got
        time.sleep(0.1)
    raise AssertionError(f"{len(receiver.unique())} of {count} events arrived")


def test_a_receiver_failing_five_times_gets_each_event_once_per_id(redis, broker, workers):
    workers.start("w1", **EVENTS_ENV)
    with Receiver(fail=5, status=503) as receiver:
        cid = launch(redis, broker, 20, receiver.url)
        got = wait_events(receiver, 22)
        time.sleep(1.0)  # nothing more comes
        assert len(receiver.unique()) == 22
    assert receiver.attempts == 5 + len(receiver.received)
    events = [r.verified() for r in got.values()]  # the spec's reference verification
    kinds = collections.Counter(e["type"] for e in events)
    assert kinds == {"campaign.started": 1, "recipient.sent": 20, "campaign.completed": 1}
    assert {e["data"]["recipient"] for e in events if "recipient" in e["data"]} == set(range(20))
    assert all(e["data"]["campaign_id"] == cid for e in events)
    ordered = [r.event["type"] for r in receiver.received]
    assert ordered[0] == "campaign.started" and ordered[-1] == "campaign.completed"


def test_workers_killed_during_delivery_lose_no_event(redis, broker, workers):
    workers.start("w1", **EVENTS_ENV)
    with Receiver(delay=0.05) as receiver:
        launch(redis, broker, 60, receiver.url)
        wait_events(receiver, 5)
        workers.kill("w1")  # SIGKILL, mid-delivery
        assert len(receiver.unique()) < 62
        workers.start("w2", **EVENTS_ENV)
        got = wait_events(receiver, 62)
    events = [r.verified() for r in got.values()]
    kinds = collections.Counter(e["type"] for e in events)
    assert kinds["campaign.started"] == kinds["campaign.completed"] == 1
    # a send cut by the kill ends `unknown`: still one event for each recipient
    assert {e["data"]["recipient"] for e in events if "recipient" in e["data"]} == set(range(60))
