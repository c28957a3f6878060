"""Data commands: delete or archive a campaign, forget (erase) a number, show what is held
about one. Each is one `broadcaster.operations` action, as in the API and the page."""

from typing import Annotated

import typer
from rich.markup import escape

from broadcaster import operations

from .connection import open_store
from .output import console, print_json

__all__ = ["archive", "contact", "delete", "forget"]

CampaignId = Annotated[str, typer.Argument(metavar="ID", help="The campaign id.")]
YesFlag = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def delete(campaign_id: CampaignId, yes: YesFlag = False) -> None:
    """Delete a campaign that is not running, with everything Redis holds of it."""
    store = open_store()
    what = operations.deletion_summary(store, campaign_id)
    if not yes:
        typer.confirm(f"Delete {what}?", abort=True)
    removal = operations.delete_campaign(store, campaign_id)
    console.print(
        f"Deleted campaign {escape(campaign_id)}: {removal.recipients:,} recipients, "
        f"{removal.keys:,} Redis keys, {removal.index_entries:,} index entries."
    )


def forget(
    numbers: Annotated[
        list[str],
        typer.Argument(metavar="NUMBER...", help="Phone numbers, written any usual way."),
    ],
    yes: YesFlag = False,
) -> None:
    """Erase numbers from every campaign (live and archived) and the indexes; they stay
    blocked by a keyed hash (needs BROADCASTER_ERASURE_SECRET)."""
    from .suppression import normalise

    phones = normalise(numbers)
    if not yes:
        typer.confirm(
            f"Erase {len(phones)} number(s) from every campaign, report and index? They stay "
            "blocked; this cannot be undone.",
            abort=True,
        )
    for done in operations.forget(open_store(), phones):
        live = sum(done.recipients.values())
        archived = sum(done.archived.values())
        console.print(
            f"Erased {done.phone}: {live} recipient record(s) in {len(done.recipients)} "
            f"campaign(s), {archived} archived row(s); kept blocked (was: "
            f"{done.suppressed_by or 'not suppressed'})."
        )


def contact(
    number: Annotated[str, typer.Argument(metavar="NUMBER", help="A phone number.")],
) -> None:
    """Print everything held about a number as JSON (a subject access request)."""
    from .suppression import normalise

    (phone,) = normalise([number])
    print_json(operations.contact_data(open_store(), phone))


def archive(campaign_id: CampaignId) -> None:
    """Archive a completed or cancelled campaign now, as retention does: its report goes to
    BROADCASTER_ARCHIVE_DIR as CSV.gz, its recipients leave Redis, a summary stays."""
    from broadcaster.settings import get_settings

    store = open_store()
    removal = operations.archive_campaign(store, campaign_id, get_settings().archive_dir)
    location = store.get(campaign_id).archive
    console.print(
        f"Archived campaign {escape(campaign_id)} to {escape(location or '?')}: "
        f"{removal.recipients:,} recipients left Redis."
    )
