"""The root command group: every error the operator can fix is one line on stderr.

`error: <what went wrong and what to do>`, exit code 1; usage errors keep click's exit code 2
but are one line too. Anything else is a bug and keeps its traceback.
"""

import sys
from collections.abc import Sequence
from typing import Any

import typer
import typer.core

__all__ = ["CommandError", "CommandGroup", "UsageProblem", "describe_error", "safe_url"]


class CommandError(Exception):
    """A command cannot do what was asked; the message says why (exit code 1)."""

    exit_code = 1

    def format_message(self) -> str:
        """The message, as click's exceptions give it."""
        return str(self)


class UsageProblem(CommandError):
    """The options given do not go together (exit code 2, as for click's usage errors)."""

    exit_code = 2


class CommandGroup(typer.core.TyperGroup):
    """A TyperGroup whose `main` turns known errors into one `error: ...` line."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command; in standalone mode, exit with its code."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except typer.Abort:
            _fail("aborted", 1)
        except Exception as exc:
            if _is_click_error(exc):  # click's, typer's own (typer >= 0.20 vendors click), ours
                _fail(_click_message(exc), exc.exit_code)  # type: ignore[attr-defined]
            message = describe_error(exc)
            if message is None:
                raise
            _fail(message, 1)
        sys.exit(result if isinstance(result, int) else 0)


def _is_click_error(exc: Exception) -> bool:
    return isinstance(getattr(exc, "exit_code", None), int) and callable(
        getattr(exc, "format_message", None)
    )


def _click_message(exc: Any) -> str:
    message = str(exc.format_message())
    ctx = getattr(exc, "ctx", None)
    if exc.exit_code == 2 and ctx is not None:
        message += f" (see '{ctx.command_path} --help')"
    return message


def _fail(message: str, code: int) -> None:
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    sys.exit(code)


def describe_error(exc: BaseException) -> str | None:
    """One line for an error the operator can act on, or None for a bug."""
    import redis
    from pydantic import ValidationError

    from broadcaster.errors import BroadcasterError

    if isinstance(exc, BroadcasterError):
        return str(exc)
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
        return f"cannot reach Redis at {_redis_url()}: start it or set BROADCASTER_REDIS_URL"
    if isinstance(exc, redis.ResponseError):
        return f"Redis at {_redis_url()} answered: {exc}"
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"BROADCASTER_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        return f"invalid configuration: {problems}"
    return _broker_error(exc)


def _broker_error(exc: BaseException) -> str | None:
    from kombu.exceptions import OperationalError

    if isinstance(exc, OperationalError):
        from broadcaster.settings import get_settings

        url = safe_url(get_settings().celery_broker_url)
        return f"cannot reach the Celery broker at {url}: start it or set BROADCASTER_BROKER_URL"
    return None


def _redis_url() -> str:
    from broadcaster.settings import get_settings

    try:
        return safe_url(get_settings().redis_url)
    except Exception:  # the settings themselves may be what is broken
        return "the configured URL"


def safe_url(url: str) -> str:
    """The URL without its password: `redis://:secret@host/0` -> `redis://:***@host/0`."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    userinfo, _, hostpart = rest.partition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{hostpart}"
