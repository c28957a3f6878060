"""Campaign commands: list, status, report, and pause, resume, cancel, retry-failed,
resend-unknown: each is one `broadcaster.operations` action, as in the API and the page.

Lifecycle changes go to the store at once (so a refused change is reported here, with its
reason), and the sends they release are published to the broker from this process.
"""

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from broadcaster import operations
from broadcaster.campaigns import Campaign
from broadcaster.progress import Progress, campaign_progress
from broadcaster.reports import build_report, iso_time, recipient_rows, write_csv

from .connection import open_dispatch, open_store
from .group import CommandError
from .output import console, local_time, print_json
from .progress import counts_text
from .reports import print_report

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
    progress = {c.id: campaign_progress(store, c.id) for c in campaigns}
    if json_output:
        print_json([_status_json(c, progress[c.id]) for c in campaigns])
        return
    if not campaigns:
        console.print("No campaigns yet. Start one with: broadcaster launch CONTACTS.csv ...")
        return
    table = Table("id", "name", "state", "now", "done", "total", "created")
    for c in campaigns:
        p = progress[c.id]
        table.add_row(
            c.id, escape(c.name), f"{c.state} (archived)" if c.archived_at else c.state,
            escape(p.describe()), str(p.done), str(c.total),
            local_time(c.created_at),
        )  # fmt: skip
    console.print(table)


def status(campaign_id: CampaignId, json_output: JsonFlag = False) -> None:
    """Show where a campaign stands: state, counts per status, rate and time to go."""
    store = open_store()
    campaign = store.get(campaign_id)
    progress = campaign_progress(store, campaign_id)
    if json_output:
        print_json(_status_json(campaign, progress))
        return
    message = f"template {campaign.template}" if campaign.template else "text message"
    console.print(
        f"[bold]{campaign.id}[/] {escape(campaign.name)}: [bold]{progress.state}[/], "
        f"{escape(progress.describe())}"
    )
    if progress.reason and progress.state != "paused":
        console.print(f"  reason: {escape(progress.reason)}")
    if campaign.send_at and progress.state in ("draft", "scheduled"):
        console.print(f"  starts {local_time(campaign.send_at)}")
    console.print(
        f"  {message} through {campaign.channel} {escape(campaign.sender)}; "
        f"created {local_time(campaign.created_at)}, started {local_time(campaign.started_at)}, "
        f"finished {local_time(campaign.finished_at)}"
    )
    eta = f", about {progress.eta:.0f} s to go" if progress.eta is not None else ""
    console.print(f"  {progress.done}/{progress.total} done ({progress.percent:.0f} %){eta}")
    console.print(f"  now: {counts_text(progress.counts)}")
    for sender, limit in progress.limited_by_sender.items():
        console.print(f"  sender {escape(sender)}: held by {escape(limit)}")
    console.print(f"  replies {campaign.replies}, opted out {campaign.opted_out}")


def _status_json(campaign: Campaign, progress: Progress) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "name": campaign.name,
        "state": progress.state,
        "activity": progress.activity,
        "description": progress.describe(),
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
        "rate_per_minute": round(progress.rate * 60, 2) if progress.rate is not None else None,
        "eta_seconds": round(progress.eta, 1) if progress.eta is not None else None,
        "limited_by": progress.limited_by,
        "limited_by_sender": dict(progress.limited_by_sender),
        "created_at": iso_time(campaign.created_at) or None,
        "started_at": iso_time(campaign.started_at) or None,
        "finished_at": iso_time(campaign.finished_at) or None,
        "send_at": iso_time(campaign.send_at) or None,
        "archived_at": iso_time(campaign.archived_at) or None,
        "archive": campaign.archive,
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
    rows = recipient_rows(store, campaign)
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
    operations.pause(open_store(), campaign_id)
    console.print(
        f"Paused campaign {campaign_id}. Continue with: broadcaster resume {campaign_id}"
    )


def resume(campaign_id: CampaignId) -> None:
    """Resume a paused campaign."""
    done = operations.resume(open_store(), open_dispatch(), campaign_id)
    console.print(f"Resumed campaign {campaign_id}.")
    _note(done.note)


def cancel(campaign_id: CampaignId) -> None:
    """Cancel a campaign: recipients not sent yet are never sent."""
    done = operations.cancel(open_store(), campaign_id)
    console.print(
        f"Cancelled campaign {campaign_id}: {done.recipients} recipients will not be sent."
    )


def retry_failed(campaign_id: CampaignId) -> None:
    """Send again to the recipients that failed."""
    done = operations.retry_failed(open_store(), open_dispatch(), campaign_id)
    _requeued(campaign_id, done.recipients, "failed")
    _note(done.note)


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
    done = operations.resend_unknown(store, open_dispatch(), campaign_id, confirm=True)
    _requeued(campaign_id, done.recipients, "unknown")
    _note(done.note)


def _requeued(campaign_id: str, count: int | None, label: str) -> None:
    if count:
        console.print(f"Requeued {count} {label} recipients of campaign {campaign_id}.")
    else:
        console.print(f"No {label} recipients in campaign {campaign_id}.")


def _note(note: str | None) -> None:
    if note:
        console.print(f"[yellow]Note[/]: {escape(note)}")
