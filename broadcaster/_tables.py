"""A contact file read as a table: a first row, then rows of text cells with their line.

Private to the import: CSV text, workbooks and vCards each become a `Table`, so column
choice, names, short rows and normalisation are done once, in `contacts`, for all of them.
"""

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from broadcaster.errors import ContactImportError
from broadcaster.importsummary import ImportSummary, RowError

__all__ = ["DEFAULT_MAX_COLUMNS", "Row", "Table", "check_header"]

#: A header with more columns than this is refused.
DEFAULT_MAX_COLUMNS = 1000

#: A data row: the line (or worksheet row, or card's first line) and its cells, or a problem.
Row = tuple[int, list[str]] | RowError


def _nothing() -> None:
    return None


@dataclass(slots=True)
class Table:
    """The first row of a contact file (the header, unless it is data) and the rows to come."""

    first: list[str]  #: the first row's cells, as read
    first_line: int
    rows: Iterator[Row]
    format: str = "csv"
    encoding: str = ""
    delimiter: str = ""
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    #: Lets the reader count into the summary (mixed-encoding lines) once there is one.
    bind: Callable[[ImportSummary], None] = lambda summary: None
    close: Callable[[], None] = _nothing  #: frees what the reader holds (workbook, temp file)


def check_header(cells: Sequence[str], line: int) -> list[str]:
    """The column names of a header row: stripped, each named column once, not too many."""
    if len(cells) > DEFAULT_MAX_COLUMNS:
        raise ContactImportError(
            f"the header has {len(cells):,} columns; at most {DEFAULT_MAX_COLUMNS:,} are allowed",
            line=line,
        )
    columns = [name.replace("\ufeff", "").strip() for name in cells]
    named = [name for name in columns if name]
    if len(set(named)) != len(named):
        twice = next(name for name in named if named.count(name) > 1)
        raise ContactImportError(f"the column {twice!r} appears twice in the header", line=line)
    return columns
