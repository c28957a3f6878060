"""A campaign's report, one way for every edge: the counts, the failures grouped by code, a
few replies, and the CSV of every recipient.

The CSV has one line per recipient (full phone numbers: it is the operator's own data, as in
the file they uploaded), times in UTC as `2026-11-30T09:15:00Z`, and a `'` in front of any
cell a spreadsheet would run as a formula. The API streams it with `iter_csv`, the command
line writes it with `write_csv`: the bytes are the same. An archived campaign's report is
read from its archive file (`archives`), which holds those bytes.
"""

import collections
import csv
import dataclasses
import datetime
import io
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from . import archives
from .campaigns import OPEN_STATUSES, Campaign
from .store import CampaignStore, RecipientRow

__all__ = [
    "REPORT_COLUMNS",
    "CampaignReport",
    "FailureGroup",
    "build_report",
    "failure_code",
    "failure_groups",
    "iso_time",
    "iter_csv",
    "neutralise",
    "recipient_rows",
    "write_csv",
]

#: The report's first columns; the message's variables follow (kept beside the archive
#: reader, which reads them back).
REPORT_COLUMNS = archives.REPORT_COLUMNS
#: Replies a report lists.
DEFAULT_SHOWN_REPLIES = 10
#: Failure codes a report lists; the rest are counted under "other reasons".
DEFAULT_MAX_GROUPS = 50
#: Report rows per chunk of `iter_csv`.
DEFAULT_CHUNK_ROWS = 1000
#: What a spreadsheet may read as a formula when a cell starts with it (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: A Meta error code or an HTTP status at the head of a reason (after "gave up after...: ").
_CODE = re.compile(r"(?:^|: )(HTTP \d{3}|\d{1,6})(?=:)")


def iso_time(timestamp: float | None) -> str:
    """A Unix time as ISO 8601 in UTC, `2026-11-30T09:15:00Z`; "" when unset."""
    if not timestamp:
        return ""
    return datetime.datetime.fromtimestamp(timestamp, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def neutralise(cell: str) -> str:
    """Prefix `'` to a cell a spreadsheet would run as a formula (`=cmd|...`, `+`, `-`, `@`)."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def failure_code(reason: str) -> str:
    """The code a failure reason is grouped by: Meta's (`131026`), `HTTP 503`, or the reason
    itself when it has none."""
    match = _CODE.search(reason)
    return match.group(1) if match else reason


@dataclasses.dataclass(frozen=True, slots=True)
class FailureGroup:
    """Failed recipients with one code: the most frequent reason written for it, and how many."""

    code: str
    reason: str
    count: int


def recipient_rows(
    store: CampaignStore, campaign: Campaign, *, status: str | None = None
) -> Iterator[RecipientRow]:
    """Every recipient (or those in one status): from Redis, or from the archive file."""
    if campaign.archive:
        return archives.archived_rows(Path(campaign.archive), status=status)
    return store.iter_rows(campaign.id, status=status)


def failure_groups(
    store: CampaignStore, campaign_id: str, *, limit: int = DEFAULT_MAX_GROUPS
) -> list[FailureGroup]:
    """Failed recipients grouped by code, most frequent first (read in buckets; an archived
    campaign's were kept when it was archived)."""
    if store.get(campaign_id).archive:
        return [FailureGroup(**g) for g in store.archived_failures(campaign_id)]
    reasons: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for row in store.iter_rows(campaign_id, status="failed"):
        reason = row.error or "no reason recorded"
        reasons[failure_code(reason)][reason] += 1
    groups = [
        FailureGroup(code, counter.most_common(1)[0][0], counter.total())
        for code, counter in reasons.items()
    ]
    groups.sort(key=lambda g: (-g.count, g.code))
    shown, rest = groups[:limit], sum(g.count for g in groups[limit:])
    if rest:
        shown.append(FailureGroup("other", "other reasons", rest))
    return shown


@dataclasses.dataclass(frozen=True, slots=True)
class CampaignReport:
    """Counts of a campaign, its failures grouped by code and a few replies."""

    campaign: Campaign
    counts: dict[str, int]
    failures: list[FailureGroup]
    replies: list[tuple[str, str]]
    #: A sender pool's share: recipients sent per sender (empty without a pool).
    per_sender: dict[str, int] = dataclasses.field(default_factory=dict)
    #: The pool's senders taken out of the campaign, with their reason.
    senders_out: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def accepted(self) -> int:
        """Recipients Replai accepted: sent, delivered or read."""
        return self.counts["sent"] + self.counts["delivered"] + self.counts["read"]

    @property
    def open(self) -> int:
        """Recipients not finished yet."""
        return sum(self.counts[s.label] for s in OPEN_STATUSES)


def build_report(
    store: CampaignStore, campaign_id: str, *, max_replies: int = DEFAULT_SHOWN_REPLIES
) -> CampaignReport:
    """Read the campaign, its counts, failures grouped by code and the first replies."""
    campaign = store.get(campaign_id)
    counts = store.counts(campaign_id)
    failures = failure_groups(store, campaign_id) if counts["failed"] else []
    replies: list[tuple[str, str]] = []
    if campaign.replies and max_replies:
        for row in recipient_rows(store, campaign):
            if row.reply:
                replies.append((row.phone, row.reply))
                if len(replies) >= max_replies:
                    break
    if not campaign.senders:
        return CampaignReport(campaign, counts, failures, replies)
    per_sender = store.sent_per_sender(campaign_id, campaign.pool())
    return CampaignReport(
        campaign, counts, failures, replies, per_sender, store.senders_out(campaign_id)
    )


def _cells(row: RecipientRow, variables: list[str]) -> list[str]:
    return [
        str(row.index), row.phone, row.status, str(row.attempts), iso_time(row.updated_at),
        row.message_id or "", row.error or "", row.reply or "",
        *(row.variables.get(name, "") for name in variables),
    ]  # fmt: skip


def _lines(rows: Iterable[RecipientRow], variables: list[str]) -> Iterator[list[str]]:
    yield [neutralise(name) for name in (*REPORT_COLUMNS, *variables)]
    for row in rows:
        yield [neutralise(cell) for cell in _cells(row, variables)]


def write_csv(rows: Iterable[RecipientRow], variables: list[str], file: IO[str]) -> int:
    """Write the header and one line per recipient; returns how many recipients."""
    writer = csv.writer(file, lineterminator="\r\n")
    written = -1
    for written, line in enumerate(_lines(rows, variables)):  # noqa: B007
        writer.writerow(line)
    return written


def iter_csv(
    store: CampaignStore, campaign_id: str, *, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> Iterator[str]:
    """The CSV report in chunks of `chunk_rows` lines, for streaming (the bytes of
    `write_csv`)."""
    campaign = store.get(campaign_id)
    if campaign.archive:
        yield from archives.iter_archive(Path(campaign.archive))
        return
    variables = campaign.variables
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for n, line in enumerate(_lines(store.iter_rows(campaign_id), variables), start=1):
        writer.writerow(line)
        if n % chunk_rows == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text
