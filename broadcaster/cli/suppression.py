"""`broadcaster suppress add|remove|list`: numbers that must never be messaged."""

from typing import Annotated

import typer

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


def _normalise(numbers: list[str]) -> list[str]:
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


@app.command()
def add(numbers: Numbers) -> None:
    """Add numbers to the suppression list."""
    phones = _normalise(numbers)
    added = open_store().suppress(phones)
    console.print(f"Suppressed {added} numbers ({len(set(phones)) - added} were already).")


@app.command()
def remove(numbers: Numbers) -> None:
    """Remove numbers from the suppression list."""
    phones = _normalise(numbers)
    removed = open_store().unsuppress(phones)
    console.print(f"Removed {removed} numbers ({len(set(phones)) - removed} were not listed).")


@app.command("list")
def list_numbers(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print every suppressed number (E.164 digits), sorted."""
    phones = sorted(open_store().suppressed())
    if json_output:
        print_json(phones)
        return
    for phone in phones:
        console.print(phone)
    if not phones:
        console.print("The suppression list is empty.", style="dim")
