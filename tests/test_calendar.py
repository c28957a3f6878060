"""The sending calendar (pure), recipients' timezones, and what workers pass the send path."""

import datetime

import pytest

from broadcaster.calendar import Calendar, CalendarClock, spec_from
from broadcaster.errors import CampaignInvalid
from broadcaster.operations import CampaignRequest, LaunchDefaults
from broadcaster.sendhours import SendHours
from broadcaster.settings import Settings
from broadcaster.timezones import recipient_zone
from tests import factories

JKT = datetime.timezone(datetime.timedelta(hours=7))  # Asia/Jakarta: no daylight saving


def at(text: str, tz: datetime.tzinfo = JKT) -> float:
    """Seconds since the epoch of a local ISO time (2026-11-30 is a Monday)."""
    return datetime.datetime.fromisoformat(text).replace(tzinfo=tz).timestamp()


OFFICE = Calendar.parse("mon-fri 09:00-17:00", "Asia/Jakarta")


def test_office_hours_open_and_close():
    assert not OFFICE.is_open(at("2026-11-30T08:59:59"))
    assert OFFICE.is_open(at("2026-11-30T09:00"))
    assert OFFICE.is_open(at("2026-11-30T16:59:59"))
    assert not OFFICE.is_open(at("2026-11-30T17:00"))
    assert OFFICE.closes_at(at("2026-11-30T10:00")) == at("2026-11-30T17:00")
    assert OFFICE.closes_at(at("2026-11-30T18:00")) is None


def test_next_open_is_the_same_day_the_next_day_or_after_the_weekend():
    assert OFFICE.next_open(at("2026-11-30T07:00")) == at("2026-11-30T09:00")
    assert OFFICE.next_open(at("2026-11-30T10:00")) == at("2026-11-30T10:00")
    assert OFFICE.next_open(at("2026-11-30T17:00")) == at("2026-12-01T09:00")
    assert OFFICE.next_open(at("2026-12-04T17:30")) == at("2026-12-07T09:00")  # fri -> mon
    assert OFFICE.next_open(at("2026-11-30T08:59:30")) == at("2026-11-30T09:00")


def test_several_spans_a_day_and_rules_per_day():
    cal = Calendar.parse("mon-fri 09:00-12:00,13:00-17:00; sat 10:00-14:00", "Asia/Jakarta")
    assert not cal.is_open(at("2026-11-30T12:30"))
    assert cal.next_open(at("2026-11-30T12:30")) == at("2026-11-30T13:00")
    assert cal.closes_at(at("2026-11-30T09:30")) == at("2026-11-30T12:00")
    assert cal.next_open(at("2026-12-04T18:00")) == at("2026-12-05T10:00")
    assert cal.next_open(at("2026-12-05T15:00")) == at("2026-12-07T09:00")


def test_a_span_crossing_midnight_is_one_opening():
    cal = Calendar.parse("fri 22:00-02:00", "Asia/Jakarta")
    assert cal.is_open(at("2026-12-05T01:00"))  # saturday morning
    assert cal.closes_at(at("2026-12-04T23:00")) == at("2026-12-05T02:00")
    assert cal.next_open(at("2026-12-05T02:00")) == at("2026-12-11T22:00")
    assert Calendar.parse("sun 20:00-01:00").is_open(at("2026-11-30T00:30", datetime.UTC))


def test_blackout_dates_close_the_whole_local_day():
    cal = Calendar.parse("mon-sun 09:00-17:00", "Asia/Jakarta", ["2026-12-01", "2026-12-02"])
    assert not cal.is_open(at("2026-12-01T10:00"))
    assert cal.next_open(at("2026-11-30T17:00")) == at("2026-12-03T09:00")
    night = Calendar.parse("mon-sun 22:00-02:00", "Asia/Jakarta", ["2026-12-01"])
    assert night.closes_at(at("2026-11-30T23:00")) == at("2026-12-01T00:00")


def test_each_timezone_reads_its_own_hours():
    t = at("2026-11-30T09:30")  # 09:30 in Jakarta is 11:30 in Jayapura, 02:30 in London
    assert OFFICE.is_open(t)
    assert OFFICE.closes_at(t, "Asia/Jayapura") == at("2026-11-30T15:00")
    assert not OFFICE.is_open(t, "Europe/London")
    assert OFFICE.next_open(t, "Europe/London") == at("2026-11-30T16:00")


def test_daylight_saving_is_followed():
    cal = Calendar.parse("sun 01:00-05:00", "Europe/Berlin")  # 2026-03-29: 02:00 -> 03:00
    start = cal.next_open(at("2026-03-28T12:00", datetime.UTC))
    assert cal.closes_at(start) - start == 3 * 3600


def test_finish_counts_only_open_hours():
    start = at("2026-11-30T07:00")
    assert OFFICE.finish_after(start, 4 * 3600) == at("2026-11-30T13:00")
    assert OFFICE.finish_after(start, 10 * 3600) == at("2026-12-01T11:00")
    assert OFFICE.finish_after(at("2026-12-04T16:00"), 2 * 3600) == at("2026-12-07T10:00")


@pytest.mark.parametrize(
    "spec",
    ["", "mon", "funday 09:00-10:00", "mon 9-17", "mon 25:00-26:00", "mon 09:00-09:00"],
)
def test_bad_calendars_are_refused(spec):
    with pytest.raises(CampaignInvalid):
        Calendar.parse(spec)


def test_bad_timezones_and_dates_are_refused():
    with pytest.raises(CampaignInvalid, match="timezone"):
        Calendar.parse("mon 09:00-10:00", "Asia/Atlantis")
    with pytest.raises(CampaignInvalid, match="YYYY-MM-DD"):
        Calendar.parse("mon 09:00-10:00", blackout=["1 Dec"])


def test_cli_hours_and_days_make_one_rule_and_the_calendar_round_trips():
    assert spec_from("09:00-17:00", "mon-fri") == "mon-fri 09:00-17:00"
    assert spec_from("09:00-17:00", None) == "mon-sun 09:00-17:00"
    assert spec_from(None, None) is None
    cal = Calendar.parse("sat-mon 08:00-10:00", "Asia/Makassar", ["2026-12-25"], local=False)
    assert Calendar.from_json(cal.to_json()) == cal
    assert cal.is_open(at("2026-11-29T09:30", datetime.timezone(datetime.timedelta(hours=8))))


def test_recipients_timezone_rule():
    assert recipient_zone("6281234567890", None, "Asia/Makassar") == "Asia/Makassar"  # mobile
    assert recipient_zone("62361234567", None, "Asia/Jakarta") == "Asia/Makassar"  # Bali line
    assert recipient_zone("62967123456", None, "Asia/Jakarta") == "Asia/Jayapura"
    assert recipient_zone("6591234567", None, "Asia/Jakarta") == "Asia/Singapore"
    assert recipient_zone("12125551234", None, "Asia/Jakarta") == "America/New_York"
    assert recipient_zone("6281234567890", " Asia/Jayapura ", "Asia/Jakarta") == "Asia/Jayapura"
    with pytest.raises(CampaignInvalid):
        recipient_zone("6281234567890", "Mars/Olympus", "Asia/Jakarta")


def test_a_simulated_clock_maps_both_ways():
    clock = CalendarClock.parse("1000@50x3600")
    assert clock.now(51) == 1000 + 3600
    assert clock.real(1000 + 7200) == 52


def test_send_hours_per_timezone_and_while_every_zone_is_closed():
    cal = Calendar.parse("mon-fri 09:00-17:00", "Asia/Jakarta")
    campaign = factories.campaign(calendar=cal, zones=("Asia/Jayapura",))
    hours = SendHours(margin=60)
    until, open_ = hours.read(campaign, at("2026-11-30T08:00"))  # Jayapura's 10:00
    assert open_.windows == (
        f"0.000,{at('2026-11-30T09:00'):.3f};"
        f"{at('2026-11-30T15:00'):.3f},{at('2026-12-01T07:00'):.3f}"
    )
    assert open_.closed_until == 0 and until == at("2026-11-30T09:00")
    until, closed = hours.read(campaign, at("2026-11-30T17:30"))
    assert closed.closed_until == at("2026-12-01T07:00") == until
    assert hours.at(factories.campaign(), 0) is None  # no calendar: any time


def test_a_launch_takes_its_own_hours_else_the_deployments_default():
    settings = Settings(_env_file=None, sending_hours="mon-fri 08:00-20:00",  # type: ignore[call-arg]
                        sending_tz="Asia/Makassar", blackout_dates="2026-12-25")  # fmt: skip
    defaults = LaunchDefaults.from_settings(settings)
    assert defaults.calendar == Calendar.parse(
        "mon-fri 08:00-20:00", "Asia/Makassar", ["2026-12-25"]
    )
    plain = CampaignRequest(sender="s", text="x")
    assert plain.campaign([], defaults).calendar == defaults.calendar
    own = CampaignRequest(sender="s", text="x", hours="10:00-12:00", days="sat,sun")
    assert own.campaign([], defaults).calendar == Calendar.parse(
        "sat,sun 10:00-12:00", "Asia/Makassar"
    )
    rules = CampaignRequest(
        sender="s", text="x", hours="mon 09:00-10:00; tue 11:00-12:00", tz="UTC"
    )
    assert rules.campaign([], defaults).calendar.spec == "mon 09:00-10:00; tue 11:00-12:00"
    assert (
        CampaignRequest(sender="s", text="x", hours="always").campaign([], defaults).calendar
        is None
    )
    with pytest.raises(CampaignInvalid, match="rules"):
        CampaignRequest(sender="s", text="x", hours="mon 09:00-10:00", days="tue").campaign([])
    with pytest.raises(CampaignInvalid, match="after the start"):
        CampaignRequest(sender="s", text="x", send_at=100.0, expires_at=50.0).campaign([])
