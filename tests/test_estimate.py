"""The finish estimate with recipients in several timezones (`broadcaster.estimate`): the model
on its own, and in a campaign's progress (real Redis, the store's clock injected)."""

import datetime

import pytest

from broadcaster.calendar import Calendar, spec_from
from broadcaster.campaigns import RecipientStatus
from broadcaster.estimate import finish_time, open_per_zone
from broadcaster.operations import CampaignRequest, LaunchDefaults, launch
from broadcaster.progress import campaign_progress
from broadcaster.settings import Settings
from tests import factories
from tests.test_calendar_sending import World, at, rows
from tests.test_calendar_sending import world as world

S = RecipientStatus
JKT, JYP = "Asia/Jakarta", "Asia/Jayapura"  # Jayapura is 2 hours ahead


def test_each_timezone_sends_in_its_own_hours_and_the_last_one_decides():
    calendar = Calendar.parse(spec_from("09:00-11:00", None) or "", JKT)
    now = at("2026-11-30T06:00")  # Jayapura's hours: 07:00-09:00 Jakarta time; Jakarta's after
    # 60 in Jayapura at 0.01/s: 6000 s from 07:00; 50 in Jakarta: 5000 s from 09:00
    assert finish_time(calendar, {JYP: 60, JKT: 50}, 0.01, now) == at("2026-11-30T10:23:20")
    # read in Jakarta's hours alone, the 110 would take until Tuesday
    assert calendar.finish_after(now, 110 / 0.01) == at("2026-12-01T10:03:20")
    # a group that cannot finish today (72 of 90 by 09:00) waits for its next opening, after
    # the other is done: its last 18 from 07:00 on Tuesday
    assert finish_time(calendar, {JYP: 90, JKT: 10}, 0.01, now) == at("2026-12-01T07:30")


def test_open_timezones_share_the_rate_and_shrink_together():
    calendar = Calendar.parse(spec_from("09:00-17:00", None) or "", JKT)
    # Jayapura alone 07:00-09:00 (7200 of its 10800), then both share 1/s: 7200 left -> 11:00
    finish = finish_time(calendar, {JYP: 10_800, JKT: 3600}, 1.0, at("2026-11-30T07:00"))
    assert finish == pytest.approx(at("2026-11-30T11:00"))
    assert finish_time(calendar, {JKT: 0}, 1.0, at("2026-11-30T07:00")) == at("2026-11-30T07:00")
    assert finish_time(calendar, {JKT: 1}, 0.0, at("2026-11-30T07:00")) is None
    day = datetime.date(2026, 11, 30)
    never = [(day + datetime.timedelta(days=i)).isoformat() for i in range(1, 500)]
    closed = Calendar.parse(calendar.spec, JYP, never, local=True)  # Jayapura's closed for good
    assert finish_time(closed, {JKT: 5, JYP: 1}, 1.0, at("2026-11-30T18:00")) is None


def test_recipients_not_finished_are_counted_per_timezone():
    statuses = bytes([S.SENT, S.PENDING, S.QUEUED, S.FAILED, S.OFF_HOURS, S.EXPIRED])
    zones = bytes([0, 0, 1, 1, 2])  # the last recipient's byte not written: zone 0
    # 0: pending (1); 1: queued (2); 2: off_hours (4); 5 (zone 0) expired; 6, 7 not written yet
    assert open_per_zone(statuses, zones, 8, 3) == [3, 1, 1]


def people() -> list[dict[str, str]]:
    """20 recipients read in Jakarta, then 40 that name Jayapura (the CSV column)."""
    return rows(20, timezone="") + [
        {"phone": factories.phone(100 + i), "name": "P", "timezone": JYP} for i in range(40)
    ]


def launched(w: World, rate_per_minute: float) -> str:
    defaults = LaunchDefaults.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]
    request = CampaignRequest(sender="waba-1", text="Halo {name}", hours="09:00-11:00", tz=JKT,
                              rate_per_minute=rate_per_minute)  # fmt: skip
    cid = launch(w.store, factories.Published(), people(), request, defaults=defaults).campaign.id
    assert w.store.get(cid).zones == (JYP,)
    return cid


def test_progress_counts_each_timezones_open_hours_to_the_finish(world):
    w: World = world(at("2026-11-30T06:00"))  # a Monday
    cid = launched(w, 1.0)
    # at 1 a minute: Jayapura's 40 from 07:00 Jakarta time, then Jakarta's 20 from 09:00
    progress = campaign_progress(w.store, cid)
    assert progress.eta == at("2026-11-30T09:20") - at("2026-11-30T06:00")
    # at 08:30, Jayapura's hours close at 09:00 with 10 of its 40 left: they go on Tuesday
    w.clock.t = at("2026-11-30T08:30")
    progress = campaign_progress(w.store, cid)
    assert progress.eta == at("2026-12-01T07:10") - at("2026-11-30T08:30")


def test_progress_waits_for_the_hours_of_the_timezone_left(world):
    w: World = world(at("2026-11-30T09:30"))  # Jayapura's hours (07:00-09:00 here) are over
    cid = launched(w, 600_000.0)
    w.run(cid, at("2026-11-30T10:30"), step=60, per_step=20)
    assert sorted(w.sent_at) == list(range(20))  # Jakarta's, in its hours
    progress = campaign_progress(w.store, cid)
    assert progress.rate is None and progress.open == 40
    assert progress.activity == "waiting for hours"
    assert progress.next_at == at("2026-12-01T07:00")
    # Jakarta's hours are open, but what is left is Jayapura's: Tuesday 07:00 Jakarta time
    # (40 at 10,000 a second take no time), not now
    assert progress.eta == pytest.approx(at("2026-12-01T07:00") - at("2026-11-30T10:30"), abs=1)
