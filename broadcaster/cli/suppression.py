"""`broadcaster suppress add|remove|list`: numbers that must never be messaged."""

import datetime
from typing import Annotated

import typer

from broadcaster.store import CampaignStore

from .connection import open_store
from .output import console, print_json

__all__ = ["app"]

app = typer.Typer(
    help="The suppression list: numbers that are never messaged (opt-outs land here).",
    no_args_is_help=True,
)

Numbers = Annotated[
    list[str], typer.Argument(metavar="NUMBER...", help="Phone numbers, written any usual way.")
]


def normalise(numbers: list[str]) -> list[str]:
    from broadcaster.phones import normalize_phone
    from broadcaster.settings import get_settings

    region = get_settings().default_region
    phones, bad = [], []
    for raw in numbers:
        try:
            phones.append(normalize_phone(raw, region=region))
        except ValueError as exc:
            bad.append(f"{raw!r} ({exc})")
    if bad:
        raise typer.BadParameter("not a mobile number: " + ", ".join(bad), param_hint="NUMBER")
    return phones


def _store() -> CampaignStore:
    store = open_store()
    store.migrate_suppression()  # a list written by an older version (a no-op once done)
    return store


@app.command()
def add(numbers: Numbers) -> None:
    """Add numbers to the suppression list (source: manual)."""
    phones = normalise(numbers)
    added = _store().suppress(phones)
    console.print(f"Suppressed {added} numbers ({len(set(phones)) - added} were already).")


@app.command()
def remove(numbers: Numbers) -> None:
    """Remove numbers from the suppression list."""
    phones = normalise(numbers)
    removed = _store().unsuppress(phones)
    console.print(f"Removed {removed} numbers ({len(set(phones)) - removed} were not listed).")


@app.command("list")
def list_numbers(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print every suppressed number (E.164 digits), sorted, with how it got on the list
    (keyword, button, user_preferences, failed_131050, manual, import, legacy) and when
    (UTC)."""
    entries = _store().suppression_entries()
    if json_output:
        print_json([
            {"phone": e.phone, "source": e.source, "opted_out_at": _when(e.at) or None}
            for e in entries
        ])  # fmt: skip
        return
    for e in entries:
        console.print(f"{e.phone:<16} {e.source:<17} {_when(e.at) or '-'}", highlight=False)
    if not entries:
        console.print("The suppression list is empty.", style="dim")


def _when(at: int) -> str:
    """ISO 8601 UTC of a Unix time; "" for 0 (not known)."""
    if not at:
        return ""
    return datetime.datetime.fromtimestamp(at, tz=datetime.UTC).isoformat(timespec="seconds")
