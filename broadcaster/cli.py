"""The `broadcaster` command line (a typer app).

Each command is a small function that parses its options and calls into the package;
heavy imports happen inside the command, so `broadcaster --help` stays fast. Add a command
with `@app.command()` below the others.
"""

from typing import Annotated

import typer

__all__ = ["app", "main"]

app = typer.Typer(
    name="broadcaster",
    help="WhatsApp broadcast campaigns through the Replai.id API, on Celery and Redis.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    """WhatsApp broadcast campaigns through the Replai.id API, on Celery and Redis."""


def _rate_limit(value: str | None) -> str | None:
    if value is None:
        return None
    from broadcaster.sandbox.options import parse_rate_limit

    try:
        parse_rate_limit(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    return value


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="Port to listen on.")],
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    latency_ms: Annotated[int, typer.Option(min=0, help="Added to every API answer.")] = 0,
    rate_limit: Annotated[
        str | None,
        typer.Option(
            callback=_rate_limit,
            help="Per-token throttle: 120/min, 20/s or 0 (off). Default: Replai's "
            "(120/min WABA, 60/min device).",
        ),
    ] = None,
    webhook_url: Annotated[str | None, typer.Option(help="Where callbacks go.")] = None,
    token: Annotated[str | None, typer.Option(help="A Bearer token always accepted.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of message ids and tokens.")] = 0,
    callback_delay_ms: Annotated[
        int, typer.Option(min=0, help="Between sent, delivered and read callbacks.")
    ] = 200,
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
            token=token or None,
            seed=seed,
            callback_delay=callback_delay_ms / 1000.0,
        )
    )


def main() -> None:
    """Console entry point (`broadcaster = "broadcaster.cli:main"`)."""
    app()


if __name__ == "__main__":
    main()
