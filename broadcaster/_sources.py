"""Open a contact file as a `Table`, judging it by its content, never by its name.

A ZIP archive holding a workbook (`.xlsx`, `.xlsb`, `.ods`) or an OLE file (`.xls`) is read
as a workbook; text beginning with `BEGIN:VCARD` as vCards; any other text as CSV.
"""

import io
import os
import shutil
import tempfile
from typing import IO, cast

from broadcaster._csvtext import Lines, open_text, read_csv
from broadcaster._tables import Table
from broadcaster.errors import ContactImportError
from broadcaster.vcards import is_vcard, read_vcards
from broadcaster.workbooks import read_workbook, workbook_kind

__all__ = ["open_path", "open_table"]

_SAMPLE_BYTES = 64 * 1024
_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0"  # the container of Excel 97-2003 .xls files


def open_path(path: str | os.PathLike[str]) -> io.BufferedReader:
    """Open a contact file for reading; ContactImportError if it cannot be opened."""
    try:
        return open(path, "rb")  # the ContactImport closes it
    except OSError as exc:
        raise ContactImportError(f"cannot open {os.fspath(path)!r}: {exc.strerror}") from None


def open_table(stream: IO[bytes] | IO[str], *, sheet: str | None = None) -> Table:
    """The table of the contact file `stream` (binary, or text for CSV and vCard).

    `sheet` names the worksheet of a workbook; other files have none and ignore it.
    """
    probe = stream.read(0)
    if isinstance(probe, str):
        text = cast(IO[str], stream)
        encoding = getattr(text, "encoding", None) or "text"
        hint = "; pass the file in binary mode to detect its encoding"
        return _text_table(Lines(text, encoding, recode=False, hint=hint))
    if not isinstance(probe, bytes):
        getattr(probe, "close", lambda: None)()  # an un-awaited coroutine: no warning
        raise TypeError("read_contacts needs a file with a blocking read(), e.g. UploadFile.file")
    binary = cast(IO[bytes], stream)
    sample = binary.read(_SAMPLE_BYTES)
    if not sample:
        raise ContactImportError("the file is empty")
    if sample.startswith((_ZIP, _OLE)):
        return _workbook_table(binary, sample, sheet)
    text, encoding, recode = open_text(binary, sample)
    return _text_table(Lines(text, encoding, recode=recode))


def _text_table(lines: Lines) -> Table:
    physical = iter(lines)
    first = next((line for line in physical if line.strip()), None)
    if first is None:
        raise ContactImportError("the file is empty")
    if is_vcard(first):
        return read_vcards(lines, physical)
    return read_csv(lines, physical, first)


def _workbook_table(binary: IO[bytes], sample: bytes, sheet: str | None) -> Table:
    """Read a workbook from the start of `binary`, spooled to a temporary file if need be."""
    spooled: IO[bytes] | None = None
    if _seekable(binary):
        binary.seek(binary.tell() - len(sample))
        workbook = binary
    else:
        workbook = spooled = tempfile.TemporaryFile()  # the table closes it
        workbook.write(sample)
        shutil.copyfileobj(binary, workbook)
        workbook.seek(0)
    try:
        kind = "xls" if sample.startswith(_OLE) else workbook_kind(workbook)
        table = read_workbook(workbook, kind, sheet=sheet)
    except BaseException:
        if spooled is not None:
            spooled.close()
        raise
    if spooled is not None:
        close = table.close

        def close_both() -> None:
            close()
            spooled.close()

        table.close = close_both
    return table


def _seekable(stream: IO[bytes]) -> bool:
    try:
        return stream.seekable()
    except (AttributeError, ValueError):
        return False
