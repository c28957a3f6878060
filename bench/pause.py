"""Row 5: pause latency, from the pause to the last send the sandbox sees.

    python -m bench.pause [--runs 3] [--n 5000]

Two worker processes (threads 32 each) send a campaign; once the sandbox has seen a share of
it, the campaign is paused as the API and the CLI do (`CampaignStore.pause`), and the sandbox's
arrival times show how long sends kept coming. Two cases:

- unpaced: the rate limit far above the machine (the workers go as fast as they can);
- paced at 20/s: each worker thread holds its claimed recipient until its rate-limit slot,
  which may be up to the limiter's `max_wait` (2 s) ahead.

Each run is a new campaign in the same workers; medians of `--runs` runs with min-max.
"""

import argparse
import json
import sys
import time
from typing import Any

from bench import harness
from bench.harness import Session
from bench.throughput import phone

SETTLE_S = 4.0


def _one(session: Session, store: Any, *, n: int, per_minute: float, pause_after: int) -> Any:
    from broadcaster.campaigns import Campaign, new_campaign_id
    from broadcaster.contacts import Contact

    session.box.reset()
    campaign = store.create(
        Campaign(id=new_campaign_id(), name="pause", channel="waba", sender="w",
                 text="Halo {name}", rate_per_minute=per_minute),
        (Contact(i + 2, phone(i), {"name": f"N{i}"}) for i in range(n)),
        window=harness.window_for(per_minute),
    )  # fmt: skip
    counter = harness.SendCounter(session.box)
    session.start_project_task("broadcaster.start_campaign", campaign.id)
    deadline = time.monotonic() + 120
    while counter.poll() < pause_after and time.monotonic() < deadline:
        time.sleep(0.01)
    t_pause = time.time()
    store.pause(campaign.id, "bench")
    time.sleep(SETTLE_S)
    after = [s["t"] for s in session.box.sends(since=t_pause)]
    store.cancel(campaign.id)
    return {
        "latency_s": max(after) - t_pause if after else 0.0,
        "sends_after_pause": len(after),
        "sent_before_pause": counter.poll() - len(after),
    }


def run(session: Session, *, runs: int = 3, n: int = 5000) -> dict[str, Any]:
    from broadcaster.keys import Keys
    from broadcaster.store import CampaignStore

    session.clean()
    session.box.configure(latency_ms=0, rate_limit=0)
    store = CampaignStore(session.store_client(), keys=Keys("bc"), stale_after=harness.STALE_AFTER)
    cases = {
        "unpaced": {"per_minute": 6_000_000, "pause_after": min(n // 3, 1500)},
        "paced_20_per_s": {"per_minute": 1200, "pause_after": 60},
    }
    out: dict[str, Any] = {"load_before": harness.load_average()[0]}
    with session.project_workers(2):
        for name, case in cases.items():
            results = [_one(session, store, n=n, **case) for _ in range(runs)]
            out[name] = {
                "latency_s": harness.summary([r["latency_s"] for r in results]),
                "sends_after_pause": harness.summary([r["sends_after_pause"] for r in results]),
                "runs": results,
            }
    out["pool"] = "threads 32 x 2 processes"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--n", type=int, default=5000)
    args = parser.parse_args()
    harness.exit_on_term()
    with harness.session() as session:
        print(json.dumps(run(session, runs=args.runs, n=args.n), indent=1))


if __name__ == "__main__":
    sys.exit(main())
