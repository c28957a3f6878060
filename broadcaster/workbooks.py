"""Contact workbooks: one sheet of an `.xlsx`, `.xlsb`, `.xls` or `.ods` file as a `Table`.

Cells become the text a person reads in them: numbers whole (`6281234567890`, never
`6.28123E+12` nor `6281234567890.0`: a workbook stores every digit), dates in ISO form,
booleans as `TRUE`/`FALSE`. The first visible worksheet is read unless `sheet` names one.

Two readers, chosen by the sheet's size (`docs/benchmarks.md`, "Workbooks"): python-calamine
(Rust) reads a sheet about 4 times faster than our own streaming reader (`_xlsxrows`) but holds
all of it in memory, about 1.5 bytes per byte of sheet XML; so an `.xlsx` whose worksheets
hold more than `DEFAULT_MAX_SHEET_BYTES_IN_MEMORY` of XML is streamed row by row from its XML
instead (openpyxl's read-only mode, measured too, was 4 times slower still). `.xls` (at most
65,536 rows), `.xlsb` and `.ods` are read by calamine only.
"""

import logging
import zipfile
from collections.abc import Iterable, Iterator
from typing import IO

from broadcaster._cells import cell_text
from broadcaster._tables import Table
from broadcaster._xlsxrows import XlsxPackage
from broadcaster.errors import ContactImportError

__all__ = ["DEFAULT_MAX_SHEET_BYTES_IN_MEMORY", "cell_text", "read_workbook", "workbook_kind"]

logger = logging.getLogger(__name__)

#: Worksheet XML (uncompressed) up to which a whole sheet is read into memory at once.
DEFAULT_MAX_SHEET_BYTES_IN_MEMORY = 32 * 1024 * 1024

_ODS = b"application/vnd.oasis.opendocument.spreadsheet"


def workbook_kind(stream: IO[bytes]) -> str:
    """`xlsx`, `xlsb` or `ods` for a ZIP file (seekable); ContactImportError for other ZIPs."""
    try:
        with zipfile.ZipFile(stream) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype")[:64] if "mimetype" in names else b""
    except zipfile.BadZipFile as exc:
        raise ContactImportError(f"this ZIP archive cannot be read ({exc})") from None
    finally:
        stream.seek(0)
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "xl/workbook.bin" in names:
        return "xlsb"
    if mimetype.startswith(_ODS) or "content.xml" in names:
        return "ods"
    raise ContactImportError(
        "this does not look like a CSV file (it is a ZIP archive, such as an .xlsx workbook,"
        " but holds no workbook); save it as CSV or .xlsx"
    )


def read_workbook(
    stream: IO[bytes],
    kind: str,
    *,
    sheet: str | None = None,
    max_sheet_bytes: int | None = None,
) -> Table:
    """The table of one worksheet of the workbook in `stream` (binary, seekable).

    Args:
        max_sheet_bytes: worksheet XML above which an `.xlsx` is streamed, not read whole
            (default: `DEFAULT_MAX_SHEET_BYTES_IN_MEMORY`).

    Raises:
        ContactImportError: the workbook cannot be read, or has no sheet `sheet`.
    """
    if max_sheet_bytes is None:
        max_sheet_bytes = DEFAULT_MAX_SHEET_BYTES_IN_MEMORY
    if kind == "xlsx" and _sheet_xml_bytes(stream) > max_sheet_bytes:
        return _read_streaming(stream, sheet)
    return _read_whole(stream, kind, sheet)


def _sheet_xml_bytes(stream: IO[bytes]) -> int:
    try:
        with zipfile.ZipFile(stream) as archive:
            return sum(
                info.file_size
                for info in archive.infolist()
                if info.filename.startswith("xl/worksheets/")
            )
    finally:
        stream.seek(0)


def _read_whole(stream: IO[bytes], kind: str, sheet: str | None) -> Table:
    from python_calamine import CalamineError, CalamineWorkbook, SheetTypeEnum, SheetVisibleEnum

    try:
        book = CalamineWorkbook.from_filelike(stream)
        worksheets = [m for m in book.sheets_metadata if m.typ == SheetTypeEnum.WorkSheet]
        names = [m.name for m in worksheets]
        visible = [m.name for m in worksheets if m.visible == SheetVisibleEnum.Visible]
        name = _choose(sheet, names, visible)
        data = book.get_sheet_by_name(name)
        start = data.start
        rows = data.iter_rows()
    except CalamineError as exc:
        raise ContactImportError(f"this {kind} workbook cannot be read ({exc})") from None
    book.close()  # the sheet's data is held by `data`
    if start is None:
        raise ContactImportError(f"the sheet {name!r} is empty", sheets=names)
    return _table(_texts(rows, 1), kind, name, names)  # calamine's rows start at row 1


def _read_streaming(stream: IO[bytes], sheet: str | None) -> Table:

    package = XlsxPackage(stream)
    try:
        sheets = {ws.name: ws for ws in package.worksheets}
        names = list(sheets)
        name = _choose(sheet, names, [ws.name for ws in package.worksheets if ws.visible])
        logger.info("streaming sheet %r (large workbook)", name)
        table = _table(package.rows(sheets[name].path), "xlsx", name, names)
    except BaseException:
        package.close()
        raise
    table.close = package.close
    return table


def _choose(wanted: str | None, names: list[str], visible: list[str]) -> str:
    if wanted is None:
        if not names:
            raise ContactImportError("the workbook has no worksheet")
        return (visible or names)[0]
    for name in names:
        if name == wanted or name.strip().casefold() == wanted.strip().casefold():
            return name
    found = ", ".join(repr(n) for n in names)
    raise ContactImportError(
        f"the workbook has no sheet {wanted!r} (sheets: {found})", sheets=names
    )


def _table(
    texts: Iterator[tuple[int, list[str]]], kind: str, name: str, names: list[str]
) -> Table:
    """The table whose first row is the sheet's first non-blank row."""
    for start, cells in texts:
        if any(cell.strip() for cell in cells):
            return Table(cells, start, texts, format=kind, sheet=name, sheets=names)
    raise ContactImportError(f"the sheet {name!r} is empty", sheets=names)


def _texts(rows: Iterable[Iterable[object]], first: int) -> Iterator[tuple[int, list[str]]]:
    for number, row in enumerate(rows, first):
        yield number, [cell_text(value) for value in row]
