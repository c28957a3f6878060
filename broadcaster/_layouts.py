"""What the columns of a contact file mean: which give the phone, the name, the variables.

Private to `contacts`: turns a `Table` (or a list of dicts) into rows of exactly one cell per
column, finds out whether the first row is a header or already data (a plain list of
numbers), and builds the phone and name plans with the summary that reports on them.
"""

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from broadcaster._tables import Row, Table, check_header
from broadcaster.errors import ContactImportError, NoPhoneColumn
from broadcaster.importsummary import ImportSummary, RowError
from broadcaster.namecolumns import NAME_VARIABLE, NamePlan
from broadcaster.phonecolumns import PhoneColumn, PhonePlan, column_key

__all__ = ["LaidRow", "Layout", "read_dicts", "read_table"]

#: A cell that is a phone number, not a column name: a first line without a header.
_NUMBER_LIKE = re.compile(r"\+?[\d\s().\-]+|\d[.,]\d+[eE]\+?\d{1,2}")
#: A number typed with Excel's leading apostrophe, which keeps it text: `'0812...`, `'+62...`.
_MARKED_NUMBER = re.compile(r"'\+?\d[\d .\-]*")
_DATE_LIKE = re.compile(r"\d{4}-\d\d-\d\d|\d\d?[./-]\d\d?[./-]\d{2,4}")


#: A row on its way: line, cells (as many as columns), cells the file had if fewer, and the
#: extra variables of a dict that has keys the first one had not.
LaidRow = tuple[int, list[str], int, dict[str, str] | None] | RowError


@dataclass(frozen=True, slots=True)
class Layout:
    """What the columns of a file mean: the phone plan, the name plan, the variables."""

    phones: PhonePlan
    names: NamePlan | None
    variables: tuple[tuple[str, int], ...]  #: (name, index) of the columns kept as variables

    def variables_of(self, fields: Sequence[str]) -> dict[str, str]:
        """The row's variables, stripped; Excel's text marker dropped (`'80111` -> `80111`)."""
        found = {
            name: v[1:] if v[:1] == "'" and _MARKED_NUMBER.fullmatch(v) else v
            for name, i in self.variables
            if (v := fields[i].strip()) is not None
        }
        if self.names is not None:
            found[NAME_VARIABLE] = self.names.name(fields)
        return found


def read_table(
    table: Table, explicit: str | None, region: str
) -> tuple[Iterator[LaidRow], ImportSummary, Layout]:
    """The rows of `table`, its summary, and the meaning of its columns."""
    rows: Iterator[Row] = table.rows
    header = _is_header(table, explicit, region)
    if header:
        columns = check_header(table.first, table.first_line)
    else:
        columns = check_header([f"column {n}" for n in range(1, len(table.first) + 1)], 1)
        rows = itertools.chain([(table.first_line, table.first)], rows)
    phones = _phone_plan(
        columns, explicit, region, numbers=None if header else table.first, table=table
    )
    summary = _summary(table, columns, phones, header=header)
    table.bind(summary)
    fitted = _fitted(rows, len(columns), count_short=table.format == "csv")
    return fitted, summary, _layout(columns, phones)


def _is_header(table: Table, explicit: str | None, region: str) -> bool:
    """False when the first row is already data: it names no phone column, holds a number."""
    if table.format == "vcard":
        return True
    cells = [cell.replace("\ufeff", "").strip() for cell in table.first]
    if explicit is not None and _find_column(cells, explicit) is not None:
        return True
    if explicit is None and PhonePlan.from_header(cells, region=region).columns:
        return True
    return not any(_looks_like_number(cell) for cell in cells)


def _looks_like_number(cell: str) -> bool:
    """Whether a cell is a phone number as people type it (8 digits or more), not a name."""
    text = cell.strip().removeprefix("'").strip()
    if sum(ch.isdigit() for ch in text) < 8 or _DATE_LIKE.match(text):
        return False
    return _NUMBER_LIKE.fullmatch(text) is not None


def _phone_plan(
    columns: list[str],
    explicit: str | None,
    region: str,
    *,
    numbers: list[str] | None,
    table: Table | None = None,
) -> PhonePlan:
    sheet, sheets = (table.sheet, table.sheets) if table is not None else (None, [])
    if explicit is not None:
        index = _find_column(columns, explicit)
        if index is None:
            found = ", ".join(repr(c) for c in columns)
            raise ContactImportError(
                f"phone column {explicit!r} not found (columns: {found})", sheets=sheets
            )
        return PhonePlan.single(index, columns[index], region=region)
    if numbers is not None:  # no header: the first column holding a number
        index = next(i for i, cell in enumerate(numbers) if _looks_like_number(cell))
        return PhonePlan([PhoneColumn(index, columns[index], "phone")], region)
    plan = PhonePlan.from_header(columns, region=region)
    if not plan.columns:
        raise NoPhoneColumn(columns, sheet=sheet, sheets=sheets)
    return plan


def _find_column(columns: Sequence[str], wanted: str) -> int | None:
    """The index of `wanted` among `columns`: as written, else without case and punctuation."""
    wanted = wanted.strip()
    if wanted in columns:
        return list(columns).index(wanted)
    keys = [column_key(name) for name in columns]
    key = column_key(wanted)
    return keys.index(key) if key in keys else None


def _summary(
    table: Table, columns: list[str], phones: PhonePlan, *, header: bool
) -> ImportSummary:
    names = NamePlan.from_header(columns)
    summary = ImportSummary(
        table.encoding,
        table.delimiter,
        phones.columns[0].name,
        columns,
        format=table.format,
        sheet=table.sheet,
        sheets=list(table.sheets),
        header=header,
        phone_chosen=phones.chosen,
        phone_kinds={c.name: c.kind for c in phones.columns},
        name_columns=list(names.columns) if names else [],
        name_rule=names.describe() if names else "",
    )
    summary.phone_counts = phones.gave
    summary.phone_failures = phones.failed
    return summary


def _layout(columns: list[str], phones: PhonePlan) -> Layout:
    phone = phones.columns[0].index
    named = tuple((name, i) for i, name in enumerate(columns) if name and i != phone)
    return Layout(phones, NamePlan.from_header(columns), named)


def _fitted(rows: Iterator[Row], width: int, *, count_short: bool) -> Iterator[LaidRow]:
    """Rows with exactly `width` cells: short ones padded, blank ones dropped."""
    for row in rows:
        if isinstance(row, RowError):
            yield row
            continue
        line, fields = row
        if len(fields) == width:
            if any(fields):
                yield line, fields, 0, None
            continue
        if not any(value.strip() for value in fields):
            continue
        if len(fields) < width:
            short = len(fields) if count_short else 0
            yield line, fields + [""] * (width - len(fields)), short, None
        elif not any(value.strip() for value in fields[width:]):
            yield line, fields[:width], 0, None  # trailing empty cells, as spreadsheets write
        else:
            reason = f"{len(fields)} fields where the header has {width}"
            yield RowError(line, reason + " (check quoting and delimiters)")


def read_dicts(
    items: Iterator[Mapping[str, object]], explicit: str | None, region: str
) -> tuple[Iterator[LaidRow], ImportSummary, Layout]:
    first = next(items, None)
    if first is None:
        plan = PhonePlan.single(0, explicit or "phone", region=region)
        summary = ImportSummary("", "", explicit or "phone", [], format="records")
        return iter(()), summary, Layout(plan, None, ())
    if not isinstance(first, Mapping):
        raise ContactImportError("recipients must be mappings such as {'phone': ..., 'name': ...}")
    keys = list(first)
    columns = [str(key) for key in keys]
    phones = _phone_plan(columns, explicit, region, numbers=None)
    table = Table(columns, 0, iter(()), format="records")
    summary = _summary(table, columns, phones, header=True)
    rows = _dict_rows(itertools.chain([first], items), keys)
    return rows, summary, _layout(columns, phones)


def _dict_rows(items: Iterable[Mapping[str, object]], keys: list[str]) -> Iterator[LaidRow]:
    known = set(keys)
    for n, item in enumerate(items, 1):
        if not isinstance(item, Mapping):
            yield RowError(n, f"not a mapping but {type(item).__name__}")
            continue
        fields = [_text(item.get(key)) for key in keys]
        extra = {str(k): _text(v) for k, v in item.items() if k not in known}
        yield n, fields, 0, extra or None


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()
