"""Several hosts: workers in Linux network namespaces, Redis and the sandbox a delay away.

    sudo python -m bench.multihost [--hosts 3] [--delay-ms 10] [--per-second 20]
                                   [--seconds 30] [--threads 16]

Needs root (`ip netns`, veth pairs). Redis (store and broker) and the sandbox run on the host
side; each of `--hosts` network namespaces gets a veth pair (10.211.<n>.2 inside, 10.211.<n>.1
outside) and one worker process (`--threads` threads) that reaches Redis and the sandbox only
through the host end of its pair. Between them sits `bench/delayproxy.py`, which adds
`--delay-ms` each way (a round trip of twice that): this kernel has no `tc netem` ("Specified
qdisc kind is unknown"), so the delay is added in user space; see docs/reliability.md.

Two campaigns, for two senders on one account throttled at `--per-second` (the sandbox's
strict sliding window per token, 429s counted), run at once on all hosts. From the sandbox's
arrival times: the most sends in any 1-s window, the utilisation over the first `--seconds`,
duplicates (per `X-Broadcaster-Ref`), and each campaign's share while both were sending.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from bench import harness
from bench.arrivals import account, gaps
from bench.nested import _shares
from bench.throughput import phone

SUBNET = "10.211"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@contextmanager
def namespaces(count: int) -> Iterator[list[str]]:
    """`count` network namespaces, each with a veth pair to the host; removed afterwards."""
    tag = os.getpid() % 10000
    names = [f"bcmh{tag}-{n}" for n in range(1, count + 1)]
    try:
        for n, name in enumerate(names, start=1):
            outside, inside = f"bcmh{tag}{n}h", f"bcmh{tag}{n}n"
            _ip("netns", "add", name)
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            _ip("link", "set", inside, "netns", name)
            _ip("addr", "add", f"{SUBNET}.{n}.1/24", "dev", outside)
            _ip("link", "set", outside, "up")
            for args in (("addr", "add", f"{SUBNET}.{n}.2/24", "dev", inside),
                         ("link", "set", inside, "up"), ("link", "set", "lo", "up")):  # fmt: skip
                _ip("netns", "exec", name, "ip", *args)
        yield names
    finally:
        for n, name in enumerate(names, start=1):
            subprocess.run(["ip", "link", "del", f"bcmh{tag}{n}h"], capture_output=True)
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


def _round_trip(namespace: str, host: str, port: int) -> float:
    """The median time of a Redis PING from inside a namespace (seconds)."""
    code = (
        "import redis,statistics,time\n"
        f"r=redis.Redis(host='{host}',port={port});r.ping();s=[]\n"
        "for _ in range(20):\n t=time.perf_counter();r.ping();s.append(time.perf_counter()-t)\n"
        "print(statistics.median(s))"
    )
    out = subprocess.run(
        ["ip", "netns", "exec", namespace, sys.executable, "-c", code],
        check=True, capture_output=True, text=True, cwd=harness.PROJECT,
    )  # fmt: skip
    return float(out.stdout.strip())


def _campaigns(store: Any, per_second: int, seconds: float) -> dict[str, str]:
    from broadcaster.campaigns import Campaign, new_campaign_id
    from broadcaster.contacts import Contact

    ids, start = {}, 0
    for name, sender in (("a1", "6281100000001"), ("a2", "6281100000002")):
        n = int(per_second / 2 * seconds) + 4 * per_second
        campaign = store.create(
            Campaign(id=new_campaign_id(), name=name, channel="waba", sender=sender,
                     text="Halo {name}"),
            (Contact(i + 2, phone(start + i), {"name": f"N{i}"}) for i in range(n)),
            window=harness.window_for(per_second * 60),
        )  # fmt: skip
        ids[name], start = campaign.id, start + n
    return ids


def run(
    session: harness.Session, *, hosts: int, delay_ms: float, per_second: int, seconds: float,
    threads: int,
) -> dict[str, Any]:  # fmt: skip
    from broadcaster.keys import Keys
    from broadcaster.store import CampaignStore

    session.clean()
    session.box.configure(latency_ms=0, rate_limit=f"{per_second}/s", throttle_window="sliding")
    store = CampaignStore(session.store_client(), keys=Keys("bc"), stale_after=harness.STALE_AFTER)
    ids = _campaigns(store, per_second, seconds)
    redis_port = int(session.redis.base.rpartition(":")[2])
    box_port = int(session.box.url.rpartition(":")[2])
    proxy_redis, proxy_box = harness.free_port(), harness.free_port()
    proxy = [
        sys.executable, "-m", "bench.delayproxy", "--delay-ms", str(delay_ms),
        f"{proxy_redis}=127.0.0.1:{redis_port}", f"{proxy_box}=127.0.0.1:{box_port}",
    ]  # fmt: skip
    with ExitStack() as stack:
        stack.enter_context(harness.process(proxy, dict(os.environ), log="delayproxy"))
        names = stack.enter_context(namespaces(hosts))
        time.sleep(0.5)  # the proxy listening
        rtt = _round_trip(names[0], f"{SUBNET}.1.1", proxy_redis)
        procs = []
        for n, name in enumerate(names, start=1):
            near = f"{SUBNET}.{n}.1"
            env = session.worker_env(
                BROADCASTER_REDIS_URL=f"redis://{near}:{proxy_redis}/{harness.STORE_DB}",
                BROADCASTER_BROKER_URL=f"redis://{near}:{proxy_redis}/{harness.BROKER_DB}",
                BENCH_READY_URL=f"redis://{near}:{proxy_redis}/{harness.READY_DB}",
                BROADCASTER_REPLAI_BASE_URL=f"http://{near}:{proxy_box}",
                BROADCASTER_RATE_WABA_PER_MINUTE=str(per_second * 60),
                BROADCASTER_SENDER_RATE="80/s",
            )
            cmd = ["ip", "netns", "exec", name,
                   *harness.celery_worker_cmd("workers.app", "threads", threads)]  # fmt: skip
            procs += stack.enter_context(
                harness.workers(cmd, env, 1, session.ready_client(), name=f"host{n}")
            )
        started = time.monotonic()
        for cid in ids.values():
            session.start_project_task("broadcaster.start_campaign", cid)
        deadline = started + seconds * 2.5 + 60
        while time.monotonic() < deadline and any(
            store.get(cid).state != "completed" for cid in ids.values()
        ):
            time.sleep(0.5)
        report = session.box.http.get("/_sandbox/sends").json()
        cpu = harness.workers_cpu(procs)
    session.box.configure(rate_limit=0, throttle_window="fixed")
    sends = report["sends"]
    times = {
        name: [s["t"] for s in sends if s["ref"].startswith(cid)] for name, cid in ids.items()
    }
    return {
        "hosts": hosts,
        "delay_ms_each_way": delay_ms,
        "redis_ping_rtt_ms": rtt * 1000,
        "limit_per_s": per_second,
        "seconds": seconds,
        "pool": f"threads {threads} x 1 process per host",
        "recipients": {name: store.get(cid).total for name, cid in ids.items()},
        "states": {name: str(store.get(cid).state) for name, cid in ids.items()},
        "counts": {name: store.counts(cid) for name, cid in ids.items()},
        "account": account(times["a1"] + times["a2"], per_second, seconds),
        "gaps": gaps(sorted(times["a1"] + times["a2"]), 1.0 / per_second),
        "shares": _shares(times),
        "throttled_429": report["throttled"],
        "duplicates": report["duplicates"],
        "max_per_phone": max(report["per_phone"].values(), default=0),
        "workers_cpu_s": cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--delay-ms", type=float, default=10.0, help="each way")
    parser.add_argument("--per-second", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("needs root: ip netns and veth pairs")
    harness.exit_on_term()
    with harness.session() as session:
        result = run(
            session, hosts=args.hosts, delay_ms=args.delay_ms, per_second=args.per_second,
            seconds=args.seconds, threads=args.threads,
        )  # fmt: skip
    result["load_average"] = harness.load_average()
    result["cpu"] = harness.machine().get("cpu")
    text = json.dumps(result, indent=1)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    sys.exit(main())
