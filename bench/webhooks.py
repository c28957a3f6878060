"""Row 4: webhook ingestion into one uvicorn process, status updates landing in Redis.

    python -m bench.webhooks [--messages 10000] [--connections 32] [--max-seconds 60]

A campaign of `--messages` recipients is stored and every recipient marked sent with a
Meta-like message id (through the store's claim and finish, as the workers do). One uvicorn
process serves the web app with the production command (Procfile `web`: `uvicorn
broadcaster.web.app:create_app --factory`, access log on, as users run it). A load generator
in this process (asyncio, raw HTTP/1.1 keep-alive connections, request bytes built beforehand
so the generator stays cheap) posts Meta status callbacks: `delivered` for every message,
then `read` for every message, each body distinct. Figures: callbacks/s over the whole run,
latency per request (from writing it to reading the whole answer), the server's CPU per
callback, and whether the updates landed: the campaign's counts must show every
recipient `read`.
"""

import argparse
import asyncio
import base64
import json
import random
import sys
import time
from contextlib import ExitStack
from typing import Any

from bench import harness
from bench.harness import Session

SECRET = "bench-webhook-secret"


def _populate(session: Session, n: int) -> tuple[str, list[tuple[str, str]]]:
    from bench.throughput import phone
    from broadcaster.campaigns import Campaign, RecipientStatus, new_campaign_id
    from broadcaster.contacts import Contact
    from broadcaster.keys import Keys
    from broadcaster.store import CampaignStore

    store = CampaignStore(session.store_client(), keys=Keys("bc"), stale_after=harness.STALE_AFTER)
    campaign = store.create(
        Campaign(id=new_campaign_id(), name="hooks", channel="waba", sender="w", text="Halo"),
        (Contact(i + 2, phone(i), {}) for i in range(n)),
        window=n,
    )
    store.start(campaign.id)
    sent = []
    rng = random.Random(7)
    for i in range(n):
        ticket = store.prepare(campaign.id, i)
        until = store.clock() + 600
        store.claim(campaign.id, i, lease_until=until, phone=ticket.phone)
        wamid = "wamid." + base64.b64encode(rng.randbytes(40)).decode()
        store.finish(
            campaign.id,
            i,
            RecipientStatus.SENT,
            message_id=wamid,
            phone=ticket.phone,
            lease_until=until,
        )
        sent.append((wamid, ticket.phone))
    return campaign.id, sent


def _body(wamid: str, phone: str, status: str, ts: int) -> bytes:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "6281100000000", "phone_number_id": "w"},
        "statuses": [{"id": wamid, "status": status, "timestamp": str(ts), "recipient_id": phone}],
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "w", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(body, separators=(",", ":")).encode()


def requests(port: int, sent: list[tuple[str, str]]) -> list[bytes]:
    """Every request, ready to write: delivered for all, then read for all."""
    out = []
    ts = int(time.time())
    for status in ("delivered", "read"):
        for wamid, phone in sent:
            body = _body(wamid, phone, status, ts)
            head = (
                f"POST /webhooks/replai/{SECRET} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            )
            out.append(head.encode() + body)
    return out


async def _connection(
    port: int, todo: list[bytes], latencies: list[float], codes: dict[int, int], deadline: float
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while todo and time.perf_counter() < deadline:
            request = todo.pop()
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            code = int(head[9:12])
            codes[code] = codes.get(code, 0) + 1
    finally:
        writer.close()


async def _load(port: int, todo: list[bytes], connections: int, max_seconds: float) -> Any:
    todo.reverse()  # pop() from the end: the first request first
    latencies: list[float] = []
    codes: dict[int, int] = {}
    t0 = time.perf_counter()
    deadline = t0 + max_seconds
    await asyncio.gather(
        *(_connection(port, todo, latencies, codes, deadline) for _ in range(connections))
    )
    return time.perf_counter() - t0, latencies, codes


def run(
    session: Session, *, messages: int = 10_000, connections: int = 32, max_seconds: float = 60,
    profile: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """One run; with `profile`, py-spy records the server into `<profile>-0.raw`."""
    from broadcaster.keys import Keys
    from broadcaster.store import CampaignStore

    session.clean()
    cid, sent = _populate(session, messages)
    port = harness.free_port()
    env = session.worker_env(
        BROADCASTER_API_KEYS="bench-api-key", BROADCASTER_WEBHOOK_SECRET=SECRET
    )
    cmd = [
        sys.executable, "-m", "uvicorn", "broadcaster.web.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    todo = requests(port, sent)
    total = len(todo)
    with ExitStack() as stack:
        proc = stack.enter_context(harness.process(cmd, env, log="web"))
        harness.wait_http(f"http://127.0.0.1:{port}/healthz")
        if profile:
            stack.enter_context(harness.profiling([proc.pid], profile))
        load = harness.load_average()[0]
        cpu0, rcpu0 = harness.cpu_seconds(proc.pid), session.redis.cpu()
        wall, latencies, codes = asyncio.run(_load(port, todo, connections, max_seconds))
        cpu, rcpu = harness.cpu_seconds(proc.pid) - cpu0, session.redis.cpu() - rcpu0
    done = len(latencies)
    latencies.sort()
    counts = CampaignStore(
        session.store_client(), keys=Keys("bc"), stale_after=harness.STALE_AFTER
    ).counts(cid)
    return {
        "messages": messages,
        "callbacks": done,
        "planned": total,
        "connections": connections,
        "wall_s": wall,
        "callbacks_per_s": done / wall,
        "p50_ms": harness.percentile(latencies, 0.50) * 1000,
        "p99_ms": harness.percentile(latencies, 0.99) * 1000,
        "max_ms": latencies[-1] * 1000 if latencies else float("nan"),
        "codes": {str(k): v for k, v in sorted(codes.items())},
        "server_cpu_ms_per_callback": cpu * 1000 / done if done else float("nan"),
        "redis_cpu_ms_per_callback": rcpu * 1000 / done if done else float("nan"),
        "counts_after": {k: v for k, v in counts.items() if v},
        "landed": counts["read"] == messages and done == total,
        "load_before": load,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--profile", help="py-spy the server into PROFILE-0.raw")
    args = parser.parse_args()
    harness.exit_on_term()
    with harness.session() as session:
        result = run(
            session, messages=args.messages, connections=args.connections,
            max_seconds=args.max_seconds, profile=args.profile,
        )  # fmt: skip
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    sys.exit(main())


def measure(session: Session, *, runs: int, **kwargs: Any) -> dict[str, Any]:
    """`runs` runs; medians with min-max of the figures that vary."""
    results = [run(session, **kwargs) for _ in range(runs)]
    keys = ("callbacks_per_s", "p50_ms", "p99_ms", "server_cpu_ms_per_callback",
            "redis_cpu_ms_per_callback", "load_before")  # fmt: skip
    return {
        "connections": results[0]["connections"],
        "callbacks": results[0]["callbacks"],
        "landed": all(r["landed"] for r in results),
        **{k: harness.summary([r[k] for r in results]) for k in keys},
        "runs": results,
    }
