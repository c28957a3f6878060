"""Data lifecycle in Redis: bytes per recipient, a 30-day soak with retention, and deleting a
1,000,000-recipient campaign without blocking Redis.

    python -m bench.lifecycle [--quick] [--days 30] [--per-day 34000] [--retention-days 3]
                              [--delete 1000000] [--rows memory soak delete] [--out DIR]

On a redis-server of its own (loopback, no persistence). Every recipient goes through the
store's own send path (prepare, claim, finish with a realistic `wamid` and the phone index),
pipelined; the clock is the store's, moved a day per campaign, so 30 days take minutes:

- memory: `used_memory` (INFO) per recipient of one campaign before sending, after every
  recipient was sent, and after it was archived (the summary that stays), and per archived
  campaign;
- soak: each simulated day a campaign of `--per-day` recipients is created, sent and
  completed, then the retention pass the ticker runs (`operations.archive_due`) archives
  what finished more than `--retention-days` ago; `used_memory` after each day is the curve;
- delete: a campaign of `--delete` recipients, all sent, is deleted through
  `operations.delete_campaign`, with SLOWLOG catching every command slower than 1 ms and the
  latency monitor on: the longest single command is what Redis was blocked for.

Writes `<out>/lifecycle-<rows>.json` (and `.md` when every row ran; `lifecycle-quick-*`
with `--quick`).
"""

import argparse
import base64
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import harness
from broadcaster import operations
from broadcaster.campaigns import Campaign, RecipientStatus, new_campaign_id
from broadcaster.contacts import Contact
from broadcaster.keys import Keys
from broadcaster.store import CampaignStore

DAY = 86400.0
ROWS = ("memory", "soak", "delete")
#: Recipients sent per pipelined round.
_BATCH = 2000


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def used(store: CampaignStore) -> int:
    """Redis's `used_memory`: what `maxmemory` is compared with."""
    return int(store.redis.info("memory")["used_memory"])


def key_bytes(store: CampaignStore) -> int:
    """The bytes of every key (MEMORY USAGE, summed over SCAN): the data alone, without the
    allocator's slack or Redis's own structures."""
    total, names = 0, []
    for name in store.redis.scan_iter(count=5000):
        names.append(name)
        if len(names) >= 5000:
            total += _usage(store, names)
            names = []
    return total + _usage(store, names)


def _usage(store: CampaignStore, names: list[bytes]) -> int:
    pipe = store.redis.pipeline(transaction=False)
    for name in names:
        pipe.memory_usage(name, samples=0)
    return sum(n or 0 for n in pipe.execute())


def make_campaign(store: CampaignStore, n: int, day: int) -> str:
    campaign = Campaign(
        id=new_campaign_id(), name=f"day {day}", channel="waba", sender="w", text="Halo {name}"
    )
    contacts = (
        Contact(line=i + 2, phone=f"628{day % 100:02d}{i:08d}", variables={"name": f"Name {i}"})
        for i in range(n)
    )
    return store.create(campaign, contacts, window=_BATCH).id


def send_all(store: CampaignStore, cid: str) -> None:
    """Every recipient through prepare, claim and finish (sent), pipelined by batch."""
    released = store.start(cid)
    prepare, claim, finish = (store.script(f"{n}.lua") for n in ("prepare", "claim", "finish"))
    while released:
        batch, released = released, []
        phones = _phones(store, cid, batch)
        until = store.clock() + 60
        pipe = store.redis.pipeline(transaction=False)
        for i in batch:
            keys, args = _prepare_call(store, cid, i)
            prepare(keys=keys, args=args, client=pipe)
        pipe.execute()
        pipe = store.redis.pipeline(transaction=False)
        for i in batch:
            k = store.keys
            keys = [*store.base_keys(cid), k.suppression(), k.given_back(cid, i), k.meta(cid)]
            claim(keys=keys, args=[cid, i, store.clock(), until, store.stale_after, phones[i]],
                  client=pipe)  # fmt: skip
        pipe.execute()
        pipe = store.redis.pipeline(transaction=False)
        for i in batch:
            wamid = "wamid." + base64.b64encode(os.urandom(40)).decode()
            keys, args = _finish_call(store, cid, i, wamid, phones[i], until)
            finish(keys=keys, args=args, client=pipe)
        for _, more in pipe.execute():
            released += [int(x) for x in more]


def _phones(store: CampaignStore, cid: str, batch: list[int]) -> dict[int, str]:
    from broadcaster.keys import BUCKET_SIZE

    pipe = store.redis.pipeline(transaction=False)
    for i in batch:
        b, f = divmod(i, BUCKET_SIZE)
        pipe.hget(store.keys.recipients(cid, b), f)
    return {i: r.decode().partition("\x1f")[0] for i, r in zip(batch, pipe.execute(), strict=True)}


def _prepare_call(store: CampaignStore, cid: str, i: int) -> tuple[list[str], list[Any]]:
    from broadcaster.keys import BUCKET_SIZE

    k, (b, f) = store.keys, divmod(i, BUCKET_SIZE)
    # prepare.lua's layout (store/sending.py): no daily cap, no sharing, no rate keys, any time
    keys = [*store.base_keys(cid), k.suppression(), k.recipients(cid, b), k.meta(cid),
            k.errors(cid), "", "", "", k.zones(cid)]  # fmt: skip
    return keys, [cid, i, store.clock(), store.stale_after, f, 0, 0, 0, 0, 0, 0, "", 0, 0]


def _finish_call(
    store: CampaignStore, cid: str, i: int, mid: str, phone: str, until: float
) -> tuple[list[str], list[Any]]:
    from broadcaster.keys import BUCKET_SIZE
    from broadcaster.store.base import digest

    k, (b, f) = store.keys, divmod(i, BUCKET_SIZE)
    keys = [
        *store.base_keys(cid), k.meta(cid), k.message_ids(cid, b), k.msgindex(mid),
        k.errors(cid), k.by_phone(phone), k.recent(cid), k.replies(cid), k.suppression(),
        k.resumes(), k.held(), k.held_since(), k.webhook_stats(),
    ]  # fmt: skip
    args = [
        cid, i, int(RecipientStatus.SENT), store.clock(), "1", 0, mid, f"{cid}:{i}", "", f,
        store.stale_after, digest(mid), phone, until,
    ]  # fmt: skip
    return keys, args


def memory_row(store: CampaignStore, n: int, archive: Path) -> dict[str, Any]:
    base = key_bytes(store)
    cid = make_campaign(store, n, 0)
    stored = key_bytes(store)
    send_all(store, cid)
    sent = key_bytes(store)
    operations.archive_campaign(store, cid, archive)
    archived = key_bytes(store)
    row = {
        "recipients": n,
        "bytes_per_recipient_stored": round((stored - base) / n, 1),
        "bytes_per_recipient_sent": round((sent - base) / n, 1),
        "bytes_per_recipient_archived": round((archived - base) / n, 3),
        "bytes_per_archived_campaign": archived - base,
        "archive_file_bytes": Path(store.get(cid).archive or "").stat().st_size,
    }
    operations.delete_campaign(store, cid)
    return row


def soak_row(
    store: CampaignStore, clock: Clock, *, days: int, per_day: int, retention_days: float,
    archive: Path,
) -> dict[str, Any]:  # fmt: skip
    base, keys_base = used(store), key_bytes(store)
    curve = []
    for day in range(days):
        clock.t = 1_800_000_000.0 + day * DAY
        t0 = time.perf_counter()
        cid = make_campaign(store, per_day, day)
        send_all(store, cid)
        assert store.get(cid).state == "completed"
        archived = operations.archive_due(store, archive, retention=retention_days * DAY)
        mb, keys_mb = (used(store) - base) / 1e6, (key_bytes(store) - keys_base) / 1e6
        curve.append({"day": day + 1, "used_mb": round(mb, 2), "keys_mb": round(keys_mb, 2),
                      "archived": len(archived),
                      "seconds": round(time.perf_counter() - t0, 1)})  # fmt: skip
        _log(f"soak day {day + 1}: used_memory +{mb:.1f} MB, keys +{keys_mb:.1f} MB, "
             f"archived {len(archived)}")  # fmt: skip
    after = [p["used_mb"] for p in curve[int(retention_days) + 1 :]]
    return {
        "days": days, "per_day": per_day, "total_recipients": days * per_day,
        "retention_days": retention_days, "curve": curve,
        "after_first_retention_min_mb": min(after), "after_first_retention_max_mb": max(after),
    }  # fmt: skip


def delete_row(store: CampaignStore, n: int) -> dict[str, Any]:
    cid = make_campaign(store, n, 99)
    _log(f"delete: {n:,} recipients stored, sending them all")
    send_all(store, cid)
    sent_mb = used(store) / 1e6
    r = store.redis
    r.config_set("slowlog-log-slower-than", 1000)  # microseconds
    r.config_set("slowlog-max-len", 100_000)
    r.config_set("latency-monitor-threshold", 1)  # ms
    r.slowlog_reset()
    r.execute_command("LATENCY", "RESET")
    t0 = time.perf_counter()
    removal = operations.delete_campaign(store, cid)
    seconds = time.perf_counter() - t0
    slow = r.slowlog_get(100_000)
    latest = r.execute_command("LATENCY", "LATEST")
    longest = max(slow, key=lambda e: e["duration"], default=None)
    return {
        "recipients": n, "used_mb_before": round(sent_mb, 1),
        "used_mb_after": round(used(store) / 1e6, 1), "seconds": round(seconds, 1),
        "keys": removal.keys, "index_entries": removal.index_entries,
        "commands_over_1ms": len(slow),
        "longest_ms": round(longest["duration"] / 1000, 2) if longest else 0.0,
        "longest_command": _name(longest["command"]) if longest else None,
        "latency_latest": [[_text(x) for x in e] for e in latest],
        "slowest": [
            {"ms": e["duration"] / 1000, "command": _text(e["command"])[:80]}
            for e in sorted(slow, key=lambda e: -e["duration"])[:5]
        ],
    }  # fmt: skip


def _name(command: bytes | str) -> str:
    return _text(command).split(" ")[0]


def _text(value: Any) -> Any:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def markdown(result: dict[str, Any]) -> str:
    m, s, d = result["memory"], result["soak"], result["delete"]
    lines = [
        f"# Data lifecycle ({result['meta']['command']})",
        "",
        f"{result['meta']['started']}, {result['meta']['cpu']}, Redis {result['meta']['redis']}",
        "",
        "| what | measured |", "|---|---|",
        f"| bytes per recipient, stored | {m['bytes_per_recipient_stored']} |",
        f"| bytes per recipient, sent (ids, phones indexed) | {m['bytes_per_recipient_sent']} |",
        f"| bytes per recipient, archived | {m['bytes_per_recipient_archived']} |",
        f"| one archived campaign of {m['recipients']:,} in Redis | "
        f"{m['bytes_per_archived_campaign']:,} B (file {m['archive_file_bytes']:,} B) |",
        f"| soak: {s['days']} days x {s['per_day']:,} = {s['total_recipients']:,}, retention "
        f"{s['retention_days']} d | {s['after_first_retention_min_mb']}-"
        f"{s['after_first_retention_max_mb']} MB after the first retention period |",
        f"| delete {d['recipients']:,} sent recipients ({d['used_mb_before']} MB) | "
        f"{d['seconds']} s; longest command {d['longest_ms']} ms ({d['longest_command']}); "
        f"{d['commands_over_1ms']} commands over 1 ms |",
        "", "Soak curve (MB above the start, after each day):", "",
        " ".join(f"{p['used_mb']}" for p in s["curve"]), "",
        "Keys alone (MEMORY USAGE summed, MB above the start):", "",
        " ".join(f"{p['keys_mb']}" for p in s["curve"]), "",
    ]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run (about a minute)")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--per-day", type=int, default=34_000)
    parser.add_argument("--retention-days", type=float, default=3.0)
    parser.add_argument("--memory", type=int, default=100_000)
    parser.add_argument("--delete", type=int, default=1_000_000)
    parser.add_argument("--out", default=str(harness.ROOT / "bench" / "results"))
    parser.add_argument("--rows", nargs="+", choices=ROWS, default=list(ROWS))
    args = parser.parse_args()
    if args.quick:
        args.days, args.per_day, args.memory, args.delete = 8, 5_000, 20_000, 50_000
    meta = {
        "command": "python -m bench.lifecycle" + (" --quick" if args.quick else ""),
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu": harness.machine().get("cpu"), "load_start": harness.load_average(),
        "revision": harness.revision(),
    }  # fmt: skip
    with harness.redis_server() as server, tempfile.TemporaryDirectory() as tmp:
        meta["redis"] = server.version()
        clock = Clock(1_800_000_000.0)
        store = CampaignStore(server.client(), keys=Keys("bc"), stale_after=60.0, clock=clock)
        result: dict[str, Any] = {"meta": meta}
        if "memory" in args.rows:
            result["memory"] = memory_row(store, args.memory, Path(tmp))
            _log(f"memory: {result['memory']}")
        if "soak" in args.rows:
            result["soak"] = soak_row(
                store, clock, days=args.days, per_day=args.per_day,
                retention_days=args.retention_days, archive=Path(tmp),
            )  # fmt: skip
        if "delete" in args.rows:
            result["delete"] = delete_row(store, args.delete)
            _log(f"delete: {result['delete']}")
    meta["load_end"] = harness.load_average()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = ("lifecycle-quick" if args.quick else "lifecycle") + "-" + "-".join(args.rows)
    (out / f"{stem}.json").write_text(json.dumps(result, indent=1) + "\n")
    if set(ROWS) <= set(result):
        page = markdown(result)
        (out / f"{stem}.md").write_text(page)
        print(page)


if __name__ == "__main__":
    main()
