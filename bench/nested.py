"""Row 6: nested limits, measured at the provider: two senders on one account, two accounts.

    python -m bench.nested [--per-second 20] [--seconds 30] [--processes 2]

Three campaigns at once, none with a rate of its own: `a1` and `a2` for two senders (80/s
each, Meta's default) on the `default` account, whose throttle is `--per-second`; `b` for a
third sender on the account `brand-b` (its own token) at half that. The sandbox throttles
each token at its account's rate with a strict sliding window (any send over it is answered
429) and counts its 429s. Two worker processes (threads 32 each) share every limit through
Redis. From the sandbox's arrival times, per account: the most sends in any 1-s window, the
utilisation (sends in the first `--seconds` after the account's first send over what its
throttle allows), and for `default` each campaign's share while both were sending.

Then the hand-over of a paused campaign's share: two campaigns on `default`; after
`HANDOVER_AFTER` seconds one is paused, and the other's sends are counted per 0.5 s after
the pause (its share was half the account: it should go to the whole at once).
"""

import argparse
import json
import sys
import time
from typing import Any

from bench import arrivals, harness
from bench.harness import Session
from bench.throughput import phone

#: The second account's name; its token is the session sandbox's second one.
BRAND_B = "brand-b"
#: Seconds the two campaigns share the account before one of them is paused.
HANDOVER_AFTER = 4.0


def _campaigns(
    store: Any, per_second: int, seconds: float, plan: dict[str, Any] | None = None
) -> dict[str, str]:
    from broadcaster.campaigns import Campaign, new_campaign_id
    from broadcaster.contacts import Contact

    plan = plan or {  # name: (sender, account, its pace per second alone on its share)
        "a1": ("6281100000001", None, per_second / 2),
        "a2": ("6281100000002", None, per_second / 2),
        "b": ("6281100000003", BRAND_B, per_second / 2),
    }
    ids, start = {}, 0
    for name, (sender, account, pace) in plan.items():
        n = int(pace * seconds) + 4 * per_second  # enough to keep sending past `seconds`
        campaign = store.create(
            Campaign(id=new_campaign_id(), name=name, channel="waba", sender=sender,
                     text="Halo {name}", account=account),
            (Contact(i + 2, phone(start + i), {"name": f"N{i}"}) for i in range(n)),
            window=harness.window_for(per_second * 60),
        )  # fmt: skip
        ids[name], start = campaign.id, start + n
    return ids


def run(
    session: Session, *, per_second: int = 20, seconds: float = 30.0, processes: int = 2
) -> dict[str, Any]:
    from broadcaster.keys import Keys
    from broadcaster.store import CampaignStore

    slow = per_second // 2
    session.clean()
    session.box.configure(
        latency_ms=0, rate_limit=f"{per_second}/s", throttle_window="sliding",
        token_rate_limits={harness.SECOND_TOKEN: f"{slow}/s"},
    )  # fmt: skip
    store = CampaignStore(session.store_client(), keys=Keys("bc"), stale_after=harness.STALE_AFTER)
    ids = _campaigns(store, per_second, seconds)
    accounts = {BRAND_B: {"token": harness.SECOND_TOKEN, "rates": {"waba": f"{slow}/s"}}}
    env = {
        "BROADCASTER_RATE_WABA_PER_MINUTE": str(per_second * 60),
        "BROADCASTER_SENDER_RATE": "80/s",
        "BROADCASTER_ACCOUNTS": json.dumps(accounts),
    }
    load = harness.load_average()[0]
    with session.project_workers(processes, **env):
        for cid in ids.values():
            session.start_project_task("broadcaster.start_campaign", cid)
        deadline = time.monotonic() + seconds * 2.5 + 30
        while time.monotonic() < deadline and any(
            store.get(cid).state != "completed" for cid in ids.values()
        ):
            time.sleep(0.2)
        report = session.box.http.get("/_sandbox/sends").json()  # with the 429 count
        handover = _handover(session, store, per_second)
    session.box.configure(rate_limit=0, throttle_window="fixed", token_rate_limits={})
    sends = report["sends"]
    by_ref = {
        name: [s["t"] for s in sends if s["ref"].startswith(cid)] for name, cid in ids.items()
    }
    rows = [r for cid in ids.values() for r in store.iter_rows(cid)]
    return {
        "limit_per_s": per_second,
        "slow_limit_per_s": slow,
        "seconds": seconds,
        "pool": f"threads 32 x {processes} processes",
        "recipients": {name: store.get(cid).total for name, cid in ids.items()},
        "states": {name: str(store.get(cid).state) for name, cid in ids.items()},
        "default": arrivals.account(by_ref["a1"] + by_ref["a2"], per_second, seconds),
        "brand_b": arrivals.account(by_ref["b"], slow, seconds),
        "shares": _shares({k: by_ref[k] for k in ("a1", "a2")}),
        "throttled_429": report["throttled"],
        "retried": sum(r.attempts for r in rows) - sum(1 for r in rows if r.status == "sent"),
        "duplicates": report["duplicates"],
        "handover": handover,
        "load_before": load,
    }


def _handover(session: Session, store: Any, per_second: int) -> dict[str, Any]:
    """Pause one of two campaigns sharing `default`; the other's sends per 0.5 s after."""
    session.box.reset()
    plan = {"p1": ("6281100000011", None, per_second), "p2": ("6281100000012", None, per_second)}
    ids = _campaigns(store, per_second, HANDOVER_AFTER + 6.0, plan)
    for cid in ids.values():
        session.start_project_task("broadcaster.start_campaign", cid)
    while len(session.box.sends()) < 2 * per_second:  # both under way
        time.sleep(0.05)
    time.sleep(HANDOVER_AFTER)
    paused_at = time.time()
    store.pause(ids["p2"], "bench")
    time.sleep(5.0)
    sends = session.box.sends()
    for cid in ids.values():
        store.cancel(cid)
    times = {n: [s["t"] - paused_at for s in sends if s["ref"].startswith(c)]
             for n, c in ids.items()}  # fmt: skip
    before = [t for t in times["p1"] if -2.0 <= t < 0]
    return {
        "limit_per_s": per_second,
        "p1_per_s_in_2s_before": len(before) / 2.0,
        "p1_per_half_s_after": [
            sum(1 for t in times["p1"] if i / 2 <= t < (i + 1) / 2) * 2 for i in range(8)
        ],
        "p2_sends_after_pause": sum(1 for t in times["p2"] if t >= 0),
        "p2_last_send_after_pause_ms": max((t for t in times["p2"] if t >= 0), default=0) * 1000,
    }


def _shares(times: dict[str, list[float]]) -> dict[str, Any]:
    """Each campaign's sends while all were sending, and its distance from an equal share."""
    start = max(min(t) for t in times.values())
    end = min(max(t) for t in times.values())
    counts = {k: sum(1 for u in t if start <= u <= end) for k, t in times.items()}
    equal = sum(counts.values()) / len(counts)
    return {
        "overlap_s": end - start,
        "counts": counts,
        "max_off_equal": max(abs(c - equal) / equal for c in counts.values()) if equal else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-second", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
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
