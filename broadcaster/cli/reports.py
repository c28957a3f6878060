"""A campaign's final report: a table for people and a CSV for spreadsheets.

The table masks phone numbers (terminals end up in screenshots and logs); the CSV and the
`--json` outputs carry full numbers, since they are the operator's own data, as in the file
they uploaded.
"""

import collections
import csv
import dataclasses
from collections.abc import Iterable
from typing import IO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from broadcaster.campaigns import Campaign
from broadcaster.phones import mask_phone
from broadcaster.store import CampaignStore, RecipientRow

from .output import iso_time

__all__ = ["CampaignReport", "build_report", "neutralise_cell", "print_report", "write_csv"]

#: Replies listed under the table.
DEFAULT_SHOWN_REPLIES = 10
#: What a spreadsheet may read as a formula when a cell starts with it (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_COLUMNS = ["index", "phone", "status", "attempts", "updated_at", "message_id", "error", "reply"]


@dataclasses.dataclass(frozen=True, slots=True)
class CampaignReport:
    """Counts of a campaign, its failures grouped by reason and a few replies."""

    campaign: Campaign
    counts: dict[str, int]
    failures: list[tuple[str, int]]
    replies: list[tuple[str, str]]

    @property
    def accepted(self) -> int:
        """Recipients Replai accepted: sent, delivered or read."""
        return self.counts["sent"] + self.counts["delivered"] + self.counts["read"]

    @property
    def open(self) -> int:
        """Recipients not finished yet."""
        c = self.counts
        return c["pending"] + c["queued"] + c["sending"] + c["waiting"]


def build_report(
    store: CampaignStore, campaign_id: str, *, max_replies: int = DEFAULT_SHOWN_REPLIES
) -> CampaignReport:
    """Read the campaign, its counts, failure reasons and the first replies."""
    campaign = store.get(campaign_id)
    counts = store.counts(campaign_id)
    reasons: collections.Counter[str] = collections.Counter()
    if counts["failed"]:
        for row in store.iter_rows(campaign_id, status="failed"):
            reasons[row.error or "no reason recorded"] += 1
    replies: list[tuple[str, str]] = []
    if campaign.replies and max_replies:
        for row in store.iter_rows(campaign_id):
            if row.reply:
                replies.append((row.phone, row.reply))
                if len(replies) >= max_replies:
                    break
    return CampaignReport(campaign, counts, reasons.most_common(), replies)


def print_report(report: CampaignReport, *, out: Console) -> None:
    """The report as a table, then the replies (numbers masked)."""
    c, n = report.campaign, report.counts
    table = Table(title=f"Campaign {c.id}: {escape(c.name)} ({c.state})", title_justify="left")
    table.add_column("outcome")
    table.add_column("recipients", justify="right")
    rows: list[tuple[str, int]] = [
        ("recipients", c.total),
        ("sent (accepted by Replai)", report.accepted),
        ("  delivered", n["delivered"] + n["read"]),
        ("  read", n["read"]),
        ("replies", c.replies),
        ("failed", n["failed"]),
    ]
    rows += [(f"  {escape(reason)}", count) for reason, count in report.failures]
    rows += [
        ("opted out (replied with a stop word)", c.opted_out),
        ("skipped (on the suppression list)", n["skipped"]),
        ("unknown (worker lost mid-send)", n["unknown"]),
        ("cancelled", n["cancelled"]),
    ]
    if report.open:
        rows.append(("not finished yet", report.open))
    for label, count in rows:
        table.add_row(label, str(count))
    out.print(table)
    summary = c.summary
    if summary:
        out.print(
            f"At import: {summary.get('rejected', 0)} rejected, "
            f"{summary.get('duplicates', 0)} duplicate, "
            f"{summary.get('suppressed', 0)} already suppressed."
        )
    for phone, text in report.replies:
        out.print(f"  reply from {mask_phone(phone)}: {escape(text)}")


def neutralise_cell(value: str) -> str:
    """Prefix `'` to a cell a spreadsheet would run as a formula (`=cmd|...`, `+`, `-`, `@`)."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def write_csv(rows: Iterable[RecipientRow], variables: list[str], file: IO[str]) -> int:
    """Write one line per recipient (full numbers); returns how many were written."""
    writer = csv.writer(file)
    writer.writerow([neutralise_cell(name) for name in _COLUMNS + variables])
    written = 0
    for row in rows:
        cells = [
            str(row.index), row.phone, row.status, str(row.attempts),
            iso_time(row.updated_at) or "", row.message_id or "", row.error or "",
            row.reply or "", *(row.variables.get(v, "") for v in variables),
        ]  # fmt: skip
        writer.writerow([neutralise_cell(cell) for cell in cells])
        written += 1
    return written
