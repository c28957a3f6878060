"""The rows of an `.xlsx` worksheet streamed from its XML, for sheets too big to hold whole.

Private to `workbooks`. Reads only what a contact sheet needs from the package (ECMA-376
Part 1): the worksheets, their state and their parts from `xl/workbook.xml` and its
relationships (§18.2.19-20), the shared strings (§18.4: each `si`, rich-text runs joined,
phonetic runs `rPh` left out), which cell styles show numbers as dates (`cellXfs` and
`numFmts`, §18.8.10 and §18.8.30-31), and the cells of one worksheet (§18.3.1.4 `c`, with its
reference `r`, style `s` and type `t` of ST_CellType, §18.18.11), parsed with expat a block at
a time. Only the current rows and the shared strings are held; the shared strings are kept as
blocks of text and an array of offsets (4 bytes per string beside its text), not as a Python
object each (about 60 bytes).

```python
package = XlsxPackage(stream)
name, path = package.worksheets[0].name, package.worksheets[0].path
for number, cells in package.rows(path):  # (sheet row number, cells as text)
    ...
```
"""

import datetime
import posixpath
import re
import zipfile
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO
from xml.etree import ElementTree
from xml.parsers import expat

from broadcaster._cells import cell_text
from broadcaster.errors import ContactImportError

__all__ = ["Worksheet", "XlsxPackage"]

_CODES = {"row": "R", "c": "C", "v": "V", "t": "T", "rPh": "P", "si": "S"}


class _Tags(dict[str, str | None]):
    """Element name as written -> its code: `c` as Excel writes it, `x:c` as some tools do.

    Names are read without namespace processing, which costs expat a third more time; a
    prefixed name is looked up by its local part (and remembered).
    """

    def __missing__(self, name: str) -> str | None:
        code = _CODES.get(name.rpartition(":")[2])
        if len(self) < 256:  # element names are few; a hostile file cannot grow this
            self[name] = code
        return code


_TAGS = _Tags(_CODES)
#: Built-in number formats that show dates or times (§18.8.30, with the East Asian ones).
_DATE_FORMAT_IDS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])
_TIME_FORMAT_IDS = frozenset([18, 19, 20, 21, 45, 46, 47])
#: A format code's quoted text, escaped characters, and [Red] / [$-421] sections.
_FORMAT_NOISE = re.compile(r'"[^"]*"|\\.|_.|\*.|\[(?![hms]+\])[^\]]*\]')
_BLOCK = 64 * 1024
_DIGITS = "0123456789"
_EPOCH_1904 = datetime.datetime(1904, 1, 1)


@dataclass(frozen=True, slots=True)
class Worksheet:
    """A worksheet of the package: its name, whether it is shown, its part's path."""

    name: str
    visible: bool
    path: str


class _Strings:
    """The shared strings: blocks of 4,096 joined into one string each, and where each ends in
    its block (4 bytes a string; never a second copy of the text, even while building)."""

    _SHIFT = 12
    _MASK = (1 << _SHIFT) - 1

    def __init__(self) -> None:
        self._ends = array("I")
        self._blocks: list[str] = []
        self._pending: list[str] = []
        self._size = 0  # of the pending block

    def add(self, text: str) -> None:
        self._size += len(text)
        self._ends.append(self._size)
        self._pending.append(text)
        if len(self._pending) > self._MASK:
            self.freeze()

    def freeze(self) -> None:
        """Join the strings added since the last block into one."""
        if self._pending:
            self._blocks.append("".join(self._pending))
            self._pending, self._size = [], 0

    def __getitem__(self, index: int) -> str:
        block = self._blocks[index >> self._SHIFT]
        start = self._ends[index - 1] if index & self._MASK else 0
        return block[start : self._ends[index]]


class XlsxPackage:
    """An `.xlsx` package (a seekable binary stream) opened for streaming its worksheets.

    Raises:
        ContactImportError: the package or its workbook part cannot be read.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        try:
            self._zip = zipfile.ZipFile(stream)
            self.worksheets, self._date1904, parts = self._read_workbook()
            self._dates, self._times = self._read_styles(parts.get("styles"))
        except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, ValueError) as exc:
            raise ContactImportError(f"this xlsx workbook cannot be read ({exc})") from None
        self._strings_path = parts.get("sharedStrings")
        self._strings: _Strings | None = None

    def close(self) -> None:
        """Close the package."""
        self._zip.close()

    def rows(self, path: str) -> Iterator[tuple[int, list[str]]]:
        """The rows of the worksheet part `path` that hold a cell: (row number, cells)."""
        if self._strings is None and self._strings_path is not None:
            self._strings = self._read_strings(self._strings_path)
        return self._parse_rows(path, self._strings or _Strings())

    # --- the workbook, its relationships and styles ------------------------------------

    def _read_workbook(self) -> tuple[list[Worksheet], bool, dict[str, str]]:
        rels = self._relationships("xl/workbook.xml")
        parts = {kind: path for kind, path in rels.values() if kind != "worksheet"}
        root = ElementTree.fromstring(self._zip.read("xl/workbook.xml"))
        date1904 = any(
            _local(e.tag) == "workbookPr" and e.get("date1904") in ("1", "true")
            for e in root.iter()
        )
        sheets = []
        for element in root.iter():
            if _local(element.tag) != "sheet":
                continue
            rid = next((v for k, v in element.attrib.items() if _local(k) == "id"), "")
            kind, path = rels.get(rid, ("", ""))
            if kind == "worksheet":  # not a chart sheet
                state = element.get("state", "visible")
                sheets.append(Worksheet(element.get("name", ""), state == "visible", path))
        return sheets, date1904, parts

    def _relationships(self, part: str) -> dict[str, tuple[str, str]]:
        """Id -> (kind, path in the package) of the relationships of `part`."""
        folder, name = posixpath.split(part)
        root = ElementTree.fromstring(self._zip.read(f"{folder}/_rels/{name}.rels"))
        found = {}
        for element in root:
            target = element.get("Target", "")
            path = target[1:] if target.startswith("/") else posixpath.join(folder, target)
            kind = element.get("Type", "").rsplit("/", 1)[-1]
            found[element.get("Id", "")] = (kind, posixpath.normpath(path))
        return found

    def _read_styles(self, path: str | None) -> tuple[frozenset[str], frozenset[str]]:
        """The cell style indexes (as written in `s`) that show dates, and times only."""
        if path is None or path not in self._zip.namelist():
            return frozenset(), frozenset()
        root = ElementTree.fromstring(self._zip.read(path))
        codes = {
            int(e.get("numFmtId", "-1")): e.get("formatCode", "")
            for e in root.iter()
            if _local(e.tag) == "numFmt"
        }
        dates, times = set(), set()
        for index, xf in enumerate(_cell_formats(root)):
            kind = _format_kind(int(xf.get("numFmtId", "0")), codes)
            if kind is not None:
                dates.add(str(index))
                if kind == "time":
                    times.add(str(index))
        return frozenset(dates), frozenset(times)

    # --- shared strings and cells ---------------------------------------------------------

    def _read_strings(self, path: str) -> _Strings:
        handler = _StringHandler()
        for _ in self._parse(path, handler):
            pass
        handler.strings.freeze()
        return handler.strings

    def _parse_rows(self, path: str, strings: _Strings) -> Iterator[tuple[int, list[str]]]:
        handler = _RowHandler(_Values(strings, self._dates, self._times, self._date1904))
        for _ in self._parse(path, handler):
            yield from handler.done
            handler.done.clear()

    def _parse(self, path: str, handler: "_Handler") -> Iterator[None]:
        """Feed the part `path` to `handler` through expat, yielding after each block."""
        parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.StartElementHandler = handler.start
        parser.EndElementHandler = handler.end
        parser.CharacterDataHandler = handler.text
        try:
            with self._zip.open(path) as part:
                while block := part.read(_BLOCK):
                    parser.Parse(block, False)
                    yield None
                parser.Parse(b"", True)
                yield None
        except (expat.ExpatError, zipfile.BadZipFile, KeyError, LookupError, ArithmeticError,
                ValueError) as exc:  # fmt: skip
            raise ContactImportError(f"this xlsx workbook cannot be read ({exc})") from None


class _Handler:
    """expat handlers that gather the text of `t` and `v` elements, phonetic runs left out."""

    __slots__ = ("parts", "phonetic", "reading")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.reading = self.phonetic = False

    def start(self, name: str, attrs: dict[str, str]) -> None:
        tag = _TAGS[name]
        if tag == "T" or tag == "V":
            self.reading = not self.phonetic
        elif tag == "P":
            self.phonetic = True
        elif tag is not None:
            self.open(tag, attrs)

    def end(self, name: str) -> None:
        tag = _TAGS[name]
        if tag == "T" or tag == "V":
            self.reading = False
        elif tag == "P":
            self.phonetic = False
        elif tag is not None:
            self.close(tag)

    def text(self, data: str) -> None:
        if self.reading:
            self.parts.append(data)

    def open(self, tag: str, attrs: dict[str, str]) -> None:
        """An element other than `t`, `v` and `rPh` starts."""

    def close(self, tag: str) -> None:
        """An element other than `t`, `v` and `rPh` ends."""


class _StringHandler(_Handler):
    """Gathers the shared strings (`si` elements)."""

    __slots__ = ("strings",)

    def __init__(self) -> None:
        super().__init__()
        self.strings = _Strings()

    def open(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == "S":
            self.parts.clear()

    def close(self, tag: str) -> None:
        if tag == "S":
            self.strings.add("".join(self.parts))


class _RowHandler(_Handler):
    """Gathers a worksheet's rows: each `c` put in its column, as text.

    The hottest code of a big import (a handful of calls per cell): the common cases are
    written out here rather than in helpers.
    """

    __slots__ = ("cell", "cells", "column", "done", "row", "strings", "value")

    def __init__(self, value: "_Values") -> None:
        super().__init__()
        self.value = value
        self.strings = value.strings
        self.done: list[tuple[int, list[str]]] = []  #: rows complete, taken after each block
        self.cells: list[str] = []
        self.cell: tuple[str | None, str | None, str | None] = (None, None, None)
        self.row = self.column = 0

    def start(self, name: str, attrs: dict[str, str]) -> None:
        tag = _TAGS[name]
        if tag == "C":
            self.cell = (attrs.get("r"), attrs.get("t"), attrs.get("s"))
            self.parts.clear()
        elif tag == "V" or tag == "T":
            self.reading = not self.phonetic
        elif tag == "R":
            number = attrs.get("r")
            self.row = int(number) if number else self.row + 1
            self.column = 0
            self.cells = []
        elif tag == "P":
            self.phonetic = True

    def end(self, name: str) -> None:
        tag = _TAGS[name]
        if tag == "C":
            self._cell()
        elif tag == "V" or tag == "T":
            self.reading = False
        elif tag == "R":
            if self.cells:
                self.done.append((self.row, self.cells))
        elif tag == "P":
            self.phonetic = False

    def _cell(self) -> None:
        reference, kind, style = self.cell
        parts = self.parts
        text = parts[0] if len(parts) == 1 else "".join(parts)
        if kind == "s":
            text = self.strings[int(text)]
        elif style is not None or (kind != "n" and kind is not None) or not text.isdigit():
            text = self.value(text, kind, style)  # whole numbers and text stay as they are
        cells = self.cells
        if reference is None:
            column = self.column
        else:
            letters = reference.rstrip(_DIGITS)
            column = _COLUMNS.get(letters, -1)
            if column < 0:
                column = _column(letters)
        self.column = column + 1
        if column == len(cells):
            cells.append(text)
            return
        if column > len(cells):
            cells.extend([""] * (column - len(cells) + 1))
        cells[column] = text


class _Values:
    """A cell's text as a person reads it, from its `v` (or inline `t`) text and type."""

    def __init__(
        self, strings: _Strings, dates: frozenset[str], times: frozenset[str], date1904: bool
    ) -> None:
        self.strings, self.dates, self.times, self.date1904 = strings, dates, times, date1904

    def __call__(self, text: str, kind: str | None, style: str | None) -> str:
        if kind is None or kind == "n":
            if style is not None and style in self.dates and text:
                return self._date(float(text), style in self.times)
            if text.isdigit() or not text:
                return text  # a whole number: every digit as stored
            return _number(text)
        if kind == "s":
            return self.strings[int(text)]
        if kind == "b":
            return "TRUE" if text in ("1", "true") else "FALSE"
        if kind == "d":
            return _iso_date(text)
        return text  # inlineStr, str (a formula's text), e (an error such as #N/A)

    def _date(self, serial: float, time_only: bool) -> str:
        if self.date1904:
            base = _EPOCH_1904
        else:  # Excel counts 1900-02-29, which did not exist: serials from 61 on are a day on
            base = datetime.datetime(1899, 12, 30 if serial >= 61 else 31)
        when = base + datetime.timedelta(milliseconds=round(serial * 86_400_000))
        return cell_text(when.time() if time_only and serial < 1 else when)


def _number(text: str) -> str:
    try:
        return cell_text(float(text))
    except ValueError:
        return text


def _iso_date(text: str) -> str:
    try:
        return cell_text(datetime.datetime.fromisoformat(text))
    except ValueError:
        return text


_COLUMNS: dict[str, int] = {}  #: column letters -> 0-based index, filled as met


def _column(letters: str) -> int:
    """The 0-based column of a reference's letters: `A` -> 0, `AB` -> 27."""
    column = 0
    for letter in letters.upper():
        column = column * 26 + ord(letter) - 64
    column -= 1
    if len(_COLUMNS) < 16_384:  # the widest sheet Excel makes
        _COLUMNS[letters] = column
    return column


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _cell_formats(root: ElementTree.Element) -> list[ElementTree.Element]:
    for element in root.iter():
        if _local(element.tag) == "cellXfs":
            return [xf for xf in element if _local(xf.tag) == "xf"]
    return []


def _format_kind(format_id: int, codes: dict[int, str]) -> str | None:
    """`date`, `time` (no day in it) or None for a number format."""
    code = codes.get(format_id)
    if code is None:
        if format_id in _DATE_FORMAT_IDS:
            return "time" if format_id in _TIME_FORMAT_IDS else "date"
        return None
    shown = _FORMAT_NOISE.sub("", code.split(";")[0]).lower()
    if not any(ch in shown for ch in "dmyhs") or shown == "general":
        return None
    return "date" if any(ch in shown for ch in "dy") or "mmm" in shown else "time"
