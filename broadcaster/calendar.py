"""A sending calendar: the days and hours a campaign may send, in a timezone.

Pure: no Redis, no clock of its own. Every question takes the time (seconds since the epoch)
and, optionally, the timezone to read it in (a recipient's own; by default the calendar's).

A calendar is written as rules, each days then hours, separated by `;`:
`mon-fri 09:00-17:00; sat 10:00-14:00`. Several spans a day are comma separated
(`09:00-12:00,13:00-17:00`); a span whose end is before its start crosses midnight
(`fri 22:00-02:00` is Friday 22:00 to Saturday 02:00). Blackout dates are local dates on which
nothing is sent (the hours after midnight of a span that crosses into one included).
"""

import dataclasses
import datetime
import json
import re
import zoneinfo
from collections.abc import Iterable

from .errors import CampaignInvalid

__all__ = ["DAYS", "Calendar", "CalendarClock", "spec_from"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MINUTES_A_DAY = 1440
#: How far ahead an opening is looked for: blackout dates can close a calendar for long.
_HORIZON_DAYS = 400
_SPAN = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")

Spans = tuple[tuple[int, int], ...]


def spec_from(hours: str | None, days: str | None) -> str | None:
    """The rule of the CLI's and the API's `hours` and `days` (`mon-fri 09:00-17:00`); None
    when neither is given. `hours` alone is every day; `days` alone is all day."""
    if not hours and not days:
        return None
    return f"{days or 'mon-sun'} {hours or '00:00-24:00'}"


@dataclasses.dataclass(frozen=True, slots=True)
class Calendar:
    """Allowed spans per weekday (minutes of the day, Monday first), a timezone, blackout
    dates, and whether each recipient is read in its own timezone (`local`)."""

    spec: str
    tz: str = "UTC"
    blackout: frozenset[datetime.date] = frozenset()
    local: bool = True
    week: tuple[Spans, ...] = dataclasses.field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        zone(self.tz)
        object.__setattr__(self, "week", _parse(self.spec))

    @classmethod
    def parse(
        cls, spec: str, tz: str = "UTC", blackout: Iterable[str] = (), *, local: bool = True
    ) -> "Calendar":
        """A calendar from its rules, a timezone name and ISO dates (raises CampaignInvalid)."""
        try:
            dates = frozenset(
                datetime.date.fromisoformat(d.strip()) for d in blackout if d.strip()
            )
        except ValueError as exc:
            raise CampaignInvalid(f"blackout dates must be YYYY-MM-DD: {exc}") from None
        return cls(spec=spec, tz=tz, blackout=dates, local=local)

    def to_json(self) -> str:
        """The calendar as stored with its campaign."""
        dates = sorted(d.isoformat() for d in self.blackout)
        fields = {"spec": self.spec, "tz": self.tz, "blackout": dates, "local": self.local}
        return json.dumps(fields)

    @classmethod
    def from_json(cls, text: str) -> "Calendar":
        """Read back `to_json`."""
        raw = json.loads(text)
        return cls.parse(raw["spec"], raw["tz"], raw.get("blackout", ()), local=raw["local"])

    def describe(self) -> str:
        """In words: `mon-fri 09:00-17:00 (Asia/Jakarta)`."""
        closed = f", not on {', '.join(sorted(map(str, self.blackout)))}" if self.blackout else ""
        each = ", each recipient's own time" if self.local else ""
        return f"{self.spec} ({self.tz}{each}){closed}"

    def is_open(self, t: float, tz: str | None = None) -> bool:
        """True when `t` falls in an allowed span."""
        local = _at(t, tz or self.tz)
        return self._span_at(local) is not None

    def next_open(self, t: float, tz: str | None = None) -> float | None:
        """`t` when open, else the next opening; None when none within 400 days."""
        local = _at(t, tz or self.tz)
        if self._span_at(local) is not None:
            return t
        minute = local.hour * 60 + local.minute + int(local.second > 0 or local.microsecond > 0)
        for ahead in range(_HORIZON_DAYS):
            day = local.date() + datetime.timedelta(days=ahead)
            if day in self.blackout:
                continue
            for start, _ in self.week[day.weekday()]:
                if ahead or start >= minute:
                    return _instant(day, start, local.tzinfo)
        return None

    def closes_at(self, t: float, tz: str | None = None) -> float | None:
        """When the opening `t` is in ends (spans that meet at midnight are one opening); None
        when closed. A calendar open for a week on end gives that week's end."""
        local = _at(t, tz or self.tz)
        span = self._span_at(local)
        if span is None:
            return None
        day, end = local.date(), span[1]
        for _ in range(8):
            following = day + datetime.timedelta(days=1)
            first = self.week[following.weekday()]
            if end < _MINUTES_A_DAY or following in self.blackout or not first or first[0][0]:
                break
            day, end = following, first[0][1]
        return _instant(day, end, local.tzinfo)

    def finish_after(self, t: float, seconds: float, tz: str | None = None) -> float | None:
        """When `seconds` of sending, from `t`, end, counting only open hours; None when the
        calendar does not open again."""
        now, left = t, seconds
        for _ in range(10_000):
            opened = self.next_open(now, tz)
            closes = self.closes_at(opened, tz) if opened is not None else None
            if opened is None or closes is None:
                return None
            if closes - opened >= left:
                return opened + left
            left -= closes - opened
            now = closes
        return None

    def _span_at(self, local: datetime.datetime) -> tuple[int, int] | None:
        if local.date() in self.blackout:
            return None
        minute = local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 6e7
        return next((s for s in self.week[local.weekday()] if s[0] <= minute < s[1]), None)


@dataclasses.dataclass(frozen=True, slots=True)
class CalendarClock:
    """The time a calendar is read at, from the real time: the real time itself, or (for tests
    and demos) a simulated one that starts at `origin` when the real clock shows `real_origin`
    and runs `speed` times as fast. Written `<origin>@<real_origin>x<speed>`, epoch seconds."""

    origin: float = 0.0
    real_origin: float = 0.0
    speed: float = 1.0

    @classmethod
    def parse(cls, text: str) -> "CalendarClock":
        """The clock of a setting (empty: the real time)."""
        if not text:
            return cls()
        sim, _, rest = text.partition("@")
        real, _, speed = rest.partition("x")
        return cls(float(sim), float(real), float(speed or 1))

    def now(self, real: float) -> float:
        """The calendar's time at real time `real`."""
        return self.origin + (real - self.real_origin) * self.speed

    def real(self, calendar_time: float) -> float:
        """The real time at which the calendar's time is `calendar_time`."""
        return self.real_origin + (calendar_time - self.origin) / self.speed


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The timezone called `name` (raises CampaignInvalid)."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise CampaignInvalid(f"unknown timezone {name!r} (an IANA name: Asia/Jakarta)") from None


def _at(t: float, tz: str) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(t, zone(tz))


def _instant(day: datetime.date, minute: int, tzinfo: datetime.tzinfo | None) -> float:
    days, minute = divmod(minute, _MINUTES_A_DAY)
    midnight = datetime.datetime.combine(day + datetime.timedelta(days=days), datetime.time())
    return (midnight.replace(tzinfo=tzinfo) + datetime.timedelta(minutes=minute)).timestamp()


def _parse(spec: str) -> tuple[Spans, ...]:
    week: list[list[tuple[int, int]]] = [[] for _ in DAYS]
    for rule in filter(None, (r.strip() for r in spec.lower().split(";"))):
        days, _, hours = rule.partition(" ")
        if not hours.strip():
            raise CampaignInvalid(f"rule {rule!r}: give days, then hours (mon-fri 09:00-17:00)")
        for day in _days(days):
            for start, end in map(_span, hours.replace(" ", "").split(",")):
                if end > start:
                    week[day].append((start, end))
                else:  # crosses midnight: the rest is on the next day
                    week[day].append((start, _MINUTES_A_DAY))
                    week[(day + 1) % 7].append((0, end))
    if not any(week):
        raise CampaignInvalid(f"calendar {spec!r} has no sending hours")
    return tuple(_merge(spans) for spans in week)


def _days(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise CampaignInvalid(f"days {text!r}: use mon..sun, ranges (mon-fri), commas")
        a, b = DAYS.index(first), DAYS.index(last or first)
        out += [(a + i) % 7 for i in range((b - a) % 7 + 1)]
    return out


def _span(text: str) -> tuple[int, int]:
    found = _SPAN.match(text)
    if not found:
        raise CampaignInvalid(f"hours {text!r}: use HH:MM-HH:MM (09:00-17:00)")
    h1, m1, h2, m2 = map(int, found.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > _MINUTES_A_DAY or start == end:
        raise CampaignInvalid(f"hours {text!r}: not a span of the day")
    return start, end


def _merge(spans: list[tuple[int, int]]) -> Spans:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return tuple(out)
