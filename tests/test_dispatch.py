"""Dispatch: how many recipients a campaign keeps in flight, and how they reach the queue."""

import base64
import dataclasses
import json
from types import SimpleNamespace

import pytest
import redis as redis_lib

from broadcaster import operations
from broadcaster.campaigns import CampaignState, dispatch_window
from broadcaster.errors import CampaignInvalid
from broadcaster.limits import Limits
from broadcaster.settings import Settings, get_settings
from tests import factories
from tests.conftest import BROKER_DB, redis_url
from workers.dispatch import FAN_OUT_MAX


@pytest.fixture
def store(redis):
    return factories.store(redis)


@pytest.mark.parametrize(
    ("limit", "per_minute", "batch", "window"),
    [
        (512, 6_000_000, 8, 512),  # unpaced: the configured limit
        (512, 1200, 8, 40),  # 20 a second: what 2 s of slots can send
        (512, 60, 8, 8),  # 1 a second: one task's worth, not 2
        (4, 1200, 8, 4),  # never above the configured limit
        (512, 0.5, 1, 1),
    ],
)
def test_dispatch_window_is_what_the_rate_can_send_within_the_slot_horizon(
    limit, per_minute, batch, window
):
    assert dispatch_window(limit, per_minute, batch) == window


@pytest.mark.parametrize(("senders", "window"), [(1, 80), (2, 160), (4, 160), (4 * 64, 160)])
def test_a_pools_window_holds_twice_its_slot_horizon(senders, window):
    """A pool's recipients spread over its senders by hash: at 40/s in all, 2 s of the
    pool's sends would leave some sender short about half the time (bench.pool)."""
    assert dispatch_window(512, 2400, 8, senders=senders) == window
    assert dispatch_window(100, 2400, 8, senders=senders) == min(100, window)


def test_launch_sizes_the_window_from_the_campaigns_tightest_limit(store):
    """Replai's default throttle (120/min on WABA routes) and Meta's 80/s per sender."""
    settings = Settings(_env_file=None, rate_waba_per_minute=120, sender_rate="80/s")
    defaults = operations.LaunchDefaults.from_settings(settings)

    def window_of(window=None, **fields):
        result = operations.launch(
            store, factories.Published(), [{"phone": factories.phone(i)} for i in range(3)],
            operations.CampaignRequest(sender="waba-1", text="Halo", **fields),
            defaults=defaults, window=window,
        )  # fmt: skip
        return int(store.redis.hget(store.keys.campaign(result.campaign.id), "window"))

    assert window_of(rate_per_minute=60) == settings.send_batch  # 2 in 2 s: one batch
    # no rate of its own: the account's (120/min: 4 in 2 s, so one batch)
    assert window_of() == settings.send_batch
    with pytest.raises(CampaignInvalid, match="more than account 'default'"):
        window_of(rate_per_minute=1200)
    fast = dataclasses.replace(defaults, limits=Limits.from_settings(
        Settings(_env_file=None, rate_waba_per_minute=600_000, sender_rate="80/s")))  # fmt: skip
    defaults = fast
    assert window_of(rate_per_minute=1200) == 40  # what 20/s sends in 2 s
    assert window_of() == 160  # the sender's 80/s binds: 160 in 2 s
    # an explicit window is a limit too: it wins when smaller, the rate's cap when that is
    assert window_of(rate_per_minute=1200, window=7) == 7
    assert window_of(rate_per_minute=1200, window=1000) == 40


def _queued_tasks(queue: str) -> list[tuple[str, list[object]]]:
    broker = redis_lib.Redis.from_url(redis_url(BROKER_DB))
    messages = [json.loads(m) for m in reversed(broker.lrange(queue, 0, -1))]
    broker.close()
    return [(m["headers"]["task"], json.loads(base64.b64decode(m["body"]))[0]) for m in messages]


def test_publish_sends_queues_tasks_of_send_batch_recipients_carrying_ids_only(redis):
    from workers.tasks import app, publish_sends

    batch = get_settings().send_batch
    n = FAN_OUT_MAX + 3
    publish_sends("c1", range(n))
    tasks = _queued_tasks(app.conf.task_default_queue)
    assert [name for name, _ in tasks] == ["broadcaster.send_messages"] * len(tasks)
    assert [args for _, args in tasks] == [
        ["c1", list(range(start, min(start + batch, n)))] for start in range(0, n, batch)
    ]
    publish_sends("c1", [])
    assert len(_queued_tasks(app.conf.task_default_queue)) == len(tasks)


def test_a_small_release_is_one_task_sent_side_by_side(redis):
    from workers.tasks import app, publish_sends

    publish_sends("c1", range(10))
    [message] = redis_lib.Redis.from_url(redis_url(BROKER_DB)).lrange(
        app.conf.task_default_queue, 0, -1
    )
    body = json.loads(base64.b64decode(json.loads(message)["body"]))
    assert body[0] == ["c1", list(range(10))] and body[1] == {"fan_out": True}
    publish_sends("c1", range(20, 25))  # a larger campaign's refill: one batch, as before
    assert _queued_tasks(app.conf.task_default_queue)[-1] == (
        "broadcaster.send_messages",
        ["c1", list(range(20, 25))],
    )


@pytest.mark.slow
def test_a_batch_delivered_twice_sends_each_recipient_once(store, sandbox, workers):
    from workers.tasks import publish_sends

    sandbox.configure(rate_limit_per_minute=0)
    c = store.create(
        factories.campaign(rate_per_minute=600_000), factories.contacts(20), window=20
    )
    released = store.start(c.id)
    assert sorted(released) == list(range(20))
    publish_sends(c.id, released)
    publish_sends(c.id, reversed(released))  # a redelivery, in another order
    workers.start("w1", concurrency=4)
    _wait(lambda: store.get(c.id).state == CampaignState.COMPLETED)
    assert store.counts(c.id)["sent"] == 20
    sends = sandbox.sends(summary=1)
    assert (sends["count"], sends["duplicates"]) == (20, 0)


def _wait(predicate, timeout=60.0):
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_an_error_on_one_recipient_of_a_batch_does_not_stop_the_others(monkeypatch):
    """A Redis blip is waited out and the recipient tried again; any other error on one
    recipient leaves the others their turn and is raised at the end."""
    from workers import tasks

    tried, published, blips = [], [], [1]

    def deliver(res, cid, index):
        tried.append(index)
        if index == 1 and blips:
            blips.pop()
            raise redis_lib.ConnectionError("Redis went away for a moment")
        if index == 2:
            raise ValueError("a bug in one recipient's send")
        return [10 + index]

    resources = SimpleNamespace(
        policy=SimpleNamespace(outage_patience=5.0), sleep=lambda seconds: None
    )
    monkeypatch.setattr(tasks, "deliver", deliver)
    monkeypatch.setattr(tasks.resources, "get", lambda: resources)
    monkeypatch.setattr(tasks, "publish_sends", lambda cid, idx: published.extend(idx))
    with pytest.raises(ValueError, match="one recipient"):
        tasks.send_messages.run("c1", [0, 1, 2, 3])
    assert tried == [0, 1, 1, 2, 3]
    assert published == [10, 11, 13]


def test_recipients_sent_side_by_side_are_each_prepared_alone_when_preparing_together_fails(
    monkeypatch,
):
    from workers import tasks

    tried: list[int] = []

    def prepare_many(res, cid, indexes):
        raise redis_lib.ConnectionError("Redis went away for a moment")

    resources = SimpleNamespace(
        policy=SimpleNamespace(outage_patience=5.0), sleep=lambda seconds: None
    )
    monkeypatch.setattr(tasks, "prepare_many", prepare_many)
    monkeypatch.setattr(tasks, "deliver", lambda res, cid, index: tried.append(index) or [])
    monkeypatch.setattr(tasks.resources, "get", lambda: resources)
    tasks.send_messages.run("c1", [0, 1, 2], fan_out=True)
    assert sorted(tried) == [0, 1, 2]


@pytest.mark.slow
def test_a_small_campaign_sent_side_by_side_twice_sends_each_recipient_once(
    store, sandbox, workers
):
    from workers.tasks import publish_sends

    sandbox.configure(rate_limit_per_minute=0)
    c = store.create(
        factories.campaign(rate_per_minute=600_000), factories.contacts(10), window=10
    )
    released = store.start(c.id)
    publish_sends(c.id, released)  # one task, its recipients prepared together
    publish_sends(c.id, released)  # delivered again
    workers.start("w1", concurrency=4)
    _wait(lambda: store.get(c.id).state == CampaignState.COMPLETED)
    assert store.counts(c.id)["sent"] == 10
    sends = sandbox.sends(summary=1)
    assert (sends["count"], sends["duplicates"]) == (10, 0)
