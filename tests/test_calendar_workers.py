"""Sending hours end to end: enqueue_broadcast -> Redis -> a real Celery worker -> the sandbox
over HTTP, the worker reading calendars on a simulated clock (BROADCASTER_CALENDAR_CLOCK: one
real second is four hours), so a campaign's days pass in seconds while its rate limit, its
leases and Redis keep real time."""

import datetime
import itertools
import time

import pytest

from broadcaster import enqueue
from broadcaster.campaigns import CampaignState
from tests import factories
from tests.conftest import WORKER_STALE_AFTER

pytestmark = pytest.mark.slow

JKT = datetime.timezone(datetime.timedelta(hours=7))
#: Simulated seconds per real second.
SPEED = 4 * 3600.0
RATE = 600.0  # a minute: 10 a second, 20 in a simulated 8-hour day
#: How long before its hours close a send may still start, in real seconds (48 simulated
#: minutes). The sandbox stamps a send when it arrives, after the worker's claim and the HTTP
#: round trip: 50 ms (12 simulated minutes) was once not enough on a loaded CI host, and a send
#: claimed in time arrived 41 simulated seconds after its hours.
MARGIN = 0.2


@pytest.fixture
def store(redis):
    return factories.store(redis, stale_after=WORKER_STALE_AFTER)


def test_a_campaign_waits_for_its_hours_sends_at_its_rate_in_them_and_resumes_next_day(
    store, sandbox, workers, broker
):
    sandbox.configure(rate_limit_per_minute=0)
    origin = datetime.datetime(2026, 11, 30, 5, 0, tzinfo=JKT).timestamp()  # a Monday, 05:00
    real_origin = time.time() + 4  # after the worker is up; before it, earlier that Monday
    workers.start(
        "w1",
        concurrency=4,
        BROADCASTER_CALENDAR_CLOCK=f"{origin}@{real_origin}x{SPEED}",
        BROADCASTER_CALENDAR_MARGIN=str(MARGIN),
    )
    rows = [{"phone": factories.phone(i), "name": f"N{i}"} for i in range(24)]
    result = enqueue.enqueue_broadcast(
        rows, sender="waba-1", text="Halo {name}", rate_per_minute=RATE, hours="09:00-17:00",
        days="mon-fri", tz="Asia/Jakarta", store=store, dispatch=broker.dispatch(),
    )  # fmt: skip
    cid = result.campaign.id
    deadline = time.monotonic() + 60
    while store.get(cid).state != CampaignState.COMPLETED and time.monotonic() < deadline:
        time.sleep(0.2)
    assert store.get(cid).state == CampaignState.COMPLETED, store.counts(cid)
    sends = sorted(s["t"] for s in sandbox.sends()["sends"])
    assert len(sends) == 24 and sandbox.sends(summary=1)["duplicates"] == 0

    local = [
        datetime.datetime.fromtimestamp(origin + (t - real_origin) * SPEED, JKT) for t in sends
    ]
    for when in local:
        assert when.weekday() < 5 and datetime.time(9) <= when.time() < datetime.time(17), when
    per_day = {day: len(list(group)) for day, group in itertools.groupby(w.date() for w in local)}
    first, second = datetime.date(2026, 11, 30), datetime.date(2026, 12, 1)
    assert list(per_day) == [first, second], per_day
    # Monday's 8 hours less the margin are 1.8 real seconds at 10 a second: about 18 sends
    # (15 on a loaded host), never more than the rate allows (one 1-s window holds at most 10,
    # and one more at its edge); Tuesday has the rest
    assert 12 <= per_day[first] <= 21, per_day
    busiest = max(sum(1 for u in sends[i:] if u < t + 1.0) for i, t in enumerate(sends))
    assert busiest <= RATE / 60 + 1


def _launch_and_finish(store, broker, rows, timeout=60, **fields):
    result = enqueue.enqueue_broadcast(
        rows, sender="waba-1", text="Halo {name}", store=store, dispatch=broker.dispatch(),
        **fields,
    )  # fmt: skip
    cid = result.campaign.id
    deadline = time.monotonic() + timeout
    while store.get(cid).state != CampaignState.COMPLETED and time.monotonic() < deadline:
        time.sleep(0.2)
    assert store.get(cid).state == CampaignState.COMPLETED, store.counts(cid)
    return cid


def test_recipients_in_two_timezones_are_each_sent_in_their_own_hours(
    store, sandbox, workers, broker
):
    sandbox.configure(rate_limit_per_minute=0)
    origin = datetime.datetime(2026, 11, 30, 5, 0, tzinfo=JKT).timestamp()
    real_origin = time.time() + 4
    workers.start(
        "w1", concurrency=4, BROADCASTER_CALENDAR_CLOCK=f"{origin}@{real_origin}x{SPEED}",
        BROADCASTER_CALENDAR_MARGIN=str(MARGIN),
    )  # fmt: skip
    jakarta = [{"phone": factories.phone(i), "name": "J", "timezone": ""} for i in range(8)]
    papua = [
        {"phone": factories.phone(100 + i), "name": "P", "timezone": "Asia/Jayapura"}
        for i in range(8)
    ]
    cid = _launch_and_finish(
        store, broker, jakarta + papua, rate_per_minute=1200.0, hours="09:00-11:00",
        tz="Asia/Jakarta",
    )  # fmt: skip
    zones = {r.phone: datetime.timezone(datetime.timedelta(hours=9 if r.index >= 8 else 7))
             for r in store.iter_rows(cid)}  # fmt: skip
    sends = sandbox.sends()["sends"]
    assert len(sends) == 16
    for send in sends:
        zone = zones[send["phone"]]
        when = datetime.datetime.fromtimestamp(origin + (send["t"] - real_origin) * SPEED, zone)
        assert datetime.time(9) <= when.time() < datetime.time(11), (send["phone"], when)


def test_nothing_is_sent_after_expires_at_and_the_rest_expire(store, sandbox, workers, broker):
    sandbox.configure(rate_limit_per_minute=0)
    workers.start("w1", concurrency=4)
    rows = [{"phone": factories.phone(i), "name": f"N{i}"} for i in range(40)]
    expires = time.time() + 3.0
    cid = _launch_and_finish(store, broker, rows, rate_per_minute=300.0, expires_at=expires)
    sends = [s["t"] for s in sandbox.sends()["sends"]]
    counts = store.counts(cid)
    assert sends and max(sends) < expires
    assert counts["sent"] == len(sends) and counts["expired"] == 40 - len(sends) > 0
    assert counts["failed"] == counts["unknown"] == 0
    assert {r.status for r in store.iter_rows(cid) if r.status != "sent"} == {"expired"}
