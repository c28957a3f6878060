"""Row 1: throughput and worker CPU per send, the project's pipeline against two baselines.

    python -m bench.throughput [--n 5000] [--runs 3] [--latency-ms 0 100] [--variants a b c]

(a) the project's pipeline with every guarantee on: `celery -A workers.app worker`, a
    campaign of N recipients started with the `start_campaign` task; claim, global rate limit
    (set far above what the machine can do, so it paces nothing but still runs), pooled
    client, outcome recorded, dispatch window refilled;
(b) the naive baseline of `bench/baselines.py`: a `.delay()` per message, `httpx.post()`;
(c) the bare baseline: one pooled client per process, one kombu batch, no guarantees;
(r) (a) with RabbitMQ as the broker (a node of the session's own; Redis is the store only).

The clock starts when the campaign is started (a: the start task is published; b, c: the
first message is published) and stops at the sandbox's arrival time of the last send plus
the sandbox latency, so the polling interval does not count. Worker CPU is the user + system
time of every worker process and its children, from /proc, between those points. The runs are
interleaved (a, b, c, then b, c, a, ...) so that a disturbance of the shared machine hits the
variants alike; ratios are of the medians.
"""

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench import harness
from bench.harness import Session

#: Campaign rate limit for the throughput runs: far above the machine, so it never waits.
UNPACED_PER_MINUTE = 6_000_000


def phone(i: int) -> str:
    """A unique number clear of the sandbox's scripted endings (0001-0014)."""
    return f"6281{i // 4000:05d}{5000 + i % 4000:04d}"


@dataclass(frozen=True)
class Pool:
    pool: str
    concurrency: int
    processes: int

    def __str__(self) -> str:
        procs = "process" if self.processes == 1 else "processes"
        return f"{self.pool} {self.concurrency} x {self.processes} {procs}"


@dataclass
class Variant:
    """One way of sending N messages: how to start its workers and its messages."""

    key: str
    label: str
    app: str
    queue: str
    pools: dict[int, Pool]  # by sandbox latency (ms); 0 is the default
    start: Callable[[Session, int], Any]
    check: Callable[[Session, Any, int], dict[str, Any]] = field(
        default=lambda session, state, n: {}
    )
    #: More worker options (bench.pipeline --events adds -E, as production runs for Flower).
    extra: tuple[str, ...] = ()
    broker: str = "redis"  # or "rabbitmq"

    def pool(self, latency_ms: int) -> Pool:
        return self.pools.get(latency_ms, self.pools[0])

    @contextmanager
    def workers(self, session: Session, latency_ms: int) -> Iterator[list[Any]]:
        p = self.pool(latency_ms)
        extra = [] if self.app == "workers.app" else ["-Q", self.queue]
        cmd = harness.celery_worker_cmd(self.app, p.pool, p.concurrency, *extra, *self.extra)
        env = session.worker_env(BROADCASTER_BROKER_URL=session.broker_url(self.broker))
        with harness.workers(
            cmd, env, p.processes, session.ready_client(), name=self.key
        ) as procs:
            yield procs


# (a) the project's pipeline -----------------------------------------------------------------


def _pipeline_prepare(session: Session, n: int) -> str:
    from broadcaster.campaigns import Campaign, new_campaign_id
    from broadcaster.contacts import Contact
    from broadcaster.keys import Keys
    from broadcaster.store import CampaignStore

    store = CampaignStore(session.store_client(), keys=Keys("bc"), stale_after=harness.STALE_AFTER)
    campaign = store.create(
        Campaign(id=new_campaign_id(), name="bench", channel="waba", sender="w",
                 text="Halo {name}", rate_per_minute=UNPACED_PER_MINUTE),
        (Contact(i + 2, phone(i), {"name": f"N{i}"}) for i in range(n)),
        window=harness.window_for(UNPACED_PER_MINUTE),
    )  # fmt: skip
    return campaign.id


def _pipeline_start(session: Session, cid: str) -> str:
    session.start_project_task("broadcaster.start_campaign", cid)
    return cid


def _pipeline_start_rabbitmq(session: Session, cid: str) -> str:
    session.start_project_task("broadcaster.start_campaign", cid, broker="rabbitmq")
    return cid


def _pipeline_check(session: Session, cid: str, n: int) -> dict[str, Any]:
    from broadcaster.keys import Keys
    from broadcaster.store import CampaignStore

    store = CampaignStore(session.store_client(), keys=Keys("bc"), stale_after=harness.STALE_AFTER)
    deadline = time.monotonic() + 10
    while store.get(cid).state != "completed" and time.monotonic() < deadline:
        time.sleep(0.05)
    counts = store.counts(cid)
    return {"state": str(store.get(cid).state), "recorded_sent": counts["sent"]}


# (b), (c) the baselines ---------------------------------------------------------------------


def _recipients(n: int) -> list[tuple[str, str]]:
    return [(phone(i), f"N{i}") for i in range(n)]


def _naive_start(session: Session, recipients: list[tuple[str, str]]) -> dict[str, float]:
    from bench import baselines

    baselines.naive.conf.broker_url = session.redis.url(harness.BROKER_DB)
    t0, c0 = time.perf_counter(), time.process_time()
    baselines.enqueue_naive(recipients)
    return {"enqueue_s": time.perf_counter() - t0, "enqueue_cpu_s": time.process_time() - c0}


def _bare_start(session: Session, recipients: list[tuple[str, str]]) -> dict[str, float]:
    from bench import baselines

    baselines.bare.conf.broker_url = session.redis.url(harness.BROKER_DB)
    t0, c0 = time.perf_counter(), time.process_time()
    baselines.enqueue_bare(recipients)
    return {"enqueue_s": time.perf_counter() - t0, "enqueue_cpu_s": time.process_time() - c0}


def _enqueue_figures(session: Session, state: dict[str, float], n: int) -> dict[str, Any]:
    return dict(state)


VARIANTS = {
    "a": Variant(
        "a", "project pipeline, every guarantee", "workers.app", harness.PROJECT_QUEUE,
        {0: Pool("threads", 32, 2)}, _pipeline_start, _pipeline_check,
    ),
    "r": Variant(
        "r", "project pipeline, RabbitMQ broker", "workers.app", harness.PROJECT_QUEUE,
        {0: Pool("threads", 32, 2)}, _pipeline_start_rabbitmq, _pipeline_check,
        broker="rabbitmq",
    ),
    "b": Variant(
        "b", "naive: httpx.post per task, .delay() loop", "bench.baselines:naive",
        "bench_naive", {0: Pool("prefork", 2, 1), 100: Pool("prefork", 8, 1)},
        _naive_start, _enqueue_figures,
    ),
    "c": Variant(
        "c", "bare: pooled client, no guarantees", "bench.baselines:bare", "bench_bare",
        {0: Pool("prefork", 2, 1), 100: Pool("threads", 32, 2)}, _bare_start,
        _enqueue_figures,
    ),
}  # fmt: skip


# one run --------------------------------------------------------------------------------------


def run_once(
    session: Session, variant: Variant, n: int, latency_ms: int, *, timeout: float = 600.0,
    profile: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Send n messages with one variant; figures of that run.

    With `profile`, py-spy records the workers into `<profile>-<i>.raw` meanwhile.
    """
    session.clean()
    session.box.configure(latency_ms=latency_ms, rate_limit=0)
    pipeline = variant.app == "workers.app"
    arg: Any = _pipeline_prepare(session, n) if pipeline else _recipients(n)
    with ExitStack() as stack:
        procs = stack.enter_context(variant.workers(session, latency_ms))
        if profile:
            stack.enter_context(harness.profiling([p.pid for p in procs], profile))
        counter = harness.SendCounter(session.box)
        broker = session.broker_client()
        cpu0, rcpu0, scpu0 = harness.workers_cpu(procs), session.redis.cpu(), session.box.cpu()
        bcpu0 = _rabbit_cpu(session)
        load = harness.load_average()[0]
        busy0, own0, w0 = harness.machine_busy_seconds(), time.process_time(), time.monotonic()
        calls0 = session.redis.commands()
        t0 = time.time()
        state = variant.start(session, arg)
        depth, sent = _wait(counter, broker, variant.queue, n, time.monotonic() + timeout)
        cpu = harness.workers_cpu(procs) - cpu0
        rcpu, scpu = session.redis.cpu() - rcpu0, session.box.cpu() - scpu0
        bcpu = _rabbit_cpu(session) - bcpu0
        calls = session.redis.commands()
        ours = cpu + rcpu + scpu + bcpu + time.process_time() - own0
        others = (harness.machine_busy_seconds() - busy0 - ours) / (time.monotonic() - w0)
        checked = variant.check(session, state, n)
    wall = (counter.last + latency_ms / 1000 - t0) if sent else float("nan")
    return {
        "variant": variant.key,
        "latency_ms": latency_ms,
        "n": n,
        "sent": sent,
        "complete": sent >= n,
        "duplicates": len(counter.seen) - len(counter.phones),
        "wall_s": wall,
        "sends_per_s": sent / wall if sent else 0.0,
        "worker_cpu_ms_per_send": cpu * 1000 / sent if sent else float("nan"),
        "redis_cpu_ms_per_send": rcpu * 1000 / sent if sent else float("nan"),
        "sandbox_cpu_ms_per_send": scpu * 1000 / sent if sent else float("nan"),
        # RabbitMQ's CPU (its node runs for every row once started: counted in (r) only)
        "rabbitmq_cpu_ms_per_send": (
            bcpu * 1000 / sent if sent and variant.broker == "rabbitmq" else 0.0
        ),
        "broker": variant.broker,
        "max_broker_depth": depth,
        "redis_commands_per_send": _per(calls, calls0, "total", sent),
        "redis_scripts_per_send": _per(calls, calls0, "evalsha", sent),
        "load_before": load,
        "other_cpus_busy": max(0.0, others),
        "pool": str(variant.pool(latency_ms)),
        **checked,
    }


def _rabbit_cpu(session: Session) -> float:
    proc = session.rabbit.proc if session.rabbit is not None else None
    return harness.cpu_seconds(proc.pid) if proc is not None else 0.0


def _per(after: dict[str, int], before: dict[str, int], name: str, sent: int) -> float:
    return (after.get(name, 0) - before.get(name, 0)) / sent if sent else float("nan")


def _wait(
    counter: harness.SendCounter, broker: Any, queue: str, n: int, deadline: float
) -> tuple[int, int]:
    """Poll the sandbox until n sends arrived, nothing moved for 15 s, or the deadline."""
    depth, sent, moved = 0, 0, time.monotonic()
    while sent < n and time.monotonic() < deadline:
        time.sleep(0.05)
        depth = max(depth, int(broker.llen(queue)))
        now_sent = counter.poll()
        if now_sent != sent:
            sent, moved = now_sent, time.monotonic()
        elif time.monotonic() - moved > 15:
            break
    return depth, sent


# many runs ------------------------------------------------------------------------------------


def measure(
    session: Session, *, n: int, runs: int, latencies: list[int], keys: list[str],
    n_naive: int | None = None, log: Callable[[str], None] = print,
) -> dict[str, Any]:  # fmt: skip
    """Interleaved runs of each variant at each latency; medians, ranges and ratios.

    A short run of the pipeline first, not counted: the first run of a session was slower
    (the sandbox's and Redis's first requests, page cache).
    """
    out: dict[str, Any] = {}
    warm = run_once(session, VARIANTS[keys[0]], min(n, 1000), latencies[0])
    log(f"warm-up, not counted: {json.dumps(_brief(warm))}")
    for latency in latencies:
        runs_by: dict[str, list[dict[str, Any]]] = {k: [] for k in keys}
        for rep in range(runs):
            order = keys[rep % len(keys) :] + keys[: rep % len(keys)]
            for key in order:
                size = n_naive if key == "b" and n_naive else n
                result = run_once(session, VARIANTS[key], size, latency)
                runs_by[key].append(result)
                log(json.dumps(_brief(result)))
        out[str(latency)] = summarize(runs_by)
    return out


def _brief(r: dict[str, Any]) -> dict[str, Any]:
    keep = ("variant", "latency_ms", "sent", "sends_per_s", "worker_cpu_ms_per_send",
            "redis_cpu_ms_per_send", "redis_commands_per_send", "redis_scripts_per_send",
            "max_broker_depth", "other_cpus_busy", "duplicates")  # fmt: skip
    return {k: round(r[k], 2) if isinstance(r[k], float) else r[k] for k in keep}


_METRICS = (
    "sends_per_s", "worker_cpu_ms_per_send", "redis_cpu_ms_per_send", "sandbox_cpu_ms_per_send",
    "rabbitmq_cpu_ms_per_send", "wall_s", "load_before", "other_cpus_busy",
    "redis_commands_per_send", "redis_scripts_per_send",
)  # fmt: skip


def summarize(runs_by: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    out: dict[str, Any] = {"variants": {}}
    for key, runs in runs_by.items():
        v = VARIANTS[key]
        out["variants"][key] = {
            "label": v.label,
            "broker": v.broker,
            "pool": runs[0]["pool"],
            "n": runs[0]["n"],
            "complete": all(r["complete"] for r in runs),
            "duplicates": sum(r["duplicates"] for r in runs),
            "max_broker_depth": max(r["max_broker_depth"] for r in runs),
            **{m: harness.summary([r[m] for r in runs]) for m in _METRICS},
            "runs": runs,
        }
    out["ratios"] = _ratios(out["variants"])
    return out


def _ratios(variants: dict[str, Any]) -> dict[str, Any]:
    ratios: dict[str, Any] = {}
    for other in ("b", "c"):
        if "a" not in variants or other not in variants:
            continue
        a, o = variants["a"], variants[other]
        per_run = [
            ra["sends_per_s"] / ro["sends_per_s"]
            for ra, ro in zip(a["runs"], o["runs"], strict=False)
            if ro["sends_per_s"]
        ]
        ratios[f"a/{other}"] = {
            "sends_per_s": a["sends_per_s"]["median"] / o["sends_per_s"]["median"],
            "sends_per_s_per_run": per_run,
            "worker_cpu_per_send": a["worker_cpu_ms_per_send"]["median"]
            / o["worker_cpu_ms_per_send"]["median"],
        }
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--n-naive", type=int, default=None, help="recipients for (b)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency-ms", type=int, nargs="+", default=[0, 100])
    parser.add_argument("--variants", nargs="+", default=["a", "b", "c"], choices="abcr")
    parser.add_argument("--json", help="write the result here")
    args = parser.parse_args()
    harness.exit_on_term()
    with harness.session() as session:
        result = measure(
            session, n=args.n, runs=args.runs, latencies=args.latency_ms,
            keys=args.variants, n_naive=args.n_naive,
        )  # fmt: skip
    for latency, row in result.items():
        for key, v in row["variants"].items():
            med, lo, hi = (v["sends_per_s"][k] for k in ("median", "min", "max"))
            cpu = v["worker_cpu_ms_per_send"]["median"]
            print(f"{latency} ms {key} ({v['pool']}): {med:.0f} sends/s ({lo:.0f}-{hi:.0f}),"
                  f" {cpu:.2f} ms CPU/send")  # fmt: skip
        for name, ratio in row["ratios"].items():
            print(f"{latency} ms {name}: {ratio['sends_per_s']:.2f}x sends/s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
