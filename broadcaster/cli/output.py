"""Printing for the command line: consoles, JSON, times, import summaries."""

import datetime
import json
from collections.abc import Mapping
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

__all__ = ["console", "local_time", "print_import_summary", "print_json"]

#: Rows of an import's rejected lines shown before "... and N more".
DEFAULT_SHOWN_ERRORS = 20

#: Standard output; rich writes to whatever sys.stdout is at the time (CliRunner swaps it).
console = Console(highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    """Print `data` as indented JSON on stdout."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


def local_time(timestamp: float | None) -> str:
    """A Unix time in the local time zone, for people; `-` when unset."""
    if not timestamp:
        return "-"
    return datetime.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def print_import_summary(
    source: str, summary: Mapping[str, Any], *, out: Console = console
) -> None:
    """What the import found: the counts, where the phone and the name came from and why
    (short rows, no header), and the rejected rows with their lines."""
    out.print(
        f"Imported [bold]{escape(source)}[/]{escape(_what(summary))}: "
        f"{summary.get('rows', 0)} rows -> [bold]{summary.get('valid', 0)}[/] recipients "
        f"({summary.get('duplicates', 0)} duplicate, "
        f"{summary.get('suppressed', 0)} suppressed, {summary.get('rejected', 0)} rejected)"
    )
    if summary.get("explanation"):
        out.print(f"  {escape(str(summary['explanation']))}")
    ranked = [str(c["column"]) for c in summary.get("phone_columns") or []]
    if len(ranked) > 1:
        out.print(
            f"  Phone columns, best first: {escape(', '.join(ranked))} (each row uses the "
            "first that holds a mobile number)"
        )
    errors = list(summary.get("errors") or [])
    for error in errors[:DEFAULT_SHOWN_ERRORS]:
        out.print(f"  rejected line {error['line']}: {escape(str(error['reason']))}")
    more = int(summary.get("rejected", 0)) - min(len(errors), DEFAULT_SHOWN_ERRORS)
    if more > 0:
        out.print(f"  ... and {more} more rejected rows")


def _what(summary: Mapping[str, Any]) -> str:
    """` (xlsx, sheet 'Kontak' of 'Arsip', 'Kontak')` for files other than CSV."""
    kind = summary.get("format")
    if kind in (None, "csv", "records"):
        return ""
    sheets = list(summary.get("sheets") or [])
    if summary.get("sheet") is None:
        return f" ({kind})"
    of = f" of {', '.join(repr(s) for s in sheets)}" if len(sheets) > 1 else ""
    return f" ({kind}, sheet {summary['sheet']!r}{of})"
