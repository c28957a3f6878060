"""The cells and shared strings of an `.xlsx` part, as text, from expat's callbacks.

Private to `_xlsxrows`, which opens the package and feeds each part's XML to these handlers
a block at a time (ECMA-376 Part 1: shared strings §18.4, cells §18.3.1.4 with the cell types
of §18.18.11). `Strings` keeps the shared strings as blocks of text and an array of offsets.
"""

import datetime
from array import array

from broadcaster._cells import cell_text

__all__ = ["Handler", "RowHandler", "StringHandler", "Strings", "Values"]

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
_DIGITS = "0123456789"
_EPOCH_1904 = datetime.datetime(1904, 1, 1)


class Strings:
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


class Handler:
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


class StringHandler(Handler):
    """Gathers the shared strings (`si` elements)."""

    __slots__ = ("strings",)

    def __init__(self) -> None:
        super().__init__()
        self.strings = Strings()

    def open(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == "S":
            self.parts.clear()

    def close(self, tag: str) -> None:
        if tag == "S":
            self.strings.add("".join(self.parts))


class RowHandler(Handler):
    """Gathers a worksheet's rows: each `c` put in its column, as text.

    The hottest code of a big import (a handful of calls per cell): the common cases are
    written out here rather than in helpers.
    """

    __slots__ = ("cell", "cells", "column", "done", "row", "strings", "value")

    def __init__(self, value: "Values") -> None:
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


class Values:
    """A cell's text as a person reads it, from its `v` (or inline `t`) text and type."""

    def __init__(
        self, strings: Strings, dates: frozenset[str], times: frozenset[str], date1904: bool
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
