"""End to end: enqueue_broadcast -> Redis -> real Celery workers -> the sandbox over HTTP.

Every test runs twice: with Redis as the Celery broker, and with RabbitMQ (a vhost of the
session's own on the RabbitMQ at 127.0.0.1:5672, see tests/brokers.py).
"""

import itertools
import random
import time

import pytest

from broadcaster import enqueue, operations
from broadcaster.campaigns import CampaignState
from tests import factories
from tests.conftest import WORKER_STALE_AFTER

pytestmark = pytest.mark.slow
TERMINAL = {"sent", "delivered", "read", "failed", "skipped", "cancelled", "unknown"}


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request):
    return request.getfixturevalue(f"{request.param}_broker")


@pytest.fixture
def store(redis):
    return factories.store(redis, stale_after=WORKER_STALE_AFTER)


@pytest.fixture
def dispatch(broker):
    return broker.dispatch()


@pytest.fixture
def launch(store, dispatch):
    def launch(store, phones, *, rate=60_000.0, window=None, text="Halo {name}", **fields):
        rows = [{"phone": p, "name": f"N{i}"} for i, p in enumerate(phones)]
        result = enqueue.enqueue_broadcast(
            rows,
            sender=fields.pop("sender", "waba-1"),
            text=text,
            rate_per_minute=rate,
            window=window,
            store=store,
            dispatch=dispatch,
            **fields,
        )
        return result.campaign.id

    return launch


def wait_for(predicate, timeout=90.0, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


def wait_state(store, cid, *states, timeout=90.0):
    return wait_for(lambda: store.get(cid).state in states, timeout)


def assert_accounted(store, cid):
    campaign, counts = store.get(cid), store.counts(cid)
    assert sum(counts.values()) == campaign.total, counts
    open_ = {k: v for k, v in counts.items() if k not in TERMINAL and v}
    assert not open_, f"recipients not in a terminal state: {open_}"
    return counts


def test_campaign_of_2000_completes_with_exactly_one_send_each(store, sandbox, workers, launch):
    sandbox.configure(rate_limit_per_minute=0)
    workers.start("w1", concurrency=16)
    phones = [factories.phone(i) for i in range(2000)]
    cid = launch(store, phones)
    wait_state(store, cid, CampaignState.COMPLETED, timeout=120)
    counts = assert_accounted(store, cid)
    assert counts["sent"] == 2000
    sends = sandbox.sends(summary=1)
    assert sends["count"] == 2000
    assert sends["duplicates"] == 0
    assert set(sends["per_phone"].values()) == {1}
    assert len(sends["per_phone"]) == 2000


def test_killed_worker_never_causes_a_duplicate_send(store, sandbox, workers, launch):
    sandbox.configure(rate_limit_per_minute=0, latency_ms=20)
    concurrency = 8
    workers.start("w1", concurrency=concurrency)
    phones = [factories.phone(i) for i in range(3000)]
    cid = launch(store, phones, rate=30_000.0)
    for _ in range(3):
        done = store.counts(cid)["sent"]
        wait_for(lambda done=done: store.counts(cid)["sent"] > done + 300, timeout=60)
        workers.kill("w1")
        time.sleep(random.uniform(0.2, 1.0))
        workers.start("w1", concurrency=concurrency)
    wait_state(store, cid, CampaignState.COMPLETED, timeout=150)
    counts = assert_accounted(store, cid)
    sends = sandbox.sends(summary=1)
    assert sends["duplicates"] == 0
    assert max(sends["per_phone"].values()) == 1
    # the only recipients not sent are those whose request may have left when a worker died
    assert counts["unknown"] <= 3 * concurrency
    assert counts["sent"] + counts["unknown"] == 3000
    assert sends["count"] >= counts["sent"]


def test_two_workers_share_one_global_rate_limit(store, sandbox, workers, launch):
    sandbox.configure(rate_limit_per_minute=0)
    workers.start("w1", concurrency=8)
    workers.start("w2", concurrency=8)
    phones = [factories.phone(i) for i in range(260)]
    cid = launch(store, phones, rate=20 * 60)  # the window enqueue gives it: 40
    wait_state(store, cid, CampaignState.COMPLETED, timeout=60)
    times = sorted(s["t"] for s in sandbox.sends()["sends"])
    assert len(times) == 260
    busiest = max(sum(1 for u in times[i : i + 40] if u < t + 1.0) for i, t in enumerate(times))
    start = min(range(len(times) - 20), key=lambda i: times[i + 20] - times[i])
    span = times[start : start + 21]
    gaps = [round((b - a) * 1000, 1) for a, b in itertools.pairwise(span)]
    assert busiest <= 20, f"{busiest} sends in one 1-s window; from send {start}, gaps {gaps}"
    t0 = times[0]
    in_ten = sum(1 for t in times if t < t0 + 10.0)
    assert in_ten >= 0.95 * 200, f"only {in_ten} of 200 allowed sends in 10 s"


def test_scripted_failures_are_classified(store, sandbox, workers, launch):
    sandbox.configure(rate_limit_per_minute=0)
    workers.start("w1", concurrency=8)
    plain = [factories.phone(i) for i in range(20)]
    scripted = {
        "retried": [factories.phone(100 + i, suffix=s) for i, s in enumerate((2, 3, 7))],
        "failed": [factories.phone(200, suffix=1), factories.phone(201, suffix=6)],
    }
    cid = launch(store, plain + scripted["retried"] + scripted["failed"])
    wait_state(store, cid, CampaignState.COMPLETED, timeout=60)
    counts = assert_accounted(store, cid)
    rows = {r.phone: r for r in store.iter_rows(cid)}
    for phone in scripted["retried"]:
        assert rows[phone].status == "sent", rows[phone]
        assert rows[phone].attempts >= 2
    assert "131026" in (rows[scripted["failed"][0]].error or "")
    assert "131047" in (rows[scripted["failed"][1]].error or "")
    assert counts["sent"] == 23 and counts["failed"] == 2
    assert sandbox.sends(summary=1)["duplicates"] == 0


@pytest.mark.parametrize(("suffix", "reason"), [(5, "401"), (4, "419")])
def test_sender_errors_pause_the_campaign(store, sandbox, workers, suffix, reason, launch):
    sandbox.configure(rate_limit_per_minute=0)
    workers.start("w1", concurrency=2)
    phones = [factories.phone(i) for i in range(200)]
    phones[20] = factories.phone(20, suffix=suffix)
    cid = launch(store, phones, rate=600.0, window=5)
    wait_state(store, cid, CampaignState.PAUSED, timeout=30)
    campaign = store.get(cid)
    assert reason in (campaign.reason or "")
    time.sleep(0.5)  # let sends already in flight land
    before = sandbox.sends(summary=1)["count"]
    time.sleep(2.0)
    assert sandbox.sends(summary=1)["count"] == before
    assert before < 40
    counts = store.counts(cid)
    assert counts["pending"] >= 150
    assert sum(counts.values()) == 200


def test_pause_stops_sends_and_resume_continues_without_duplicates(
    store, sandbox, workers, launch, dispatch
):
    sandbox.configure(rate_limit_per_minute=0)
    workers.start("w1", concurrency=4)
    phones = [factories.phone(i) for i in range(300)]
    cid = launch(store, phones, rate=3000.0, window=20)
    wait_for(lambda: store.counts(cid)["sent"] >= 50, timeout=30)
    operations.pause(store, cid)
    paused_at = time.time()
    time.sleep(2.0)
    late = [s for s in sandbox.sends()["sends"] if s["t"] > paused_at + 1.0]
    assert late == [], f"{len(late)} sends more than 1 s after the pause"
    assert store.get(cid).state == CampaignState.PAUSED
    operations.resume(store, dispatch, cid)
    wait_state(store, cid, CampaignState.COMPLETED, timeout=60)
    counts = assert_accounted(store, cid)
    assert counts["sent"] == 300
    sends = sandbox.sends(summary=1)
    assert sends["count"] == 300 and sends["duplicates"] == 0


def test_cancel_leaves_the_rest_cancelled(store, sandbox, workers, launch):
    sandbox.configure(rate_limit_per_minute=0)
    workers.start("w1", concurrency=4)
    phones = [factories.phone(i) for i in range(400)]
    cid = launch(store, phones, rate=1200.0, window=10)
    wait_for(lambda: store.counts(cid)["sent"] >= 20, timeout=30)
    operations.cancel(store, cid)
    time.sleep(1.5)
    counts = assert_accounted(store, cid)
    assert counts["cancelled"] > 300
    assert counts["sent"] + counts["cancelled"] == 400
    assert sandbox.sends(summary=1)["count"] == counts["sent"]


def test_retry_failed_resends_only_failed_recipients(store, sandbox, workers, launch, dispatch):
    sandbox.configure(rate_limit_per_minute=0)
    workers.start("w1", concurrency=4)
    good = [factories.phone(i) for i in range(15)]
    bad = [factories.phone(50 + i, suffix=1) for i in range(5)]
    cid = launch(store, good + bad)
    wait_state(store, cid, CampaignState.COMPLETED, timeout=30)
    assert store.counts(cid)["failed"] == 5
    operations.retry_failed(store, dispatch, cid)
    wait_for(lambda: all(r.attempts == 2 for r in store.iter_rows(cid, status="failed")), 30)
    wait_state(store, cid, CampaignState.COMPLETED, timeout=30)
    rows = list(store.iter_rows(cid))
    assert [r.attempts for r in rows if r.phone in good] == [1] * 15
    assert [r.attempts for r in rows if r.phone in bad] == [2] * 5
    sends = sandbox.sends(summary=1)
    assert sends["count"] == 15 and sends["duplicates"] == 0


def test_bad_csv_rows_are_reported_and_the_rest_is_sent(
    store, sandbox, workers, tmp_path, dispatch
):
    sandbox.configure(rate_limit_per_minute=0)
    workers.start("w1", concurrency=4)
    path = tmp_path / "contacts.csv"
    lines = ["nama;no_hp"] + [f"N{i};0{factories.phone(i)[2:]}" for i in range(30)]
    lines[5] = "Broken;12"
    lines[9] = "Empty;"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = enqueue.enqueue_broadcast(
        path, sender="waba-1", text="Halo {nama}", rate_per_minute=60_000, store=store,
        dispatch=dispatch,
    )  # fmt: skip
    summary = result.summary
    assert summary["valid"] == 28 and summary["rejected"] == 2
    assert [e["line"] for e in summary["errors"]] == [6, 10]
    wait_state(store, result.campaign.id, CampaignState.COMPLETED, timeout=30)
    assert store.counts(result.campaign.id)["sent"] == 28
    assert sandbox.sends(summary=1)["count"] == 28
