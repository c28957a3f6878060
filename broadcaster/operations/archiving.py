"""Archiving finished campaigns, and the retention rule that does it on its own.

A completed or cancelled campaign is archived in three steps, each safe to repeat: it is
frozen (callbacks for it are counted as `late` and ignored); its report, the live CSV byte
for byte, is written to `<archive_dir>/<id>.csv.gz` and its failure reasons are kept; then
its recipients and index entries leave Redis in bounded steps. A small summary stays: name,
dates, counts, failure reasons, the archive's location. It still lists, and its report
downloads from the archive. An archive cut short (a crash) is finished at the next pass.
"""

import dataclasses
import logging
from pathlib import Path

from broadcaster import archives
from broadcaster.errors import CampaignError
from broadcaster.reports import failure_groups, iter_csv
from broadcaster.store import CampaignStore, Removal

__all__ = ["DAY", "archive_campaign", "archive_due"]

logger = logging.getLogger(__name__)

#: Seconds in a day (`Settings.retention_days` is in days).
DAY = 86400.0


def archive_campaign(store: CampaignStore, campaign_id: str, directory: Path) -> Removal:
    """Archive a completed or cancelled campaign's report to `directory` and remove its
    recipients from Redis.

    Raises:
        CampaignNotFound, CampaignStateError: not finished, or sends still in flight.
        OSError: the archive could not be written (nothing was removed).
    """
    total = store.begin_archive(campaign_id)
    campaign = store.get(campaign_id)
    if not campaign.archive:
        path = archives.archive_path(directory, campaign_id).absolute()
        failures = [dataclasses.asdict(g) for g in failure_groups(store, campaign_id)]
        size = archives.write_archive(path, iter_csv(store, campaign_id))
        store.record_archive(campaign_id, str(path), failures)
        logger.info("campaign %s: report archived to %s (%d bytes)", campaign_id, path, size)
    removal = store.finish_archive(campaign_id, total)
    logger.info(
        "campaign %s archived: %d recipients, %d keys and %d index entries left Redis",
        campaign_id, removal.recipients, removal.keys, removal.index_entries,
    )  # fmt: skip
    return removal


def archive_due(
    store: CampaignStore, directory: Path, *, retention: float, limit: int = 10
) -> list[str]:
    """Archive up to `limit` campaigns finished more than `retention` seconds ago (oldest
    first); returns their ids. One that cannot be archived now is logged and left."""
    done = []
    for cid in store.archive_candidates(store.clock() - retention)[:limit]:
        try:
            archive_campaign(store, cid, directory)
        except (CampaignError, OSError) as exc:
            logger.warning("campaign %s not archived: %s", cid, exc)
            continue
        done.append(cid)
    return done
