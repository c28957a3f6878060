"""Sender pools (issue 16), measured at the provider: one campaign, four senders on four accounts.

    python -m bench.pool [--per-second 10] [--seconds 30] [--processes 2] [--send-batch N]

One campaign, launched as an application launches it (`launch`, what enqueue_broadcast, the API
and the CLI call), whose pool is four senders (80/s each, Meta's default), each on a Replai
account of its own (its own token), and no rate of its own: its pace is the sum of the pool's
limits.
The sandbox throttles each token at `--per-second` with a strict sliding window (any send over
it is answered 429) and counts its 429s. Two worker processes (threads 32 each) share every
limit through Redis. From the sandbox's arrival times: the pool's throughput over the first
`--seconds` (target: at least 3.8 x the throttle), and per account the most sends in any 1-s
window (never over the throttle) and its utilisation (sends in the first `--seconds` after its
first one over what its throttle allows; target 97 %).
"""

import argparse
import json
import sys
import time
from typing import Any

from bench import arrivals, harness
from bench.harness import Session
from bench.throughput import phone

#: The pool: sender -> (account, its token in the sandbox).
SENDERS = {
    f"628110000002{i}": (f"pool-{i}", token) for i, token in enumerate(harness.TOKENS, start=1)
}


def _launch(store: Any, per_second: int, seconds: float) -> str:
    """Launch the campaign as an application does (`launch`, what enqueue_broadcast, the API
    and the CLI call), with this process's settings: the session's, and `_settings`."""
    from broadcaster.operations.launching import CampaignRequest, LaunchDefaults, launch
    from broadcaster.settings import Settings
    from workers.app import create_app
    from workers.dispatch import CeleryDispatch

    pool_rate = per_second * len(SENDERS)
    # the pool spreads recipients by a hash of the phone: 15 % more than the span needs, so
    # every sender has enough to keep sending past `seconds`
    n = int(pool_rate * seconds * 1.15) + 4 * pool_rate
    settings = Settings()
    result = launch(
        store, CeleryDispatch(create_app(settings)),
        [{"phone": phone(i), "name": f"N{i}"} for i in range(n)],
        CampaignRequest(sender="", senders=list(SENDERS), text="Halo {name}", name="pool"),
        defaults=LaunchDefaults.from_settings(settings),
    )  # fmt: skip
    return str(result.campaign.id)


def _settings(per_second: int) -> dict[str, str]:
    """The deployment's settings: the four accounts and which sender sends through which."""
    rate = f"{per_second}/s"
    accounts = {
        name: {"token": token, "rates": {"waba": rate}} for name, token in SENDERS.values()
    }
    senders = {sender: {"account": name} for sender, (name, _) in SENDERS.items()}
    return {
        "BROADCASTER_SENDER_RATE": "80/s",
        "BROADCASTER_ACCOUNTS": json.dumps(accounts),
        "BROADCASTER_SENDERS": json.dumps(senders),
    }


def run(
    session: Session, *, per_second: int = 10, seconds: float = 30.0, processes: int = 2,
    send_batch: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    from broadcaster.keys import Keys
    from broadcaster.store import CampaignStore

    rate = f"{per_second}/s"
    session.clean()
    session.box.configure(
        latency_ms=0, rate_limit=rate, throttle_window="sliding",
        token_rate_limits={token: rate for _, token in SENDERS.values()},
    )  # fmt: skip
    store = CampaignStore(session.store_client(), keys=Keys("bc"), stale_after=harness.STALE_AFTER)
    load = harness.load_average()[0]
    env = _settings(per_second)
    if send_batch is not None:  # recipients per send task (the project's default: harness)
        env["BROADCASTER_SEND_BATCH"] = str(send_batch)
    with session.client_env(**env), session.project_workers(processes, **env):
        cid = _launch(store, per_second, seconds)
        deadline = time.monotonic() + seconds * 1.5 + 30
        while store.get(cid).state != "completed" and time.monotonic() < deadline:
            time.sleep(0.2)
        report = session.box.http.get("/_sandbox/sends").json()  # with the 429 count
    session.box.configure(rate_limit=0, throttle_window="fixed", token_rate_limits={})
    sends = [s for s in report["sends"] if s["ref"].startswith(cid)]
    times = sorted(s["t"] for s in sends)
    first = times[0] if times else 0.0
    in_span = sum(1 for t in times if t < first + seconds)
    rows = list(store.iter_rows(cid))
    return {
        "limit_per_s": per_second,
        "senders": len(SENDERS),
        "seconds": seconds,
        "pool": f"threads 32 x {processes} processes",
        "send_batch": send_batch or harness.SEND_BATCH,
        "window": int(store.redis.hget(store.keys.campaign(cid), "window") or 0),
        "pace_per_s": (store.get(cid).pace_per_minute or 0) / 60,
        "recipients": store.get(cid).total,
        "state": str(store.get(cid).state),
        "sends_per_s": in_span / seconds,
        "times_limit": in_span / seconds / per_second,
        "accounts": {
            name: arrivals.account(
                [s["t"] for s in sends if s["sender"] == sender], per_second, seconds
            )
            for sender, (name, _) in SENDERS.items()
        },
        "throttled_429": report["throttled"],
        "retried": sum(r.attempts for r in rows) - sum(1 for r in rows if r.status == "sent"),
        "duplicates": report["duplicates"],
        "load_before": load,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-second", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--send-batch", type=int, help="recipients per send task (default 8)")
    args = parser.parse_args()
    harness.exit_on_term()
    with harness.session() as session:
        result = run(
            session, per_second=args.per_second, seconds=args.seconds, processes=args.processes,
            send_batch=args.send_batch,
        )  # fmt: skip
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    sys.exit(main())
