"""Contact import: a contact file (or a list of dicts) in, a stream of `Contact`s out.

Reads what people have: CSV as any tool exports it (UTF-8 with or without BOM, cp1252, UTF-16,
`,` `;` or tab, Excel's `sep=;` line, quoted fields with newlines), workbooks (`.xlsx`, `.xls`,
`.ods`: the first sheet or a named one), vCard files, and plain lists of numbers without a
header. Google, Outlook, HubSpot and Shopify exports work as they are: the phone is taken, row
by row, from the best of their phone columns (`phonecolumns`), and `{name}` is built from
their name columns (`namecolumns`). The file is streamed.

```python
with read_contacts("contacts.xlsx", suppressed=opted_out) as contacts:
    for contact in contacts:
        store(contact.phone, contact.variables)
print(contacts.summary.to_dict())
```

A problem with the whole file raises `ContactImportError` from `read_contacts` (the header is
read at once); a bad row becomes a `RowError` in `summary.errors` and the good rows go on.
"""

import io
import os
from collections.abc import Container, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Self, cast

import phonenumbers

from broadcaster._csvtext import DEFAULT_MAX_LINE_CHARS
from broadcaster._layouts import LaidRow, Layout, read_dicts, read_table
from broadcaster._sources import open_path, open_table
from broadcaster._tables import DEFAULT_MAX_COLUMNS, Table
from broadcaster.importsummary import ImportSummary, RowError
from broadcaster.namecolumns import NAME_VARIABLE
from broadcaster.phonecolumns import PHONE_COLUMN_ALIASES

__all__ = [
    "DEFAULT_MAX_COLUMNS",
    "DEFAULT_MAX_LINE_CHARS",
    "DEFAULT_MAX_ROW_ERRORS",
    "PHONE_COLUMN_ALIASES",
    "Contact",
    "ContactImport",
    "ImportSummary",
    "RowError",
    "read_contacts",
]

#: Row errors kept in `ImportSummary.errors`; `rejected` counts them all.
DEFAULT_MAX_ROW_ERRORS = 1000


@dataclass(frozen=True, slots=True)
class Contact:
    """One recipient: a normalised phone and the row's other columns."""

    line: int  #: 1-based line of the file where the row starts (header is 1); index for dicts
    phone: str  #: E.164 digits without `+`: `"628123456789"`
    variables: dict[str, str]  #: every other column, by header name as written (stripped)


class ContactImport:
    """An iterator of `Contact`s; `summary` fills in as it is consumed. Close it when done."""

    def __init__(
        self,
        rows: Iterator[LaidRow],
        summary: ImportSummary,
        layout: Layout,
        *,
        suppressed: Container[str],
        max_row_errors: int,
        closer: io.IOBase | None = None,
        release: Table | None = None,
    ) -> None:
        self.summary = summary
        #: The variables a template may use (the file's columns, and `name` when built).
        self.columns = summary.columns + ([NAME_VARIABLE] if layout.names else [])
        self._closer = closer
        self._release = release
        self._contacts = self._run(rows, layout, suppressed, max_row_errors)

    def __iter__(self) -> Iterator[Contact]:
        return self._contacts  # the generator itself: no Python call per contact

    def __next__(self) -> Contact:
        return next(self._contacts)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop reading and close the file if `read_contacts` opened it."""
        self._contacts.close()
        self._free()

    def _free(self) -> None:
        if self._release is not None:
            self._release.close()
        if self._closer is not None:
            self._closer.close()

    def _run(
        self, rows: Iterator[LaidRow], layout: Layout, suppressed: Container[str], max_errors: int
    ) -> Generator[Contact, None, None]:
        summary, seen = self.summary, set[int]()  # ints take half the memory of strs
        pick, width = layout.phones.pick, len(summary.columns)
        try:
            for row in rows:
                summary.rows += 1
                if isinstance(row, RowError):
                    self._reject(row, max_errors)
                    continue
                line, fields, short, extra = row
                if short:
                    summary.short_rows += 1
                try:
                    phone = pick(fields)[0]
                except ValueError as exc:
                    note = f" (the row has {short} of {width} fields)" if short else ""
                    self._reject(RowError(line, f"{exc}{note}"), max_errors)
                    continue
                key = int(phone)
                if key in seen:
                    summary.duplicates += 1
                    continue
                seen.add(key)
                if phone in suppressed:
                    summary.suppressed += 1
                    continue
                summary.valid += 1
                variables = layout.variables_of(fields)
                yield Contact(line, phone, variables | extra if extra else variables)
        finally:
            self._free()

    def _reject(self, error: RowError, max_errors: int) -> None:
        self.summary.rejected += 1
        if len(self.summary.errors) < max_errors:
            self.summary.errors.append(error)


def read_contacts(
    source: str | os.PathLike[str] | IO[bytes] | IO[str] | Iterable[Mapping[str, object]],
    *,
    phone_column: str | None = None,
    region: str = "ID",
    suppressed: Container[str] = frozenset(),
    max_row_errors: int = DEFAULT_MAX_ROW_ERRORS,
    sheet: str | None = None,
) -> ContactImport:
    """Start importing contacts from a path, a binary or text file, or dicts.

    The file's kind is judged by its content: CSV, `.xlsx`/`.xls`/`.ods` workbook, vCard.
    Reads the header at once; the rows are read as the result is iterated. A file given as
    an object is not closed. Numbers are deduplicated; numbers in `suppressed` (E.164
    digits) are dropped and counted.

    Args:
        phone_column: the phone column's name; by default the phone columns are found by
            name and ranked (`phonecolumns`), and each row uses the best that holds a mobile.
        region: where numbers without a country code are from (ISO code, e.g. "ID").
        sheet: the worksheet of a workbook to read (by default the first visible one).

    Raises:
        ContactImportError: the file cannot be read at all (empty, binary, bad header...).
        NoPhoneColumn: no column is named like a phone column, nor holds phone numbers.
        ValueError: `region` or `max_row_errors` is invalid.
    """
    region = _check_options(region, max_row_errors)
    if not isinstance(source, str | os.PathLike) and not hasattr(source, "read"):
        rows, summary, layout = read_dicts(iter(source), phone_column, region)
        return ContactImport(
            rows, summary, layout, suppressed=suppressed, max_row_errors=max_row_errors
        )
    closer: io.IOBase | None = None
    table: Table | None = None
    try:
        if isinstance(source, str | os.PathLike):
            closer = open_path(source)
        stream = closer if closer is not None else source
        table = open_table(cast(IO[bytes] | IO[str], stream), sheet=sheet)
        rows, summary, layout = read_table(table, phone_column, region)
    except BaseException:
        if table is not None:
            table.close()
        if closer is not None:
            closer.close()
        raise
    return ContactImport(
        rows,
        summary,
        layout,
        suppressed=suppressed,
        max_row_errors=max_row_errors,
        closer=closer,
        release=table,
    )


def _check_options(region: str, max_row_errors: int) -> str:
    """Return the region in upper case; raise ValueError for a bad option."""
    if region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown region {region!r}: use an ISO 3166 code such as 'ID'")
    if max_row_errors < 0:
        raise ValueError(f"max_row_errors must be >= 0, not {max_row_errors}")
    return region.upper()
