"""Contact import: a CSV file (or a list of dicts) in, a stream of `Contact`s out.

Survives real exports: UTF-8 with or without BOM, cp1252 (also lines of it inside a UTF-8
file), UTF-16 with BOM, `,` `;` or tab delimiters (and Excel's `sep=;` line), quoted fields
with newlines, phone numbers typed any way people type them. The file is streamed.

```python
with read_contacts("contacts.csv", suppressed=opted_out) as contacts:
    for contact in contacts:
        store(contact.phone, contact.variables)
print(contacts.summary.to_dict())
```

A problem with the whole file raises `ContactImportError` from `read_contacts` (the header is
read at once); a bad row becomes a `RowError` in `summary.errors` and the good rows go on.
"""

import csv
import io
import itertools
import os
import re
from collections.abc import Container, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, TYPE_CHECKING, Self, cast

import phonenumbers

from broadcaster._csvtext import (
    DEFAULT_MAX_LINE_CHARS,
    Lines,
    open_path,
    open_text,
    records,
    sniff_delimiter,
)
from broadcaster.errors import ContactImportError, NoPhoneColumn
from broadcaster.phones import normalize_phone

if TYPE_CHECKING:
    pass

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
#: A header with more columns than this is refused.
DEFAULT_MAX_COLUMNS = 1000
#: Header names that mark the phone column, best first, compared without case, spaces or
#: punctuation: a WhatsApp column beats a mobile column, which beats a generic phone column.
PHONE_COLUMN_ALIASES = (
    *("whatsapp", "wa", "nowa", "nomorwa", "whatsappnumber", "nomorwhatsapp"),
    *("mobile", "mobilenumber", "hp", "nohp", "nomorhp", "handphone", "msisdn"),
    *("phone", "phonenumber", "telepon", "notelp", "nomortelepon", "nomor", "number"),
)

_NOT_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True, slots=True)
class Contact:
    """One recipient: a normalised phone and the row's other columns."""

    line: int  #: 1-based line of the file where the row starts (header is 1); index for dicts
    phone: str  #: E.164 digits without `+`: `"628123456789"`
    variables: dict[str, str]  #: every other column, by header name as written (stripped)


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that was skipped, and why (shown to the operator, so nothing is masked)."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(slots=True)
class ImportSummary:
    """What an import found; filled in while the `ContactImport` is consumed."""

    encoding: str
    delimiter: str
    phone_column: str
    columns: list[str]
    rows: int = 0  #: data rows seen (blank lines not counted)
    valid: int = 0  #: contacts yielded
    duplicates: int = 0
    suppressed: int = 0
    rejected: int = 0  #: rows with an error, all of them
    mixed_encoding_lines: int = 0  #: lines decoded otherwise than `encoding` says
    errors: list[RowError] = field(default_factory=list)  #: the first `max_row_errors`

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict of every field; errors become `{"line", "reason"}` dicts."""
        data: dict[str, object] = {
            name: getattr(self, name) for name in self.__dataclass_fields__ if name != "errors"
        }
        data["columns"] = list(self.columns)
        data["errors"] = [{"line": e.line, "reason": e.reason} for e in self.errors]
        return data


_Row = tuple[int, str, dict[str, str]] | RowError


class ContactImport:
    """An iterator of `Contact`s; `summary` fills in as it is consumed. Close it when done."""

    def __init__(
        self,
        rows: Iterator[_Row],
        summary: ImportSummary,
        *,
        region: str,
        suppressed: Container[str],
        max_row_errors: int,
        closer: io.IOBase | None = None,
    ) -> None:
        self.summary = summary
        self.columns = summary.columns
        self._closer = closer
        self._contacts = self._run(rows, region, suppressed, max_row_errors)

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
        if self._closer is not None:
            self._closer.close()

    def _run(
        self, rows: Iterator[_Row], region: str, suppressed: Container[str], max_errors: int
    ) -> Generator[Contact, None, None]:
        summary, seen = self.summary, set[int]()  # ints take half the memory of strs
        try:
            for row in rows:
                summary.rows += 1
                if isinstance(row, RowError):
                    self._reject(row, max_errors)
                    continue
                line, raw, variables = row
                try:
                    phone = normalize_phone(raw, region=region)
                except ValueError as exc:
                    reason = f"invalid phone {raw!r}: {exc}" if raw.strip() else "empty phone"
                    self._reject(RowError(line, reason), max_errors)
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
                yield Contact(line, phone, variables)
        finally:
            if self._closer is not None:
                self._closer.close()

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
) -> ContactImport:
    """Start importing contacts from a CSV path, a binary or text file, or dicts.

    Reads the header at once; the rows are read as the result is iterated. A file given as
    an object is not closed. Numbers are deduplicated; numbers in `suppressed` (E.164
    digits) are dropped and counted.

    Args:
        phone_column: the phone column's name; by default found by `PHONE_COLUMN_ALIASES`.
        region: where numbers without a country code are from (ISO code, e.g. "ID").

    Raises:
        ContactImportError: the file cannot be read at all (empty, binary, bad header...).
        NoPhoneColumn: no column is named like a phone column.
        ValueError: `region` or `max_row_errors` is invalid.
    """
    region = _check_options(region, max_row_errors)
    closer: io.IOBase | None = None
    if isinstance(source, str | os.PathLike):
        closer = stream = open_path(source)
        try:
            rows, summary = _read_csv(stream, phone_column)
        except BaseException:
            stream.close()
            raise
    elif hasattr(source, "read"):
        rows, summary = _read_csv(cast(IO[bytes] | IO[str], source), phone_column)
    else:
        rows, summary = _read_dicts(iter(source), phone_column)
    return ContactImport(
        rows,
        summary,
        region=region,
        suppressed=suppressed,
        max_row_errors=max_row_errors,
        closer=closer,
    )


def _check_options(region: str, max_row_errors: int) -> str:
    """Return the region in upper case; raise ValueError for a bad option."""
    if region.upper() not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"unknown region {region!r}: use an ISO 3166 code such as 'ID'")
    if max_row_errors < 0:
        raise ValueError(f"max_row_errors must be >= 0, not {max_row_errors}")
    return region.upper()


def _read_csv(
    stream: IO[bytes] | IO[str], explicit: str | None
) -> tuple[Iterator[_Row], ImportSummary]:
    """Open `stream` as CSV text, read its header and return the data rows to come."""
    text, encoding, recode = open_text(stream)
    hint = "; pass the file in binary mode to detect its encoding" if text is stream else ""
    lines = Lines(text, encoding, recode=recode, hint=hint)
    physical = iter(lines)
    first = next((line for line in physical if line.strip()), None)
    if first is None:
        raise ContactImportError("the file is empty")
    sep = re.fullmatch(r'"?sep=(.)"?[,;\t]*\r?\n?', first)  # Excel's delimiter hint line
    delimiter = sep.group(1) if sep else sniff_delimiter(first)
    head = [] if sep else [first]
    reader = csv.reader(itertools.chain(head, physical), delimiter=delimiter, strict=True)
    columns = _read_header(reader, lines)
    index = _find_phone_column(columns, explicit)
    summary = ImportSummary(encoding, delimiter, columns[index], columns)
    lines.summary = summary
    return _csv_rows(reader, lines, columns, index), summary


def _read_header(reader: Iterator[list[str]], lines: Lines) -> list[str]:
    try:
        header = next(reader)
    except csv.Error as exc:
        raise ContactImportError(f"the header cannot be read: {exc}", line=lines.count) from None
    for n, reason in sorted(lines.problems.items()):
        raise ContactImportError(f"line {n}, the header: {reason}", line=n)
    if len(header) > DEFAULT_MAX_COLUMNS:
        raise ContactImportError(
            f"the header has {len(header):,} columns; at most {DEFAULT_MAX_COLUMNS:,} are allowed",
            line=lines.count,
        )
    columns = [name.replace("\ufeff", "").strip() for name in header]
    named = [name for name in columns if name]
    if len(set(named)) != len(named):
        twice = next(name for name in named if named.count(name) > 1)
        raise ContactImportError(f"the column {twice!r} appears twice in the header")
    return columns


def _find_phone_column(columns: list[str], explicit: str | None) -> int:
    """The index of the phone column: `explicit` if given, else the best alias."""
    keys = [_NOT_WORD.sub("", name.casefold()) for name in columns]
    if explicit is not None:
        wanted = explicit.strip()
        if wanted in columns:
            return columns.index(wanted)
        if _NOT_WORD.sub("", wanted.casefold()) in keys:
            return keys.index(_NOT_WORD.sub("", wanted.casefold()))
        found = ", ".join(repr(c) for c in columns)
        raise ContactImportError(f"phone column {explicit!r} not found (columns: {found})")
    ranked = [(PHONE_COLUMN_ALIASES.index(k), i) for i, k in enumerate(keys) if k in _ALIAS_SET]
    if not ranked:
        raise NoPhoneColumn(columns)
    return min(ranked)[1]


_ALIAS_SET = frozenset(PHONE_COLUMN_ALIASES)


def _csv_rows(
    reader: Iterator[list[str]], lines: Lines, columns: list[str], phone: int
) -> Iterator[_Row]:
    width = len(columns)
    named = [(name, i) for i, name in enumerate(columns) if name and i != phone]
    for start, fields in records(reader, lines):
        if isinstance(fields, str):
            yield RowError(start, fields)
            continue
        if len(fields) != width:
            fitted = _fit(fields, width)
            if fitted is None:
                continue
            if isinstance(fitted, str):
                yield RowError(start, fitted)
                continue
            fields = fitted
        if not fields[phone] and not any(fields):
            continue  # an empty row such as `,,`
        yield start, fields[phone], {name: fields[i].strip() for name, i in named}


def _fit(fields: list[str], width: int) -> list[str] | str | None:
    """Fit a record to the header: None for a blank line, a reason if it does not fit."""
    if not any(value.strip() for value in fields):
        return None
    if len(fields) > width and not any(value.strip() for value in fields[width:]):
        return fields[:width]  # trailing empty cells, as spreadsheets write them
    return f"{len(fields)} fields where the header has {width} (check quoting and delimiters)"


def _read_dicts(
    items: Iterator[Mapping[str, object]], explicit: str | None
) -> tuple[Iterator[_Row], ImportSummary]:
    first = next(items, None)
    if first is None:
        return iter(()), ImportSummary("", "", explicit or "phone", [])
    if not isinstance(first, Mapping):
        raise ContactImportError("recipients must be mappings such as {'phone': ..., 'name': ...}")
    keys = list(first)
    columns = [str(key) for key in keys]
    index = _find_phone_column(columns, explicit)
    summary = ImportSummary("", "", columns[index], columns)
    return _dict_rows(itertools.chain([first], items), keys[index]), summary


def _dict_rows(items: Iterable[Mapping[str, object]], key: str) -> Iterator[_Row]:
    for n, item in enumerate(items, 1):
        if not isinstance(item, Mapping):
            yield RowError(n, f"not a mapping but {type(item).__name__}")
            continue
        variables = {str(k): _text(v) for k, v in item.items() if k != key}
        yield n, _text(item.get(key)), variables


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()
