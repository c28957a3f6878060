"""Sending hours and validity in the send path: real Redis, real Lua, deliver() against the
sandbox over HTTP, with the store's and the workers' clock injected (a simulated week passes in
a second; the rate limit reads Redis's own clock, so the rate is set high)."""

import datetime
import io
import re

import pytest
from rich.console import Console

from broadcaster.calendar import Calendar
from broadcaster.campaigns import CampaignState
from broadcaster.cli.reports import print_report
from broadcaster.operations import CampaignRequest, LaunchDefaults, launch
from broadcaster.progress import campaign_progress
from broadcaster.replai import ReplaiClient
from broadcaster.reports import build_report
from broadcaster.sendhours import SendHours
from broadcaster.settings import Settings
from tests import factories
from tests.conftest import SANDBOX_TOKEN
from tests.factories import Clock
from workers.delivery import Resources, deliver
from workers.ratelimit import RateLimiter, RedisBackend

JKT = datetime.timezone(datetime.timedelta(hours=7))
JAYAPURA = datetime.timezone(datetime.timedelta(hours=9))


def at(text: str, tz: datetime.tzinfo = JKT) -> float:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=tz).timestamp()


class World:
    """A store, a worker's resources and a driver that runs the ticker and the sends."""

    def __init__(self, redis, sandbox, start: float) -> None:
        self.clock = Clock(start)
        self.store = factories.store(redis, clock=self.clock)
        client = ReplaiClient(base_url=sandbox.url, token=SANDBOX_TOKEN)
        self.res = Resources(
            store=self.store,
            client=client,
            limiter=RateLimiter(RedisBackend(redis), safety_margin=0.0),
            policy=factories.policy(),
            clock=self.clock,
            hours=SendHours(margin=60),
        )
        self.sent_at: dict[int, float] = {}

    def launch(self, rows, **request) -> str:
        request.setdefault("rate_per_minute", 6_000_000.0)
        cid = factories.draft(self.store, rows, **request)
        self.store.start(cid)
        return cid

    def run(self, cid: str, until: float, *, step: float = 600.0, per_step: int = 3) -> None:
        """Advance the clock to `until`; every `step`, the ticker's pass then at most `per_step`
        sends (the campaign's pace in simulated time)."""
        while self.clock.t < until and self.store.state(cid) == CampaignState.RUNNING:
            todo, sent = list(self.store.tick(cid)), 0
            while todo and sent < per_step:
                index = todo.pop(0)
                before = self.store.counts(cid)["sent"]
                todo += deliver(self.res, cid, index)
                if self.store.counts(cid)["sent"] > before:
                    self.sent_at[index] = self.clock.t
                    sent += 1
            self.clock.t += step


def rows(n: int, **columns):
    return [{"phone": factories.phone(i), "name": f"N{i}", **columns} for i in range(n)]


@pytest.fixture
def world(redis, sandbox):
    sandbox.configure(rate_limit_per_minute=0)
    made: list[World] = []

    def make(start: float) -> World:
        made.append(World(redis, sandbox, start))
        return made[-1]

    yield make
    for w in made:
        w.res.client.close()


def test_started_outside_its_hours_it_waits_then_sends_in_them_and_resumes_next_day(world):
    w = world(at("2026-11-30T06:00"))  # a Monday, before 09:00 in Jakarta
    cid = w.launch(rows(60), hours="mon-fri 09:00-12:00", tz="Asia/Jakarta")
    w.run(cid, at("2026-11-30T08:55"))
    assert w.sent_at == {}
    counts = w.store.counts(cid)
    assert counts["pending"] + counts["off_hours"] == 60 and counts["off_hours"] > 0
    w.run(cid, at("2026-12-03T00:00"))
    assert w.store.state(cid) == CampaignState.COMPLETED
    assert len(w.sent_at) == 60
    days = {}
    for t in w.sent_at.values():
        local = datetime.datetime.fromtimestamp(t, JKT)
        assert datetime.time(9) <= local.time() < datetime.time(11, 59), local
        days[local.date()] = days.get(local.date(), 0) + 1
    # 3 every 10 minutes from 09:00 to 11:50 (the last step before the close): 54 on Monday,
    # the rest on Tuesday
    assert days == {datetime.date(2026, 11, 30): 54, datetime.date(2026, 12, 1): 6}


def test_recipients_in_two_timezones_are_each_sent_in_their_own_hours(world):
    w = world(at("2026-11-30T00:00"))
    people = rows(10, timezone="") + [  # rows that name their timezone (the CSV column)
        {"phone": factories.phone(100 + i), "name": "P", "timezone": "Asia/Jayapura"}
        for i in range(10)
    ]
    cid = w.launch(people, hours="09:00-11:00", tz="Asia/Jakarta")
    assert w.store.get(cid).zones == ("Asia/Jayapura",)
    w.run(cid, at("2026-12-01T00:00"), step=300, per_step=1)
    assert len(w.sent_at) == 20
    for index, t in w.sent_at.items():
        zone = JAYAPURA if index >= 10 else JKT
        local = datetime.datetime.fromtimestamp(t, zone).time()
        assert datetime.time(9) <= local < datetime.time(11), (index, local)


def test_nothing_is_sent_after_expires_at_and_the_rest_expire(world):
    w = world(at("2026-11-30T08:00"))
    expires = at("2026-11-30T10:00")
    cid = w.launch(rows(40), hours="mon-fri 09:00-17:00", tz="Asia/Jakarta", expires_at=expires)
    w.run(cid, at("2026-11-30T12:00"))
    assert w.store.state(cid) == CampaignState.COMPLETED
    assert all(at("2026-11-30T09:00") <= t < expires for t in w.sent_at.values())
    counts = w.store.counts(cid)
    assert counts["sent"] == len(w.sent_at) == 18 and counts["expired"] == 22
    assert counts["failed"] == 0
    assert {r.status for r in w.store.iter_rows(cid) if r.index not in w.sent_at} == {"expired"}
    assert any(e["event"] == "expired" for e in w.store.events(cid))
    out = Console(file=io.StringIO(), width=120)
    print_report(build_report(w.store, cid), out=out)
    text = out.file.getvalue()
    assert re.search(r"expired \(not sent before the campaign's expires_at\)\s+│\s+22", text)
    assert re.search(r"failed\s+│\s+0", text) and "not finished yet" not in text


def test_a_recipient_queued_when_the_campaign_expires_is_not_sent(world):
    w = world(at("2026-11-30T09:00"))
    cid = w.launch(rows(3), expires_at=at("2026-11-30T09:30"))
    w.clock.t = at("2026-11-30T09:31")
    deliver(w.res, cid, 0)  # queued at the start, delivered after expires_at
    assert next(w.store.iter_rows(cid)).status == "expired"
    assert w.store.counts(cid)["expired"] == 1
    w.run(cid, at("2026-11-30T10:00"))
    assert w.store.counts(cid)["expired"] == 3
    assert w.store.state(cid) == CampaignState.COMPLETED


def test_the_calendar_is_stored_with_the_campaign(world):
    w = world(at("2026-11-30T09:00"))
    cid = w.launch(rows(2), hours="22:00-02:00", days="fri", tz="Asia/Makassar",
                   blackout=["2026-12-25"], local_time=False)  # fmt: skip
    calendar = w.store.get(cid).calendar
    assert calendar == Calendar.parse("fri 22:00-02:00", "Asia/Makassar", ["2026-12-25"],
                                      local=False)  # fmt: skip
    assert w.store.get(cid).zones == ()


def test_progress_says_it_waits_for_its_hours_and_counts_closed_hours_to_the_finish(world):
    w = world(at("2026-11-30T16:00"))  # a Monday: one open hour left today
    defaults = LaunchDefaults.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]
    request = CampaignRequest(
        sender="waba-1", text="Halo {name}", rate_per_minute=1.0, hours="09:00-17:00",
        days="mon-fri", tz="Asia/Jakarta", local_time=False,
    )  # fmt: skip
    cid = launch(w.store, factories.Published(), rows(120), request, defaults=defaults).campaign.id
    progress = campaign_progress(w.store, cid)
    assert progress.activity == "sending" and progress.next_at is None
    # 120 at 1 a minute: 2 open hours, 16:00-17:00 today and 09:00-10:00 tomorrow
    assert progress.eta == at("2026-12-01T10:00") - at("2026-11-30T16:00")
    w.clock.t = at("2026-11-30T18:00")
    progress = campaign_progress(w.store, cid)
    assert progress.activity == "waiting for hours"
    assert progress.next_at == at("2026-12-01T09:00")
    assert progress.describe() == (
        "waiting for its sending hours: they open Tue 2026-12-01 09:00 Asia/Jakarta"
    )
    w.run(cid, at("2026-11-30T20:00"))  # the ticker's passes: its recipients wait, unsent
    progress = campaign_progress(w.store, cid)
    assert progress.activity == "waiting for hours" and progress.counts["off_hours"] > 0
    assert progress.eta == at("2026-12-01T11:00") - at("2026-11-30T20:00")
