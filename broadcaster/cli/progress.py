"""The live progress bar of a campaign, polled from the store until it stops moving.

Next to the bar: what the campaign is doing (`sending at 118/min`, `pacing`, `retrying`...)
and where its recipients are now, by status; a recipient moves from `queued` to `sent` and
on to `delivered`, so these are current statuses, not the cumulative report.
"""

import time
from collections.abc import Mapping

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from broadcaster.progress import Progress as CampaignProgress
from broadcaster.progress import campaign_progress
from broadcaster.store import CampaignStore

__all__ = ["RESTING_STATES", "counts_text", "follow"]

#: Seconds between two polls of the store.
DEFAULT_INTERVAL = 0.3
#: States in which a campaign sends nothing more until an operator acts.
RESTING_STATES = frozenset({"completed", "cancelled", "paused"})
#: Statuses shown next to the bar, in this order, when not zero.
_SHOWN = (
    "queued", "paced", "off_hours", "waiting", "sent", "delivered", "read", "failed",
    "skipped", "cancelled", "unknown", "expired",
)  # fmt: skip


def counts_text(counts: Mapping[str, int]) -> str:
    """`sent 12 · delivered 3 · failed 1`: the statuses that are not zero."""
    parts = [f"{name} {counts[name]}" for name in _SHOWN if counts.get(name)]
    return " · ".join(parts) or "nothing sent yet"


def follow(
    store: CampaignStore,
    campaign_id: str,
    *,
    out: Console,
    interval: float = DEFAULT_INTERVAL,
) -> CampaignProgress | None:
    """Show a progress bar until the campaign completes, is cancelled or pauses.

    Returns the last progress, or None when the user pressed Ctrl-C (the campaign goes on).
    """
    current = campaign_progress(store, campaign_id)
    bar = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TextColumn("now: {task.fields[counts]}"),
        console=out,
        refresh_per_second=8,
    )
    try:
        with bar:
            task = bar.add_task(current.describe(), total=current.total or 1, counts="")
            while True:
                bar.update(
                    task,
                    completed=current.done if current.total else 1,
                    description=current.describe(),
                    counts=counts_text(current.counts),
                )
                if current.state in RESTING_STATES:
                    return current
                time.sleep(interval)
                current = campaign_progress(store, campaign_id)
    except KeyboardInterrupt:
        return None
