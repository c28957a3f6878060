"""Long-running processes: `web`, `worker`, `sandbox` and `demo`.

`web` replaces this process (exec) with uvicorn, so signals from a process manager reach the
server directly; `worker` supervises a Celery worker (cli/supervisor.py: started again when it
exits on its own, signals forwarded). Options these commands do not know are passed on.
"""

import enum
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from .group import CommandError
from .processes import WEB_APP, web_app_available


class ThrottleWindow(enum.StrEnum):
    """The sandbox's throttle windows (`broadcaster.sandbox.options.THROTTLE_WINDOWS`)."""

    fixed = "fixed"
    sliding = "sliding"


__all__ = ["PASS_THROUGH", "demo", "sandbox", "web", "worker"]

#: Context settings of commands that pass unknown options on to the program they run.
PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


def web(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the HTTP API and webhook receiver with uvicorn (extra options go to uvicorn)."""
    if not web_app_available():
        raise CommandError("the web app (broadcaster.web.app) is not part of this installation")
    argv = [sys.executable, "-m", "uvicorn", WEB_APP, "--factory", "--host", host]
    _exec([*argv, "--port", str(port), *ctx.args])


def worker(
    ctx: typer.Context,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1)] = 16,
    pool: Annotated[str, typer.Option("--pool", "-P", help="Celery pool.")] = "threads",
    loglevel: Annotated[str, typer.Option("--loglevel", "-l")] = "INFO",
    max_backoff: Annotated[
        float, typer.Option(min=1, help="Longest wait before starting a worker that exited.")
    ] = 60.0,
) -> None:
    """Run a Celery worker (threads pool, task events on for Flower; extra options go to it),
    started again if it ever exits on its own."""
    from broadcaster.settings import get_settings

    from .supervisor import Supervisor

    get_settings().replai_client().close()  # no credentials: say so now, not at the first send
    argv = [sys.executable, "-m", "celery", "-A", "workers.app", "worker", "--pool", pool]
    argv += ["--concurrency", str(concurrency), "--loglevel", loglevel, "-E", *ctx.args]
    logging.basicConfig(
        level=logging.INFO, format="[%(asctime)s: %(levelname)s/supervisor] %(message)s"
    )
    raise typer.Exit(Supervisor(argv, max_backoff=max_backoff).run())


def _exec(argv: list[str]) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)


def _rate_limit(value: str | None) -> str | None:
    if value is None:
        return None
    from broadcaster.sandbox.options import parse_rate_limit

    try:
        parse_rate_limit(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    return value


def sandbox(
    port: Annotated[int, typer.Option(help="Port to listen on.")],
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    latency_ms: Annotated[int, typer.Option(min=0, help="Added to every API answer.")] = 0,
    rate_limit: Annotated[
        str | None,
        typer.Option(
            callback=_rate_limit,
            help="Throttle per account and route family: 120/min, 20/s or 0 (off). Default: "
            "Replai's (120/min WABA, 60/min device).",
        ),
    ] = None,
    throttle_window: Annotated[
        ThrottleWindow,
        typer.Option(help="fixed: Laravel's buckets, as Replai; sliding: none over the limit."),
    ] = ThrottleWindow.fixed,
    webhook_url: Annotated[str | None, typer.Option(help="Where callbacks go.")] = None,
    token: Annotated[
        list[str] | None,
        typer.Option(help="A Bearer token always accepted, an account of its own (repeat)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of message ids and tokens.")] = 0,
    callback_delay_ms: Annotated[
        int, typer.Option(min=0, help="Between sent, delivered and read callbacks.")
    ] = 200,
    callbacks_first: Annotated[
        bool,
        typer.Option(
            "--callbacks-first",
            help="Post each send's status callbacks before answering it (early callbacks).",
        ),
    ] = False,
) -> None:
    """Run the Replai.id simulator (the sandbox) until interrupted."""
    from broadcaster.sandbox import SandboxOptions, parse_rate_limit, run

    run(
        SandboxOptions(
            port=port,
            host=host,
            latency=latency_ms / 1000.0,
            rate_limit=parse_rate_limit(rate_limit) if rate_limit is not None else None,
            webhook_url=webhook_url or None,
            tokens=tuple(t for t in token or () if t),
            throttle_window=throttle_window.value,
            seed=seed,
            callback_delay=callback_delay_ms / 1000.0,
            callbacks_first=callbacks_first,
        )
    )


def demo(
    exit_: Annotated[
        bool, typer.Option("--exit", help="Stop everything after the report.")
    ] = False,
    contacts: Annotated[
        Path | None, typer.Option(help="Contact CSV (default: examples/contacts.csv).")
    ] = None,
    callbacks_first: Annotated[
        bool,
        typer.Option(
            "--callbacks-first",
            help="The sandbox posts each send's statuses before answering it: every callback "
            "beats the worker's record of its message id and is held until it is made.",
        ),
    ] = False,
) -> None:
    """Run the whole system on this machine: sandbox, worker, web app, Flower and a campaign.

    Stops everything it started on Ctrl-C (at once with --exit).
    """
    from .demo import DemoOptions, run_demo

    options = DemoOptions(wait=not exit_, contacts=contacts, callbacks_first=callbacks_first)
    raise typer.Exit(run_demo(options))
