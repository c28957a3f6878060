"""Data commands: delete a campaign, and (in `erasure`) forget a number or show what is held
about it. Each is one `broadcaster.operations` action, as in the API and the page."""

from typing import Annotated

import typer
from rich.markup import escape

from broadcaster import operations

from .connection import open_store
from .output import console

__all__ = ["delete"]

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
