"""A campaign's report for people: a table of outcomes (from `broadcaster.reports`).

The table masks phone numbers (terminals end up in screenshots and logs); the CSV
(`broadcaster.reports.write_csv`) and the `--json` outputs carry full numbers, since they are
the operator's own data, as in the file they uploaded.
"""

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from broadcaster.phones import mask_phone
from broadcaster.reports import CampaignReport

__all__ = ["print_report"]


def print_report(report: CampaignReport, *, out: Console) -> None:
    """The report as a table of cumulative outcomes, then the replies (numbers masked)."""
    c, n = report.campaign, report.counts
    title = f"Report of campaign {c.id}: {escape(c.name)} ({c.state}), every recipient"
    table = Table(title=title, title_justify="left")
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
    rows += [(f"  {escape(g.reason)}", g.count) for g in report.failures]
    rows += [
        ("opted out (replied with a stop word)", c.opted_out),
        ("skipped (on the suppression list)", n["skipped"]),
        ("unknown (the request may have reached Replai)", n["unknown"]),
        ("cancelled", n["cancelled"]),
        ("expired (not sent before the campaign's expires_at)", n["expired"]),
    ]
    if report.open:
        rows.append(("not finished yet", report.open))
    for sender, count in report.per_sender.items():
        why = report.senders_out.get(sender)
        rows.append(
            (f"sent by {escape(sender)}" + (f" (out: {escape(why)})" if why else ""), count)
        )
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
