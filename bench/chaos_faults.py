"""Which fault an `unknown` recipient met, from the chaos run's events and the row's time.

Each fault is a window of the run (seconds since the campaign started): from the event that
starts it to the one that ends it (a worker kill is an instant). A row's `updated_at` (whole
seconds) is the time of its last change the scripts record:

- "worker lost (lease expired)": when the ticker found the lease expired and turned the row
  `unknown`; the worker died within the lease before: in [updated - lease - slack, updated
  + slack].
- a client timeout: the outcome; the request went out `timeout` seconds before (earlier
  still if Redis was away when the outcome was recorded): it lies in [updated - timeout -
  slack, updated + slack].

The fault is the first, in `PRIORITY`, whose window meets that interval: Redis paused or full
are last, so they are named only when nothing else can explain the row (the issue's
acceptance: none of those should come from a pause or from memory pressure).
"""

import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

__all__ = ["PRIORITY", "attribute", "windows"]

#: event that starts a fault -> (event that ends it, or None for an instant; the fault)
STARTS: dict[str, tuple[str | None, str]] = {
    "SIGKILL worker": (None, "worker kill"),
    "latency spike begins": ("latency spike ends", "latency spike"),
    "sandbox process killed": ("sandbox process restarted", "sandbox stopped"),
    "sandbox down (503)": ("sandbox up", "sandbox down"),
    "Redis SIGKILL": ("Redis restarted from its AOF", "Redis crash"),
    "RabbitMQ stopped": ("RabbitMQ started again", "RabbitMQ restart"),
    "worker stopped (SIGTERM)": ("worker started again", "rolling restart"),
    "Redis SIGSTOP": ("Redis SIGCONT", "Redis paused"),
    "Redis full (maxmemory, noeviction)": ("Redis has room again", "Redis full"),
}
PRIORITY = [label for _end, label in STARTS.values()]
#: Seconds added on both sides: rows keep whole seconds, the ticker runs every second or so.
SLACK = 3.0


def windows(events: Iterable[dict[str, Any]]) -> list[tuple[float, float, str]]:
    """(start, end, fault) for every fault of the run; one still open ends at infinity."""
    out: list[tuple[float, float, str]] = []
    pending: dict[str, list[tuple[float, str]]] = {}
    for event in events:
        name, t = event["event"], float(event["t"])
        if name in STARTS:
            end, label = STARTS[name]
            if end is None:
                out.append((t, t, label))
            else:
                pending.setdefault(end, []).append((t, label))
        elif pending.get(name):
            start, label = pending[name].pop(0)
            out.append((start, t, label))
    out += [(start, math.inf, label) for opened in pending.values() for start, label in opened]
    return out


def attribute(
    rows: Iterable[tuple[float, bool]],
    faults: list[tuple[float, float, str]],
    *,
    lease: float,
    timeout: float,
) -> dict[str, int]:
    """How many rows each fault explains; rows are (updated, lost) with `updated` in seconds
    since the campaign started and `lost` True for a lease that expired."""
    found: Counter[str] = Counter()
    for updated, lost in rows:
        lo, hi = (updated - lease if lost else updated - timeout), updated
        hits = {label for start, end, label in faults if start <= hi + SLACK and end >= lo - SLACK}
        found[next((label for label in PRIORITY if label in hits), "no fault")] += 1
    return dict(found)
