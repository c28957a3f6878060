"""Event webhooks (issue 17): delivery throughput, lag behind the change, cost and bound.

    python -m bench.events [--n 3000] [--latency-ms 0] [--cost-events 2000]
                           [--backlog-events 20000]

One campaign of `--n` recipients, launched as an application launches it with an
`events_url` (a receiver in this process, keep-alive, answering 204), sent by two worker
processes of 32 threads with no rate of its own. Every status change leaves an event
(`campaign.started`, a `recipient.sent` per recipient, `campaign.completed`); the workers
deliver them, signed. Reported: events delivered per second (over the span of their
arrivals, against the sends per second that made them), and each event's lag from its
timestamp (the change, on Redis's side) to its arrival, p50 and p99. Then, in this process
on the session's Redis: the client CPU per event of the delivery loop (bench/event_cost.py)
and Redis bytes per event waiting for a subscriber that is down (bench/event_backlog.py).
"""

import argparse
import json
import sys
import time
from typing import Any

from bench import event_backlog, event_cost, harness
from bench.receiver import SECRET, Arrivals, event_phone
from bench.small import event_lag


def _campaign(session: Any, arrivals: Arrivals, n: int) -> dict[str, Any]:
    from broadcaster import enqueue
    from broadcaster.settings import Settings
    from broadcaster.store import open_store
    from workers.dispatch import CeleryDispatch

    store = open_store(Settings())
    t0 = time.monotonic()
    cid = enqueue.enqueue_broadcast(
        [{"phone": event_phone(i)} for i in range(n)], sender="waba-1", text="Halo",
        store=store, dispatch=CeleryDispatch(), events_url=arrivals.url, events_secret=SECRET,
    ).campaign.id  # fmt: skip
    deadline = t0 + 60 + n / 20
    while store.state(cid) != "completed" and time.monotonic() < deadline:
        time.sleep(0.05)
    lag = event_lag(arrivals, n + 2, timeout=max(1.0, deadline - time.monotonic()))
    times = sorted(s["t"] for s in session.box.sends())
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    return {
        "state": str(store.state(cid)),
        "sends_per_s": round(len(times) / span, 1) if span else None,
        **lag,
    }


def run(
    session: Any, *, n: int = 3000, latency_ms: int = 0, workers: int = 2,
    cost_events: int = 2000, backlog_events: int = 20_000,
) -> dict[str, Any]:  # fmt: skip
    session.clean()
    session.box.configure(latency_ms=latency_ms)
    arrivals = Arrivals()
    load = harness.load_average()[0]
    try:
        with session.client_env(), session.project_workers(workers):
            delivery = _campaign(session, arrivals, n)
    finally:
        session.box.configure(latency_ms=0)
        arrivals.close()
    session.clean()
    cost = event_cost.cpu_per_event(session.store_client(), cost_events)
    session.clean()
    backlog = event_backlog.bytes_per_event(session.store_client(), backlog_events)
    session.clean()
    return {
        "recipients": n, "latency_ms": latency_ms,
        "pool": f"threads 32 x {workers} processes",
        **delivery, "cost": cost, "backlog": backlog, "load_before": load,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--cost-events", type=int, default=2000)
    parser.add_argument("--backlog-events", type=int, default=20_000)
    args = parser.parse_args()
    harness.exit_on_term()
    with harness.session() as session:
        result = run(session, n=args.n, latency_ms=args.latency_ms,
                     cost_events=args.cost_events, backlog_events=args.backlog_events)  # fmt: skip
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    sys.exit(main())
