"""Archived reports: a finished campaign's CSV report, gzip-compressed, in a directory.

The file holds exactly the bytes of the live report (`reports.iter_csv`), so a report
downloaded from the archive is the one the campaign had in Redis. It is written to a
temporary name and renamed, so a reader never sees half a file. Erasing a number rewrites the
archives that hold it the same way (`blank_numbers`): its rows stay, with the phone, message
id, reply and variables emptied, as in Redis.
"""

import csv
import datetime
import gzip
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from .store import RecipientRow

__all__ = [
    "REPORT_COLUMNS",
    "archive_path",
    "archived_rows",
    "blank_numbers",
    "iter_archive",
    "read_rows",
    "write_archive",
]

#: The report's first columns, as `reports.write_csv` writes them (`reports.REPORT_COLUMNS`
#: is this); the message's variables follow.
REPORT_COLUMNS = (
    "index", "phone", "status", "attempts", "updated_at", "message_id", "error", "reply",
)  # fmt: skip

#: Bytes read per chunk when an archive is streamed.
DEFAULT_CHUNK = 64 * 1024
#: What a report puts a `'` in front of (`reports.neutralise`).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Columns emptied for an erased number (the variables too).
_ERASED = ("phone", "message_id", "reply")


def archive_path(directory: Path, campaign_id: str) -> Path:
    """Where a campaign's report is archived."""
    return directory / f"{campaign_id}.csv.gz"


def write_archive(path: Path, chunks: Iterable[str]) -> int:
    """Write report text compressed to `path` (atomically); returns its size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with gzip.open(partial, "wt", encoding="utf-8", newline="") as file:
        for chunk in chunks:
            file.write(chunk)
    os.replace(partial, path)
    return path.stat().st_size


def iter_archive(path: Path, *, chunk: int = DEFAULT_CHUNK) -> Iterator[str]:
    """The archived report's text, in chunks (for streaming)."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as file:
        while text := file.read(chunk):
            yield text


def read_rows(path: Path) -> Iterator[dict[str, str]]:
    """The archived report's rows as dicts by column."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as file:
        yield from csv.DictReader(file)


def archived_rows(path: Path, *, status: str | None = None) -> Iterator[RecipientRow]:
    """The archived report's recipients as the store gives them (times back to Unix seconds),
    or only those in one status."""
    for raw in read_rows(path):
        if status and raw["status"] != status:
            continue
        row = {k: _restore(v) for k, v in raw.items()}
        variables = {k: v for k, v in row.items() if k not in REPORT_COLUMNS}
        updated = row["updated_at"]
        yield RecipientRow(
            int(row["index"]), row["phone"], row["status"], int(row["attempts"] or 0),
            _unix(updated), row["message_id"] or None, row["error"] or None,
            row["reply"] or None, variables,
        )  # fmt: skip


def _restore(cell: str) -> str:
    """A cell as it was before the report put `'` in front of a formula start
    (`reports.neutralise`)."""
    return cell[1:] if cell[:1] == "'" and cell[1:2] in _FORMULA_STARTS else cell


def _unix(iso: str) -> int | None:
    if not iso:
        return None
    parsed = datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    return int(parsed.timestamp())


def blank_numbers(path: Path, phones: set[str]) -> int:
    """Rewrite an archive with the rows of `phones` emptied (phone, message id, reply and the
    variables); returns how many rows were. The file is left as it was when none match."""
    partial = path.with_name(path.name + ".erasing")
    blanked, fixed = 0, len(REPORT_COLUMNS)
    erased = [REPORT_COLUMNS.index(name) for name in _ERASED]
    with (
        gzip.open(path, "rt", encoding="utf-8", newline="") as source,
        gzip.open(partial, "wt", encoding="utf-8", newline="") as target,
    ):
        writer = csv.writer(target, lineterminator="\r\n")
        for n, line in enumerate(csv.reader(source)):
            if n and len(line) > 1 and line[1] in phones:
                for column in erased:
                    line[column] = ""
                line[fixed:] = [""] * (len(line) - fixed)
                blanked += 1
            writer.writerow(line)
    if blanked:
        os.replace(partial, path)
    else:
        partial.unlink()
    return blanked
