"""Row 2: rate accuracy of the global limit, measured where it matters: at the provider.

    python -m bench.rate [--per-second 20] [--seconds 60] [--processes 2]

One campaign for one sender with a limit of `--per-second`, the sandbox's throttle set to the
same limit (a strict sliding window: a send over it is answered 429), and two worker processes
(threads 32 each) competing for the slots. From the sandbox's arrival times of every accepted
send: the most sends in any 1-s window (sliding, every start point), and the utilisation, the
sends in the first `--seconds` after the first one over what the limit allows. The 429s are
the attempts the store recorded beyond one per sent recipient (no other failure can happen
here: the numbers are clear of the sandbox's scripted ones).
"""

import argparse
import bisect
import itertools
import json
import sys
import time
from typing import Any

from bench import harness
from bench.harness import Session
from bench.throughput import phone


def max_in_window(times: list[float], width: float = 1.0) -> int:
    """The most timestamps in any half-open window [t, t + width)."""
    times = sorted(times)
    return max((bisect.bisect_left(times, t + width) - i for i, t in enumerate(times)), default=0)


def run(
    session: Session, *, per_second: int = 20, seconds: float = 60.0, processes: int = 2
) -> dict[str, Any]:
    from broadcaster.campaigns import Campaign, new_campaign_id
    from broadcaster.contacts import Contact
    from broadcaster.keys import Keys
    from broadcaster.store import CampaignStore

    session.clean()
    session.box.configure(latency_ms=0, rate_limit=f"{per_second}/s")
    store = CampaignStore(session.store_client(), keys=Keys("bc"), stale_after=harness.STALE_AFTER)
    n = int(per_second * seconds) + 2 * per_second  # enough to keep sending past `seconds`
    campaign = store.create(
        Campaign(id=new_campaign_id(), name="rate", channel="waba", sender="w",
                 text="Halo {name}", rate_per_minute=per_second * 60),
        (Contact(i + 2, phone(i), {"name": f"N{i}"}) for i in range(n)),
        window=harness.window_for(per_second * 60),
    )  # fmt: skip
    load = harness.load_average()[0]
    with session.project_workers(processes):
        session.start_project_task("broadcaster.start_campaign", campaign.id)
        deadline = time.monotonic() + seconds * 1.5 + 30
        while store.get(campaign.id).state != "completed" and time.monotonic() < deadline:
            time.sleep(0.2)
    session.box.configure(rate_limit=0)
    times = sorted(s["t"] for s in session.box.sends())
    rows = list(store.iter_rows(campaign.id))
    sent = sum(1 for r in rows if r.status == "sent")
    attempts = sum(r.attempts for r in rows)
    first = times[0] if times else 0.0
    in_span = bisect.bisect_left(times, first + seconds)
    return {
        "limit_per_s": per_second,
        "seconds": seconds,
        "worker_processes": processes,
        "pool": str(harness_pool(processes)),
        "recipients": n,
        "accepted": len(times),
        "recorded_sent": sent,
        "state": str(store.get(campaign.id).state),
        "max_in_any_1s": max_in_window(times),
        "tightest_span_ms": tightest_span(times, per_second) * 1000,
        "sends_in_span": in_span,
        "utilisation": in_span / (per_second * seconds),
        "throttled_429": attempts - sent,
        **gaps(times[:in_span], 1.0 / per_second),
        "errors": sorted({r.error for r in rows if r.error})[:5],
        "load_before": load,
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


def harness_pool(processes: int) -> str:
    return f"threads 32 x {processes} processes"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-second", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    harness.exit_on_term()
    with harness.session() as session:
        result = run(
            session, per_second=args.per_second, seconds=args.seconds, processes=args.processes
        )
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    sys.exit(main())
