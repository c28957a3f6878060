"""Sends as the provider saw them: counts over windows of the sandbox's arrival times.

Shared by the rows that judge a rate at the provider (rate, nested, pool, multihost): the
busiest 1-s window, the utilisation of a span, the spacing of the arrivals.
"""

import bisect
import itertools
from typing import Any

from bench import harness


def max_in_window(times: list[float], width: float = 1.0) -> int:
    """The most timestamps in any half-open window [t, t + width)."""
    times = sorted(times)
    return max((bisect.bisect_left(times, t + width) - i for i, t in enumerate(times)), default=0)


def account(times: list[float], limit: float, seconds: float) -> dict[str, Any]:
    """One throttled account (or sender): the sends it had accepted, the most in any 1-s
    window, and its utilisation: the sends in the first `seconds` after its first one over
    what `limit` (sends a second) allows in that span."""
    times = sorted(times)
    first = times[0] if times else 0.0
    in_span = bisect.bisect_left(times, first + seconds)
    return {
        "accepted": len(times),
        "max_in_any_1s": max_in_window(times),
        "sends_in_span": in_span,
        "utilisation": in_span / (limit * seconds),
    }


def tightest_span(times: list[float], limit: int) -> float:
    """The shortest time holding limit + 1 consecutive sends: under 1 s, a window is over.

    Its distance from 1 s is the headroom the limiter's margin left against jitter.
    """
    spans = [times[i + limit] - times[i] for i in range(len(times) - limit)]
    return min(spans, default=float("nan"))


def gaps(times: list[float], interval: float) -> dict[str, float]:
    """Spacing of the arrivals: median, p99, and slots skipped (a gap over 1.5 intervals)."""
    diffs = sorted(b - a for a, b in itertools.pairwise(times))
    if not diffs:
        return {}
    return {
        "gap_median_ms": harness.percentile(diffs, 0.5) * 1000,
        "gap_p99_ms": harness.percentile(diffs, 0.99) * 1000,
        "gap_max_ms": diffs[-1] * 1000,
        "gaps_over_1_5_slots": sum(1 for d in diffs if d > 1.5 * interval),
        "lost_slots": sum(max(0, round(d / interval) - 1) for d in diffs),
    }
