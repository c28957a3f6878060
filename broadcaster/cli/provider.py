"""Commands that ask Replai: `templates` and `device-status`."""

import dataclasses
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from .output import console, print_json

__all__ = ["device_status", "templates"]

Sender = Annotated[str, typer.Option(help="The WABA id or device id to ask about.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def templates(sender: Sender, json_output: JsonFlag = False) -> None:
    """List the sender's message templates, their approval status and parameter counts."""
    from broadcaster.settings import get_settings

    with get_settings().replai_client() as client:
        found = client.get_templates(sender)
    if json_output:
        print_json([dataclasses.asdict(t) for t in found])
        return
    if not found:
        console.print(f"No templates for {escape(sender)}.")
        return
    table = Table("name", "language", "status", "category", "params", "body")
    for t in found:
        table.add_row(
            escape(t.name or t.id or "?"), t.language or "-", t.status or "-",
            t.category or "-", str(t.param_count), escape(t.body or ""),
        )  # fmt: skip
    console.print(table)


def device_status(sender: Sender, json_output: JsonFlag = False) -> None:
    """Tell whether the sender's device or WABA number is connected and can send."""
    from broadcaster.settings import get_settings

    with get_settings().replai_client() as client:
        state = client.check_connection(sender)
    if json_output:
        found_state = dataclasses.asdict(state)
        found_state.pop("raw", None)
        print_json({"sender": sender, **found_state})
        return
    word = "[green]connected[/]" if state.connected else "[red]not connected[/]"
    detail = f" ({escape(state.status)})" if state.status else ""
    console.print(f"{escape(sender)}: {word}{detail}")
    if not state.connected:
        raise typer.Exit(1)
