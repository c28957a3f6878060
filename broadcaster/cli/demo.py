"""`broadcaster demo` (and `make demo`): the whole system on one machine, for real.

It starts the Replai sandbox, a Celery worker, the web app (when `broadcaster.web.app` is
installed) and Flower as child processes on free loopback ports, launches a campaign from
`examples/contacts.csv` through the real pipeline with the live progress bar, waits for the
delivery receipts and replies the sandbox posts to the web app's webhook, prints the report and
the URLs, and stops everything it started on Ctrl-C (at once with `--exit`).

Its data lives on the configured Redis under the key prefix `bcdemo` (cleared at the start of
each run), apart from real campaigns under `bc`. Flower listens on loopback without a password,
like the sandbox; the web app gets a fresh API key and webhook secret each run.
"""

import dataclasses
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console

from broadcaster.settings import get_settings

from .group import CommandError
from .processes import ChildProcesses, ServiceFailed, free_port, web_app_available

__all__ = ["DEMO_PREFIX", "DemoOptions", "run_demo"]

#: Key prefix of everything the demo writes to Redis.
DEMO_PREFIX = "bcdemo"
#: The WABA id the demo campaign sends through (any id is connected in the sandbox).
DEMO_SENDER = "demo-waba"
#: Sends per minute: 200 recipients in about 10 s.
DEMO_RATE = 1200.0
#: The sandbox's throttle of the demo account (25/s), and so the account's configured one.
SANDBOX_RATE_PER_MINUTE = 1500
#: Seconds every service gets to come up.
DEFAULT_START_TIMEOUT = 60.0
#: Longest wait for delivery receipts and replies after the last send.
DEFAULT_SETTLE = 15.0
_CONTACTS = Path("examples") / "contacts.csv"


@dataclasses.dataclass(frozen=True, slots=True)
class DemoOptions:
    """What `broadcaster demo` was asked for."""

    wait: bool = True  # False: stop everything after the report (--exit)
    contacts: Path | None = None
    rate_per_minute: float = DEMO_RATE
    settle: float = DEFAULT_SETTLE
    #: The sandbox posts each send's status callbacks before answering it (--callbacks-first).
    callbacks_first: bool = False


@dataclasses.dataclass(frozen=True, slots=True)
class _Ports:
    sandbox: int = dataclasses.field(default_factory=free_port)
    web: int = dataclasses.field(default_factory=free_port)
    flower: int = dataclasses.field(default_factory=free_port)


def run_demo(options: DemoOptions, *, out: Console | None = None) -> int:
    """Run the demo; returns the exit code.

    Raises:
        CommandError: a service did not start or stopped (after stopping the rest).
    """
    out = out or Console(highlight=False, soft_wrap=True)
    contacts = _find_contacts(options.contacts)
    ports, api_key = _Ports(), secrets.token_urlsafe(16)
    env = _environment(ports, api_key, webhook_secret=secrets.token_urlsafe(16))
    os.environ.update(env)  # this process launches the campaign with the same settings
    get_settings.cache_clear()
    _clear_demo_data()
    log_dir = Path(tempfile.mkdtemp(prefix="broadcaster-demo-"))
    children = ChildProcesses(os.environ, log_dir)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    failed = True
    try:
        web = _start_services(children, ports, env, out, callbacks_first=options.callbacks_first)
        _run_campaign(children, ports, contacts, options, out, callbacks=web)
        _print_urls(ports, api_key, web, out)
        if options.wait:
            out.print("\n[bold]Press Ctrl-C to stop everything the demo started.[/]")
            _watch(children)
        failed = False
    except KeyboardInterrupt:
        failed = False
        out.print("\nStopping...")
    except ServiceFailed as exc:
        raise CommandError(str(exc)) from None
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not orphan them
        try:
            children.stop_all()
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, previous)
        if not failed:
            shutil.rmtree(log_dir, ignore_errors=True)
    out.print("Stopped everything the demo started.")
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _find_contacts(given: Path | None) -> Path:
    candidates = [given] if given else [_CONTACTS, Path(__file__).parents[1] / _CONTACTS]
    for path in candidates:
        if path is not None and path.is_file():
            return path
    raise CommandError(f"contact file not found: {candidates[0]}")


def _environment(ports: _Ports, api_key: str, *, webhook_secret: str) -> dict[str, str]:
    settings = get_settings()
    return {
        "BROADCASTER_KEY_PREFIX": DEMO_PREFIX,
        "BROADCASTER_QUEUE": DEMO_PREFIX,  # its tasks never reach a real worker, and back
        "BROADCASTER_REDIS_URL": settings.redis_url,
        "BROADCASTER_BROKER_URL": settings.celery_broker_url,
        "BROADCASTER_REPLAI_BASE_URL": f"http://127.0.0.1:{ports.sandbox}",
        "BROADCASTER_REPLAI_TOKEN": "demo-sandbox-token",
        "BROADCASTER_REPLAI_ROUTES": "api",
        "BROADCASTER_REPLAI_TIMEOUT": "5",
        "BROADCASTER_BACKOFF_BASE": "1",
        # the sandbox below throttles the account at 25/s: so does the demo's configuration
        "BROADCASTER_RATE_WABA_PER_MINUTE": str(SANDBOX_RATE_PER_MINUTE),
        "BROADCASTER_API_KEYS": api_key,
        "BROADCASTER_WEBHOOK_SECRET": webhook_secret,
        "PYTHONUNBUFFERED": "1",
    }


def _clear_demo_data() -> None:
    import redis

    from .group import safe_url

    url = get_settings().redis_url
    client = redis.Redis.from_url(url, socket_connect_timeout=5)
    try:
        names = list(client.scan_iter(match=f"{DEMO_PREFIX}:*", count=1000))
        for i in range(0, len(names), 500):
            client.delete(*names[i : i + 500])
    except redis.ConnectionError:
        raise CommandError(
            f"cannot reach Redis at {safe_url(url)}: set BROADCASTER_REDIS_URL, or install "
            "redis-server (Debian/Ubuntu: apt-get install redis-server; macOS: brew install "
            "redis) and run `make demo`, which starts a private one"
        ) from None
    finally:
        client.close()


def _start_services(
    children: ChildProcesses,
    ports: _Ports,
    env: dict[str, str],
    out: Console,
    *,
    callbacks_first: bool = False,
) -> bool:
    """Start sandbox, worker, web app and Flower together; wait for each. True with a web app."""
    py, loopback = sys.executable, "127.0.0.1"
    web = web_app_available()
    webhook = f"http://{loopback}:{ports.web}/webhooks/replai/{env['BROADCASTER_WEBHOOK_SECRET']}"
    out.print(f"Starting the Replai sandbox, a Celery worker{', the web app' if web else ''} "
              f"and Flower (logs in {children.log_dir})...")  # fmt: skip
    sandbox = children.start("sandbox", [
        py, "-m", "broadcaster.sandbox", "--port", str(ports.sandbox), "--token",
        env["BROADCASTER_REPLAI_TOKEN"], "--rate-limit", f"{SANDBOX_RATE_PER_MINUTE}/min",
        "--callback-delay-ms", "100",
        *(["--webhook-url", webhook] if web else []),
        *(["--callbacks-first"] if callbacks_first else []),
    ])  # fmt: skip
    worker = children.start("worker", [
        py, "-m", "celery", "-A", "workers.app", "worker", "--pool", "threads",
        "--concurrency", "16", "-E", "--without-gossip", "--without-mingle",
        "-n", f"demo-{os.getpid()}@%h", "--loglevel", "WARNING",
    ])  # fmt: skip
    site = children.start("web", [
        py, "-m", "uvicorn", "broadcaster.web.app:create_app", "--factory", "--host", loopback,
        "--port", str(ports.web), "--log-level", "warning",
    ]) if web else None  # fmt: skip
    flower = children.start("flower", [
        py, "-m", "celery", "-A", "workers.app", "flower", f"--address={loopback}",
        f"--port={ports.flower}", "--logging=warning",
    ])  # fmt: skip
    deadline = time.monotonic() + DEFAULT_START_TIMEOUT
    children.wait_http(sandbox, f"http://{loopback}:{ports.sandbox}/_sandbox/config",
                       deadline=deadline)  # fmt: skip
    children.wait_until(worker, _worker_beats(worker.proc.pid), deadline=deadline,
                        what="taking tasks")  # fmt: skip
    if site is not None:
        children.wait_http(site, f"http://{loopback}:{ports.web}/openapi.json", deadline=deadline)
    children.wait_http(flower, f"http://{loopback}:{ports.flower}/healthcheck", deadline=deadline)
    out.print("All services are up." + ("" if web else " (No web app in this installation: "
              "no delivery receipts or replies.)"))  # fmt: skip
    return web


def _worker_beats(pid: int) -> Any:
    from .connection import open_store

    store = open_store()
    pattern = store.keys.worker(f"*:{pid}")
    return lambda: any(True for _ in store.redis.scan_iter(match=pattern, count=1000))


def _run_campaign(
    children: ChildProcesses,
    ports: _Ports,
    contacts: Path,
    options: DemoOptions,
    out: Console,
    *,
    callbacks: bool,
) -> None:
    from broadcaster.operations import CampaignRequest
    from broadcaster.reports import build_report

    from .connection import open_store
    from .launch import create_campaign
    from .output import print_import_summary
    from .progress import follow
    from .reports import print_report

    store = open_store()
    request = CampaignRequest(
        sender=DEMO_SENDER, template="promo", params=["nama", "promo"],
        name="Demo: promo akhir tahun", rate_per_minute=options.rate_per_minute,
    )  # fmt: skip
    result = create_campaign(store, str(contacts), request)
    print_import_summary(str(contacts), result.summary, out=out)
    cid = result.campaign.id
    out.print(f"Campaign [bold]{cid}[/]: {result.campaign.total} recipients through the "
              f"sandbox at {options.rate_per_minute:g}/min")  # fmt: skip
    final = follow(store, cid, out=out)
    if final is None:
        raise KeyboardInterrupt
    out.print("(The bar shows where each recipient is now; the report below counts every "
              "outcome, also of recipients that moved on, e.g. sent -> delivered.)")  # fmt: skip
    children.check_alive()
    if callbacks:
        with out.status("Waiting for delivery receipts, read receipts and replies..."):
            _settle(store, cid, f"http://127.0.0.1:{ports.sandbox}", options.settle)
    out.print()
    print_report(build_report(store, cid), out=out)
    if options.callbacks_first and callbacks:
        _print_held(store, out)


def _print_held(store: Any, out: Console) -> None:
    """What the hold did: the sandbox posted every status before answering its send."""
    from broadcaster.settings import get_settings
    from broadcaster.store import WebhookRules

    stats = store.webhook_stats(WebhookRules.from_settings(get_settings()))
    waiting = stats.waiting + stats.overdue
    out.print(f"\nCallbacks that came before their send was recorded: {stats.held} held, "
              f"{stats.released} applied when the worker recorded the send, "
              f"{waiting} still waiting, {stats.expired} expired.")  # fmt: skip


def _settle(store: Any, cid: str, sandbox_url: str, limit: float) -> None:
    """Wait until callbacks stop arriving (nothing new for 1.5 s), at most `limit` s."""
    import httpx

    def snapshot() -> tuple[Any, ...]:
        body = httpx.get(f"{sandbox_url}/_sandbox/sends?summary=1", timeout=5).json()
        posted = (body.get("callbacks_posted"), body.get("callbacks_failed"))
        campaign = store.get(cid)
        return (*posted, tuple(store.counts(cid).values()), campaign.replies)

    deadline, last, quiet_since = time.monotonic() + limit, None, time.monotonic()
    while time.monotonic() < deadline:
        now = snapshot()
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= 1.5:
            return
        time.sleep(0.25)


def _print_urls(ports: _Ports, api_key: str, web: bool, out: Console) -> None:
    base = "http://127.0.0.1"
    out.print()
    if web:
        out.print(f"Web app   {base}:{ports.web}/   (X-API-Key: {api_key}, this demo only)")
        out.print(f"OpenAPI   {base}:{ports.web}/docs")
    else:
        out.print("Web app   not in this installation (broadcaster.web.app is missing)")
    out.print(f"Flower    {base}:{ports.flower}/")
    out.print(f"Sandbox   {base}:{ports.sandbox}/_sandbox/sends?summary=1")


def _watch(children: ChildProcesses) -> None:
    while True:
        children.check_alive()
        time.sleep(0.5)
