"""Row 3: a 1,000,000-row CSV to a ready campaign, then dispatching it.

    python -m bench.importscale [--rows 1000000] [--dispatch-seconds 10] [--sent-sample 100000]
                                [--xlsx-rows 100000]

1. A CSV is generated (numbers in the forms of `bench/import_contacts.py`, a name and a city;
   cached in the temp directory between runs).
2. A fresh Python process calls `enqueue_broadcast(path, sender=..., text="Halo {name}")`
   with the settings' store and dispatch (Celery), as an application would: wall time of
   that call, and the peak RSS of the process (`VmHWM`, interpreter and imports included;
   `bench/import_contacts.py` says why not `ru_maxrss`).
3. Redis bytes per recipient of the ready campaign: `MEMORY USAGE` of every key of the
   campaign, over the number of recipients.
4. Two worker processes start sending it (sandbox at 0 ms, no throttle); the broker queue's
   length is sampled every 50 ms for `--dispatch-seconds`: it must stay near the dispatch
   window (the default: 512 recipients, in tasks of 8, so 64 tasks), not grow with the
   campaign. Then the campaign is cancelled.
5. Bytes per recipient after sending (message id and phone indexes written), measured on a
   separate campaign of `--sent-sample` recipients through the store's claim and finish, as
   `bench/store_memory.py` does.
6. A `--xlsx-rows` workbook (`bench/xlsx_readers.py`: phone, name, city; half the phones
   stored as numbers) through `enqueue_broadcast` in a fresh process the same way: wall time
   to a ready campaign and peak RSS. The campaign is scheduled a day ahead, so nothing is
   queued, and deleted afterwards. The reader the import chose (whole sheet with calamine, or
   streamed) follows from the size of the sheet XML, which is reported.
"""

import argparse
import base64
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from bench import harness, xlsx_readers
from bench.harness import Session
from bench.import_contacts import CITIES, NAMES, peak_rss_mb

TEXT = "Halo {name}"


def phone(rng: random.Random, n: int) -> str:
    """Row n's unique number, in one of the forms exports use; never a scripted ending.

    The sandbox scripts numbers ending in 0001-0014 (0004 disconnects the sender and pauses
    the campaign), so the last four digits here are always 5000-9999.
    """
    digits = f"8{rng.choice('1235789')}{n // 5000:05d}{5000 + n % 5000:04d}"
    form = n % 10
    if form < 6:
        return "0" + digits
    if form < 8:
        return f"+62 {digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if form == 8:
        return "62" + digits
    return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"


def csv_file(rows: int) -> Path:
    """The generated contacts file with `rows` rows (made once, kept in the temp dir)."""
    path = Path(tempfile.gettempdir()) / f"broadcaster-bench-{rows}.csv"
    if not path.exists():
        rng = random.Random(1)
        tmp = path.with_suffix(".part")
        with tmp.open("w", encoding="utf-8", newline="") as out:
            out.write("phone,name,city\n")
            for n in range(rows):
                name = f"{rng.choice(NAMES)} {n}"
                out.write(f'"{phone(rng, n)}",{name},{rng.choice(CITIES)}\n')
        tmp.replace(path)
    return path


def child(path: str, *, scheduled: bool = False) -> None:
    """In the importing process: one enqueue_broadcast call; prints its figures as JSON.

    `scheduled`: start a day from now, so no send is queued.
    """
    from broadcaster import enqueue_broadcast

    send_at = time.time() + 86_400 if scheduled else None
    rss0 = peak_rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    result = enqueue_broadcast(
        path, sender="w", text=TEXT, rate_per_minute=6_000_000, send_at=send_at
    )
    out = {
        "wall_s": time.perf_counter() - t0,
        "cpu_s": time.process_time() - c0,
        "peak_rss_mb": peak_rss_mb(),
        "rss_before_import_mb": rss0,
        "campaign_id": result.campaign.id,
        "valid": result.summary.get("valid"),
        "rows": result.summary.get("rows"),
        "rejected": result.summary.get("rejected"),
        "duplicates": result.summary.get("duplicates"),
    }
    print(json.dumps(out))


def campaign_bytes(client: Any, pattern: str) -> int:
    names = list(client.scan_iter(match=pattern, count=1000))
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.memory_usage(name, samples=0)
    return sum(v or 0 for v in pipe.execute())


def import_in_child(session: Session, path: Path, *, scheduled: bool = False) -> dict[str, Any]:
    """enqueue_broadcast(path) in a fresh process with the session's settings: its figures."""
    command = [sys.executable, "-m", "bench.importscale", "--child", str(path)]
    proc = subprocess.run(
        command + (["--scheduled"] if scheduled else []), env=session.worker_env(),
        cwd=harness.PROJECT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    figures: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return figures


def xlsx_row(session: Session, rows: int) -> dict[str, Any]:
    """A `rows`-row .xlsx to a ready (scheduled) campaign: seconds and peak RSS."""
    from broadcaster.keys import Keys
    from broadcaster.store import CampaignStore
    from broadcaster.workbooks import DEFAULT_MAX_SHEET_BYTES_IN_MEMORY

    t0 = time.perf_counter()
    path = xlsx_readers.workbook(rows)
    generated = time.perf_counter() - t0
    with zipfile.ZipFile(path) as archive:
        sheet_xml = sum(
            i.file_size for i in archive.infolist() if i.filename.startswith("xl/worksheets/")
        )
    imported = import_in_child(session, path, scheduled=True)
    store = CampaignStore(session.store_client(), keys=Keys("bc"), stale_after=harness.STALE_AFTER)
    store.delete(imported["campaign_id"])
    whole = sheet_xml <= DEFAULT_MAX_SHEET_BYTES_IN_MEMORY
    return {
        "rows": rows,
        "xlsx_mb": path.stat().st_size / 1e6,
        "sheet_xml_mb": sheet_xml / 1e6,
        "reader": "calamine (whole sheet)" if whole else "streamed",
        "generate_s": generated,
        **imported,
    }


def run(
    session: Session,
    *,
    rows: int,
    dispatch_seconds: float = 10.0,
    sent_sample: int = 100_000,
    xlsx_rows: int = 0,
) -> dict[str, Any]:
    from broadcaster.keys import Keys
    from broadcaster.store import CampaignStore

    session.clean()
    t0 = time.perf_counter()
    path = csv_file(rows)
    generated = time.perf_counter() - t0
    load = harness.load_average()[0]
    imported = import_in_child(session, path)
    cid = imported["campaign_id"]
    client = session.store_client()
    keys = Keys("bc")
    ready_bytes = campaign_bytes(client, keys.all_for(cid))
    dispatch = _dispatch(
        session,
        CampaignStore(client, keys=keys, stale_after=harness.STALE_AFTER),
        cid,
        dispatch_seconds,
    )
    out = {
        "rows": rows,
        "csv_mb": path.stat().st_size / 1e6,
        "generate_s": generated,
        "load_before": load,
        **imported,
        "redis_bytes_per_recipient_ready": ready_bytes / max(1, imported["valid"]),
        **dispatch,
    }
    if sent_sample:
        out["redis_bytes_per_recipient_sent"] = sent_bytes_per_recipient(session, sent_sample)
        out["sent_sample"] = sent_sample
    if xlsx_rows:
        out["xlsx"] = xlsx_row(session, xlsx_rows)
    return out


def _dispatch(session: Session, store: Any, cid: str, seconds: float) -> dict[str, Any]:
    """Send the big campaign for a while; the broker queue's length meanwhile."""
    broker = session.broker_client()
    depths: list[int] = []
    with session.project_workers(2):
        counter = harness.SendCounter(session.box)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            depths.append(int(broker.llen(harness.PROJECT_QUEUE)))
            time.sleep(0.05)
        sent = counter.poll()
        span = (counter.last - counter.first) if sent > 1 and counter.first else 0.0
        cancelled = store.cancel(cid)
    return {
        "dispatch_seconds": seconds,
        "broker_depth_max": max(depths, default=0),
        "broker_depth_median": sorted(depths)[len(depths) // 2] if depths else 0,
        "window": harness.WINDOW,
        "send_batch": harness.SEND_BATCH,
        "sent_while_dispatching": sent,
        "sends_per_s_while_dispatching": (sent - 1) / span if span else 0.0,
        "cancelled": cancelled,
    }


def sent_bytes_per_recipient(session: Session, n: int) -> float:
    """Bytes per recipient once every one was sent, with a realistic Meta message id."""
    from broadcaster.campaigns import Campaign, RecipientStatus, new_campaign_id
    from broadcaster.contacts import Contact
    from broadcaster.keys import Keys
    from broadcaster.store import CampaignStore

    client = session.redis.client(3)
    client.flushdb()
    keys = Keys("bcmem")
    store = CampaignStore(client, keys=keys, stale_after=harness.STALE_AFTER)
    campaign = store.create(
        Campaign(id=new_campaign_id(), name="mem", channel="waba", sender="w", text=TEXT),
        (Contact(i + 2, f"6281{i:09d}", {"name": f"Name {i}"}) for i in range(n)),
        window=n,
    )
    store.start(campaign.id)
    for i in range(n):
        ticket = store.prepare(campaign.id, i)
        until = store.clock() + 60
        store.claim(campaign.id, i, lease_until=until, phone=ticket.phone)
        wamid = "wamid." + base64.b64encode(os.urandom(40)).decode()
        store.finish(
            campaign.id,
            i,
            RecipientStatus.SENT,
            message_id=wamid,
            phone=ticket.phone,
            lease_until=until,
        )
    used = campaign_bytes(client, f"{keys.prefix}:*")
    client.flushdb()
    return used / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dispatch-seconds", type=float, default=10.0)
    parser.add_argument("--sent-sample", type=int, default=100_000)
    parser.add_argument("--xlsx-rows", type=int, default=100_000, help="0: no workbook row")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--scheduled", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child, scheduled=args.scheduled)
    harness.exit_on_term()
    with harness.session() as session:
        result = run(
            session, rows=args.rows, dispatch_seconds=args.dispatch_seconds,
            sent_sample=args.sent_sample, xlsx_rows=args.xlsx_rows,
        )  # fmt: skip
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    sys.exit(main())
