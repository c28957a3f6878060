"""When a campaign with a sending calendar will finish, its recipients in several timezones.

The model. The recipients not finished yet are grouped by the timezone their hours are read in
(`Campaign.zone_names`: the calendar's own, or each recipient's with per-recipient timezones).
The campaign sends at one rate `R` (the measured one, else the one it was launched at) shared
by the groups whose hours are open and that have recipients left; a group whose hours are
closed sends nothing and waits for them. Between two consecutive openings or closings of any
group, the open groups share `R` in proportion to their recipients left (the dispatch window
releases recipients in list order, which mixes the open groups in about that proportion), so
they shrink together; a group alone in its hours gets all of `R`. The campaign finishes when
the last group has sent its last recipient. With one timezone this is `Calendar.finish_after`.

It is an estimate: retries, rate-limit waits and a rate that changes are not foreseen; the
closing margin (`Settings.calendar_margin`) is ignored.

Usage:
    left = open_per_zone(status_bytes, zone_bytes, total, zones=2)   # [n in zone 0, in 1]
    finish_time(calendar, {"Asia/Jakarta": 600, "Asia/Jayapura": 400}, 2.0, now)
"""

from collections.abc import Mapping

from .calendar import Calendar
from .campaigns import OPEN_STATUSES

__all__ = ["finish_time", "open_per_zone"]

#: Openings and closings looked at before giving up (a calendar that hardly ever opens).
_MAX_STEPS = 10_000
#: Each status byte -> 1 when the recipient is not finished, else 0.
_OPEN = bytes(1 if b in {int(s) for s in OPEN_STATUSES} else 0 for b in range(256))


def open_per_zone(statuses: bytes, zones: bytes, total: int, count: int) -> list[int]:
    """Recipients not finished per timezone number (0 to `count` - 1), from a campaign's
    status bytes and zone bytes (`keys.status`, `keys.zones`; bytes not written yet are 0:
    pending, the calendar's own zone)."""
    is_open = int.from_bytes(statuses.ljust(total, b"\0")[:total].translate(_OPEN), "big")
    zones = zones.ljust(total, b"\0")[:total]
    out = []
    for number in range(count):
        table = bytes(1 if b == number else 0 for b in range(256))
        out.append((is_open & int.from_bytes(zones.translate(table), "big")).bit_count())
    return out


def finish_time(
    calendar: Calendar, left: Mapping[str, float], per_second: float, now: float
) -> float | None:
    """When recipients `left` per timezone, sent at `per_second` shared as the module says,
    are all sent, from `now`, counting each timezone's open hours; None when some group's hours
    never open again (or `per_second` is not positive)."""
    groups = {tz: float(n) for tz, n in left.items() if n > 0}
    t = now
    for _ in range(_MAX_STEPS):
        if not groups:
            return t
        step = _open_until(calendar, groups, t)
        if step is None or per_second <= 0:
            return None
        open_, until = step
        sending = sum(groups[tz] for tz in open_)
        if open_ and sending <= per_second * (until - t):
            t += sending / per_second
            for tz in open_:
                del groups[tz]
            continue
        for tz in open_:  # they shrink together
            groups[tz] *= 1.0 - per_second * (until - t) / sending
        t = until
    return None


def _open_until(
    calendar: Calendar, groups: Mapping[str, float], t: float
) -> tuple[list[str], float] | None:
    """The groups open at `t`, and the next time any group's hours open or close; None when
    a closed group's hours never open again."""
    open_, cuts = [], []
    for tz in groups:
        closes = calendar.closes_at(t, tz)
        if closes is not None:
            open_.append(tz)
            cuts.append(closes)
            continue
        opens = calendar.next_open(t, tz)
        if opens is None:
            return None
        cuts.append(opens)
    return open_, max(min(cuts), t)
