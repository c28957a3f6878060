"""Campaign commands: list, status, report, and pause, resume, cancel, retry-failed,
resend-unknown.

Lifecycle changes go to the store at once (so a refused change is reported here, with its
reason), and the sends they release are published to the broker from this process.
"""

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from broadcaster.campaigns import Campaign, RecipientStatus
from broadcaster.enqueue import Progress, campaign_progress

from .connection import open_store, publish_sends
from .group import CommandError
from .output import console, iso_time, local_time, print_json
from .progress import counts_text
from .reports import build_report, print_report, write_csv

__all__ = [
    "cancel",
    "list_campaigns",
    "pause",
    "report",
    "resend_unknown",
    "resume",
    "retry_failed",
    "status",
]

CampaignId = Annotated[str, typer.Argument(metavar="ID", help="The campaign id.")]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def list_campaigns(
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 20,
    json_output: JsonFlag = False,
) -> None:
    """List campaigns, newest first."""
    store = open_store()
    campaigns = store.list_campaigns(limit=limit)
    progress = {c.id: campaign_progress(c.id, store=store) for c in campaigns}
    if json_output:
        print_json([_status_json(c, progress[c.id]) for c in campaigns])
        return
    if not campaigns:
        console.print("No campaigns yet. Start one with: broadcaster launch CONTACTS.csv ...")
        return
    table = Table("id", "name", "state", "done", "total", "created")
    for c in campaigns:
        p = progress[c.id]
        table.add_row(
            c.id, escape(c.name), c.state, str(p.done), str(c.total), local_time(c.created_at)
        )
    console.print(table)


def status(campaign_id: CampaignId, json_output: JsonFlag = False) -> None:
    """Show where a campaign stands: state, counts per status, rate and time to go."""
    store = open_store()
    campaign = store.get(campaign_id)
    progress = campaign_progress(campaign_id, store=store)
    if json_output:
        print_json(_status_json(campaign, progress))
        return
    message = f"template {campaign.template}" if campaign.template else "text message"
    console.print(f"[bold]{campaign.id}[/] {escape(campaign.name)}: [bold]{progress.state}[/]")
    if progress.reason:
        console.print(f"  reason: {escape(progress.reason)}")
    if campaign.send_at and progress.state in ("draft", "scheduled"):
        console.print(f"  starts {local_time(campaign.send_at)}")
    console.print(
        f"  {message} through {campaign.channel} {escape(campaign.sender)}; "
        f"created {local_time(campaign.created_at)}, started {local_time(campaign.started_at)}, "
        f"finished {local_time(campaign.finished_at)}"
    )
    eta = f", about {progress.eta:.0f} s to go" if progress.eta is not None else ""
    console.print(
        f"  {progress.done}/{progress.total} done ({progress.percent:.0f} %), "
        f"{progress.rate * 60:.0f}/min{eta}"
    )
    console.print(f"  {counts_text(progress.counts)}")
    console.print(f"  replies {campaign.replies}, opted out {campaign.opted_out}")


def _status_json(campaign: Campaign, progress: Progress) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "name": campaign.name,
        "state": progress.state,
        "reason": progress.reason,
        "channel": campaign.channel,
        "sender": campaign.sender,
        "template": campaign.template,
        "text": campaign.text,
        "total": progress.total,
        "done": progress.done,
        "percent": round(progress.percent, 2),
        "counts": dict(progress.counts),
        "replies": campaign.replies,
        "opted_out": campaign.opted_out,
        "rate_per_minute": round(progress.rate * 60, 2),
        "eta_seconds": round(progress.eta, 1) if progress.eta is not None else None,
        "created_at": iso_time(campaign.created_at),
        "started_at": iso_time(campaign.started_at),
        "finished_at": iso_time(campaign.finished_at),
        "send_at": iso_time(campaign.send_at),
        "summary": dict(campaign.summary),
    }


def report(
    campaign_id: CampaignId,
    csv_file: Annotated[
        Path | None,
        typer.Option("--csv", metavar="FILE", help="Write every recipient to FILE ('-': stdout)."),
    ] = None,
) -> None:
    """Report a campaign: outcomes, failures by reason, replies; or every row as CSV."""
    store = open_store()
    if csv_file is None:
        print_report(build_report(store, campaign_id), out=console)
        return
    campaign = store.get(campaign_id)
    rows = store.iter_rows(campaign_id)
    if str(csv_file) == "-":
        write_csv(rows, campaign.variables, sys.stdout)
        return
    try:
        with csv_file.open("w", encoding="utf-8", newline="") as file:
            written = write_csv(rows, campaign.variables, file)
    except OSError as exc:
        raise CommandError(f"cannot write {csv_file}: {exc.strerror}") from None
    console.print(f"Wrote {written} recipients to {csv_file}.")


def pause(campaign_id: CampaignId) -> None:
    """Pause a campaign: no new sends until it is resumed."""
    open_store().pause(campaign_id, "paused by an operator")
    console.print(
        f"Paused campaign {campaign_id}. Continue with: broadcaster resume {campaign_id}"
    )


def resume(campaign_id: CampaignId) -> None:
    """Resume a paused campaign."""
    released = open_store().resume(campaign_id)
    publish_sends(campaign_id, released)
    console.print(f"Resumed campaign {campaign_id}.")


def cancel(campaign_id: CampaignId) -> None:
    """Cancel a campaign: recipients not sent yet are never sent."""
    cancelled = open_store().cancel(campaign_id)
    console.print(f"Cancelled campaign {campaign_id}: {cancelled} recipients will not be sent.")


def retry_failed(campaign_id: CampaignId) -> None:
    """Send again to the recipients that failed."""
    _requeue(campaign_id, RecipientStatus.FAILED)


def resend_unknown(
    campaign_id: CampaignId,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Send again to recipients whose outcome is unknown (they may get the message twice)."""
    store = open_store()
    unknown = store.counts(campaign_id)["unknown"]
    if unknown and not yes:
        typer.confirm(
            f"Resend to {unknown} recipients of {campaign_id} whose send may already have "
            "reached them (they could get the message twice)?",
            abort=True,
        )
    _requeue(campaign_id, RecipientStatus.UNKNOWN)


def _requeue(campaign_id: CampaignId, status: RecipientStatus) -> None:
    released, count = open_store().requeue(campaign_id, status)
    publish_sends(campaign_id, released)
    if count:
        console.print(f"Requeued {count} {status.label} recipients of campaign {campaign_id}.")
    else:
        console.print(f"No {status.label} recipients in campaign {campaign_id}.")
