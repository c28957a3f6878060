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
import json
import sys
import time
from typing import Any

from bench import arrivals, harness
from bench.harness import Session
from bench.throughput import phone


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
    use = arrivals.account(times, per_second, seconds)
    return {
        "limit_per_s": per_second,
        "seconds": seconds,
        "worker_processes": processes,
        "pool": str(harness_pool(processes)),
        "recipients": n,
        **use,
        "recorded_sent": sent,
        "state": str(store.get(campaign.id).state),
        "tightest_span_ms": arrivals.tightest_span(times, per_second) * 1000,
        "throttled_429": attempts - sent,
        **arrivals.gaps(times[: use["sends_in_span"]], 1.0 / per_second),
        "errors": sorted({r.error for r in rows if r.error})[:5],
        "load_before": load,
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
