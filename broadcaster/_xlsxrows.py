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

import posixpath
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO
from xml.etree import ElementTree
from xml.parsers import expat

from broadcaster._xlsxcells import Handler, RowHandler, StringHandler, Strings, Values
from broadcaster.errors import ContactImportError

__all__ = ["Worksheet", "XlsxPackage"]

#: Built-in number formats that show dates or times (§18.8.30, with the East Asian ones).
_DATE_FORMAT_IDS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])
_TIME_FORMAT_IDS = frozenset([18, 19, 20, 21, 45, 46, 47])
#: A format code's quoted text, escaped characters, and [Red] / [$-421] sections.
_FORMAT_NOISE = re.compile(r'"[^"]*"|\\.|_.|\*.|\[(?![hms]+\])[^\]]*\]')
_BLOCK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Worksheet:
    """A worksheet of the package: its name, whether it is shown, its part's path."""

    name: str
    visible: bool
    path: str


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
        self._strings: Strings | None = None

    def close(self) -> None:
        """Close the package."""
        self._zip.close()

    def rows(self, path: str) -> Iterator[tuple[int, list[str]]]:
        """The rows of the worksheet part `path` that hold a cell: (row number, cells)."""
        if self._strings is None and self._strings_path is not None:
            self._strings = self._read_strings(self._strings_path)
        return self._parse_rows(path, self._strings or Strings())

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

    def _read_strings(self, path: str) -> Strings:
        handler = StringHandler()
        for _ in self._parse(path, handler):
            pass
        handler.strings.freeze()
        return handler.strings

    def _parse_rows(self, path: str, strings: Strings) -> Iterator[tuple[int, list[str]]]:
        handler = RowHandler(Values(strings, self._dates, self._times, self._date1904))
        for _ in self._parse(path, handler):
            yield from handler.done
            handler.done.clear()

    def _parse(self, path: str, handler: "Handler") -> Iterator[None]:
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
