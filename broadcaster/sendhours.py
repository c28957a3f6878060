"""What a worker tells the send path about a campaign's sending hours (`store.Hours`).

Lua cannot read timezones, so a worker reads the campaign's calendar in each of its
recipients' timezones and passes the result: per timezone, when the open hours end (or that
they are closed) and when they open next, as real times. The answer holds until the first of
those moments, so it is kept until then (one calendar reading per campaign per change, not
per send).
"""

import dataclasses

from .calendar import CalendarClock
from .campaigns import Campaign
from .store import Hours

__all__ = ["DEFAULT_MARGIN", "SendHours"]

#: Seconds before its hours end that a send may still start (`Settings.calendar_margin`).
DEFAULT_MARGIN = 60.0
#: A calendar that does not open again within its horizon is read as opening this far ahead.
_NEVER = 365 * 86400.0


@dataclasses.dataclass(slots=True)
class SendHours:
    """Reads campaigns' calendars on `clock` (the real time, or a simulated one for tests)."""

    clock: CalendarClock = dataclasses.field(default_factory=CalendarClock)
    margin: float = DEFAULT_MARGIN
    _kept: dict[str, tuple[float, Hours]] = dataclasses.field(default_factory=dict)

    def at(self, campaign: Campaign, now: float) -> Hours | None:
        """The hours of `campaign` at real time `now`; None when it may send at any time."""
        if campaign.calendar is None:
            return None
        kept = self._kept.get(campaign.id)
        if kept is not None and now < kept[0]:
            return kept[1]
        until, hours = self.read(campaign, now)
        self._kept[campaign.id] = (until, hours)
        return hours

    def read(self, campaign: Campaign, now: float) -> tuple[float, Hours]:
        """The hours at `now` and the real time until which they hold."""
        calendar, clock = campaign.calendar, self.clock
        assert calendar is not None
        t = clock.now(now)
        parts, changes, reopenings = [], [], []
        for tz in campaign.zone_names():
            closes = calendar.closes_at(t, tz)
            opens = calendar.next_open(closes if closes is not None else t, tz)
            reopens = clock.real(opens) if opens is not None else now + _NEVER
            real_close = clock.real(closes) if closes is not None else 0.0
            parts.append(f"{real_close:.3f},{reopens:.3f}")
            if closes is not None and real_close - now >= self.margin:
                changes.append(real_close - self.margin)  # it may send until then
            else:
                changes.append(reopens)
                reopenings.append(reopens)
        all_closed = len(reopenings) == len(parts)
        hours = Hours(";".join(parts), min(reopenings) if all_closed else 0.0, self.margin)
        return min(changes), hours
