"""`broadcaster launch`: import a contact file, create the campaign, start it, follow it."""

import datetime
import sys
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from broadcaster import limits, operations
from broadcaster.channels import Channel
from broadcaster.errors import NoPhoneColumn
from broadcaster.operations import CampaignRequest, EnqueueResult
from broadcaster.store import CampaignStore

from .connection import launch_defaults, open_dispatch, open_store, workers_alive
from .group import CommandError, UsageProblem
from .output import console, local_time, print_import_summary, print_json
from .progress import counts_text, follow

__all__ = ["create_campaign", "launch", "parse_rate", "parse_send_at", "report_outcome"]


def parse_rate(text: str) -> float:
    """`600/min`, `10/s` or a bare number (per minute) -> sends per minute."""
    try:
        return limits.parse_rate(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def parse_send_at(text: str) -> datetime.datetime:
    """An ISO 8601 time; without an offset it is local time."""
    try:
        when = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{text!r}: expected ISO 8601, e.g. 2025-01-31T09:00 or 2025-01-31T09:00+07:00"
        ) from None
    return when if when.tzinfo else when.astimezone()


def launch(
    contacts: Annotated[
        str,
        typer.Argument(
            metavar="CONTACTS",
            help="Contact file: CSV, .xlsx/.xls/.ods workbook or .vcf vCard, judged by its "
            "content ('-' reads standard input).",
        ),
    ],
    sender: Annotated[
        list[str],
        typer.Option(
            help="WABA id (--channel waba) or device id (--channel device); repeat it for a "
            "sender pool (each recipient is sent by one of them)."
        ),
    ],
    text: Annotated[
        str | None, typer.Option(help="Message text; {column} takes each row's value.")
    ] = None,
    template: Annotated[str | None, typer.Option(help="An approved template's name.")] = None,
    lang: Annotated[str, typer.Option(help="The template's language.")] = "id",
    param: Annotated[
        list[str] | None,
        typer.Option(help="Template parameter, in order: a column name or a literal."),
    ] = None,
    channel: Annotated[Channel, typer.Option(help="How Replai sends.")] = Channel.WABA,
    name: Annotated[str | None, typer.Option(help="Campaign name (default: file).")] = None,
    send_at: Annotated[
        datetime.datetime | None,
        typer.Option(
            parser=parse_send_at, metavar="ISO8601", help="Start later (local time if no offset)."
        ),
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(parser=parse_rate, metavar="N/min", help="Sends per minute (or N/s)."),
    ] = None,
    phone_column: Annotated[
        str | None,
        typer.Option(
            help="The phone column (default: the phone columns found by name, ranked; each "
            "row uses the best that holds a mobile number)."
        ),
    ] = None,
    sheet: Annotated[
        str | None,
        typer.Option(metavar="NAME", help="The workbook's sheet (default: the first visible)."),
    ] = None,
    account: Annotated[
        str | None,
        typer.Option(help="The Replai account to send through (default: the sender's)."),
    ] = None,
    hours: Annotated[
        str | None,
        typer.Option(
            metavar="HH:MM-HH:MM",
            help="Sending hours, comma separated (22:00-02:00 crosses midnight), or rules "
            "'mon-fri 09:00-17:00; sat 10:00-14:00'; 'always' for none (default: "
            "BROADCASTER_SENDING_HOURS).",
        ),
    ] = None,
    days: Annotated[
        str | None, typer.Option(metavar="DAYS", help="Days for --hours: mon-fri, sat,sun.")
    ] = None,
    tz: Annotated[
        str | None,
        typer.Option(
            metavar="ZONE",
            help="The hours' timezone, e.g. Asia/Jakarta (default: BROADCASTER_SENDING_TZ).",
        ),
    ] = None,
    blackout: Annotated[
        list[str] | None,
        typer.Option(metavar="YYYY-MM-DD", help="A date nothing is sent (repeatable)."),
    ] = None,
    one_timezone: Annotated[
        bool,
        typer.Option(
            "--one-timezone",
            help="Read the hours in --tz for everyone (default: each recipient's own timezone "
            "where known, see README).",
        ),
    ] = False,
    expires: Annotated[
        datetime.datetime | None,
        typer.Option(
            parser=parse_send_at,
            metavar="ISO8601",
            help="Recipients not sent by then end expired (local time if no offset).",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only import and validate; create nothing.")
    ] = False,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print JSON (id and import summary) and return.")
    ] = False,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Return once the campaign is started.")
    ] = False,
) -> None:
    """Launch a campaign from a contact file and show its progress until it finishes.

    Ctrl-C stops watching; the campaign goes on.
    """
    if (text is None) == (template is None):
        raise UsageProblem("give either --text or --template")
    if param and template is None:
        raise UsageProblem("--param goes with --template")
    store = open_store()
    request = CampaignRequest(
        sender=sender[0], senders=sender[1:], text=text, template=template, language=lang,
        params=param or (),
        channel=channel, name=name or (Path(contacts).name if contacts != "-" else None),
        send_at=send_at, rate_per_minute=rate, phone_column=phone_column, account=account,
        sheet=sheet, hours=hours, days=days, tz=tz, blackout=blackout or (),
        local_time=not one_timezone, expires_at=expires,
    )  # fmt: skip
    result = create_campaign(store, contacts, request, dry_run=dry_run)
    if json_output:
        print_json(_json_result(result, dry_run))
        return
    print_import_summary("standard input" if contacts == "-" else contacts, result.summary)
    if dry_run:
        console.print("Dry run: nothing was created.")
        return
    _announce(result)
    if not workers_alive(store):
        console.print(
            "[yellow]No worker is running[/]: its sends wait in the queue until one starts "
            "(broadcaster worker)."
        )
    if no_wait:
        console.print(f"Follow it with: broadcaster status {result.campaign.id}")
        return
    report_outcome(store, result.campaign.id)


def create_campaign(
    store: CampaignStore, contacts: str, request: CampaignRequest, *, dry_run: bool = False
) -> EnqueueResult:
    """Import, validate, store and start a campaign (or only validate, when `dry_run`).

    `contacts` is a path, or `-` for standard input.
    """
    from broadcaster.replai import ReplaiClient
    from broadcaster.settings import get_settings

    opened: list[ReplaiClient] = []

    def client(account: str) -> ReplaiClient:  # to check a template, with the campaign's account
        opened.append(get_settings().replai_client(account))
        return opened[-1]

    source: str | IO[bytes] = sys.stdin.buffer if contacts == "-" else contacts
    try:
        return operations.launch(
            store, open_dispatch(), source, request, defaults=launch_defaults(),
            client=client, dry_run=dry_run,
        )  # fmt: skip
    except NoPhoneColumn as exc:
        other = " (or another sheet: --sheet NAME)" if len(exc.sheets) > 1 else ""
        raise CommandError(f"{exc}: pass --phone-column NAME{other}") from None
    finally:
        for each in opened:
            each.close()


def _json_result(result: EnqueueResult, dry_run: bool) -> dict[str, Any]:
    summary = dict(result.summary)
    if dry_run:
        recipients = summary.pop("recipients", [])
        return {"dry_run": True, "summary": summary, "recipients": recipients}
    campaign = result.campaign
    return {
        "campaign_id": campaign.id,
        "name": campaign.name,
        "state": campaign.state.value,
        "total": campaign.total,
        "summary": summary,
    }


def _announce(result: EnqueueResult) -> None:
    c = result.campaign
    rate = f"{c.rate_per_minute:g}/min" if c.rate_per_minute else "the sender's rate"
    when = f", starting {local_time(c.send_at)}" if c.send_at else ""
    console.print(
        f"Campaign [bold]{c.id}[/] ({c.name}): {c.total} recipients through {c.channel} "
        f"{c.sender} at {rate}{when}."
    )


def report_outcome(store: CampaignStore, campaign_id: str) -> None:
    """Follow the campaign with the progress bar, then say how it ended.

    Raises:
        CommandError: the campaign paused (an error or an operator): exit code 1.
    """
    final = follow(store, campaign_id, out=console)
    if final is None:
        console.print(
            f"Detached: campaign {campaign_id} goes on. "
            f"Check it with: broadcaster status {campaign_id}"
        )
        return
    if final.state == "paused":
        raise CommandError(
            f"campaign {campaign_id} paused: {final.reason or 'no reason given'}; "
            f"fix the cause, then: broadcaster resume {campaign_id}"
        )
    console.print(
        f"Campaign {campaign_id} {final.state}: {counts_text(final.counts)}. "
        f"Report: broadcaster report {campaign_id}"
    )
