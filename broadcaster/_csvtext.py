"""The text layer of contact files: detect encoding and delimiter, count lines, read CSV.

Private to `contacts`: it turns bytes from any real-world export into counted text lines
(CSV and vCard files are read from them) and reads a CSV file into a `Table`.
"""

import codecs
import csv
import io
import itertools
import re
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

from broadcaster._tables import Row, Table
from broadcaster.errors import ContactImportError
from broadcaster.importsummary import ImportSummary, RowError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = [
    "DEFAULT_MAX_LINE_CHARS",
    "Lines",
    "open_text",
    "read_csv",
    "records",
    "sniff_delimiter",
]

#: A physical line longer than this (in characters) makes the file unreadable.
DEFAULT_MAX_LINE_CHARS = 1024 * 1024
_SAMPLE_BYTES = 64 * 1024
_MAGIC = {
    b"%PDF": "a PDF document",
    b"\x1f\x8b": "a gzip archive",
}
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
_SURROGATE = re.compile("[\udc80-\udcff]")
_QUOTED = re.compile(r'"[^"]*"?')
_SEP_LINE = re.compile(r'"?sep=(.)"?[,;\t]*\r?\n?')


def open_text(binary: IO[bytes], sample: bytes) -> tuple[IO[str], str, bool]:
    """Return the text of `sample` and the rest of `binary`, its encoding, and whether bad
    UTF-8 lines may be cp1252."""
    encoding = _detect_encoding(sample)
    _check_binary(sample, encoding)
    buffered = io.BufferedReader(_Replay(sample, binary), _SAMPLE_BYTES)
    if encoding == "utf-16":
        return io.TextIOWrapper(buffered, "utf-16", newline=""), encoding, False
    # Always decode as UTF-8, keeping bad bytes, so each line gets its own fallback.
    text = io.TextIOWrapper(buffered, "utf-8-sig", errors="surrogateescape", newline="")
    return text, encoding, True


def _detect_encoding(sample: bytes) -> str:
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample)  # a cut-off last char is fine
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _check_binary(sample: bytes, encoding: str) -> None:
    """Refuse archives and other binary files before trying to read them as text."""
    for magic, what in _MAGIC.items():
        if sample.startswith(magic):
            raise ContactImportError(
                f"this does not look like a CSV file (it is {what}); save it as CSV"
            )
    if encoding == "utf-16":
        return
    controls = _CONTROL.findall(sample)
    # A few control characters or NULs happen in damaged exports (those rows are reported);
    # many of them mean binary content.
    if len(controls) > max(8, len(sample) // 100):
        at = sample.index(controls[0])
        raise ContactImportError(
            f"this does not look like a CSV file (binary content at byte {at})"
        )


def sniff_delimiter(line: str) -> str:
    """The most frequent of `,` `;` tab outside quotes; `,` wins ties."""
    bare = _QUOTED.sub("", line)
    return max(",;\t", key=bare.count)


class _Replay(io.RawIOBase):
    """A byte stream that replays `head`, read for sniffing, before reading on from `rest`."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: "WriteableBuffer") -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            data, self._head = self._head[: len(view)], self._head[len(view) :]
        else:
            data = self._rest.read(len(view)) or b""
        view[: len(data)] = data
        return len(data)


class Lines:
    """The physical lines of a text stream, counted; bad lines are noted in `problems`."""

    def __init__(self, text: IO[str], encoding: str, *, recode: bool, hint: str = "") -> None:
        self.count = 0
        self.summary: ImportSummary | None = None  #: counts the mixed-encoding lines
        self.problems: dict[int, str] = {}
        self.encoding = encoding
        self._text, self._encoding, self._recode, self._hint = text, encoding, recode, hint

    def __iter__(self) -> Iterator[str]:
        readline, limit = self._text.readline, DEFAULT_MAX_LINE_CHARS
        while True:
            try:
                line = readline(limit)
            except UnicodeDecodeError as exc:
                # A text stream decodes ahead in chunks: the bad line is not known.
                message = (
                    f"the text after line {self.count} is not valid {self._encoding}"
                    f" ({exc.reason}){self._hint}"
                )
                raise ContactImportError(message) from None
            if not line:
                return
            self.count += 1
            if len(line) >= limit and line[-1] not in "\r\n":
                message = f"line {self.count} is too long (over {limit:,} characters)"
                raise ContactImportError(message, line=self.count)
            if self._recode and not line.isascii():
                line = self._decode_again(line)
            if "\x00" in line:
                self.problems[self.count] = "binary content (NUL bytes)"
                line = line.replace("\x00", "")
            yield line

    def _decode_again(self, line: str) -> str:
        """Read a line that is not valid UTF-8 as cp1252, what Excel writes on Windows."""
        if not _SURROGATE.search(line):
            self._count_mixed(self._encoding == "cp1252")
            return line
        try:
            text = line.encode("utf-8", "surrogateescape").decode("cp1252")
        except UnicodeError:
            self.problems[self.count] = "not valid UTF-8 or cp1252 text"
            return _SURROGATE.sub("\ufffd", line)
        self._count_mixed(self._encoding != "cp1252")
        return text

    def _count_mixed(self, mixed: bool) -> None:
        if mixed and self.summary is not None:
            self.summary.mixed_encoding_lines += 1


def records(reader: Iterator[list[str]], lines: Lines) -> Iterator[Row]:
    """Each record with the line where it starts, or a `RowError` if it has a problem."""
    end = lines.count
    while True:
        start = end + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            end = lines.count
            yield RowError(start, quoting_problem(exc, start))
            continue
        end = lines.count
        problem = pop_problem(lines.problems, start, end) if lines.problems else None
        yield RowError(start, problem) if problem else (start, fields)


def quoting_problem(exc: csv.Error, line: int) -> str:
    message = str(exc)
    if "field larger than field limit" in message:
        limit = csv.field_size_limit()
        raise ContactImportError(
            f"line {line}: a field is longer than {limit:,} characters;"
            " is a closing quote missing?",
            line=line,
        ) from None
    if "unexpected end of data" in message:
        return "a quote is never closed, so the rest of the file was read as one field"
    return f"bad quoting ({message})"


def pop_problem(problems: dict[int, str], start: int, end: int) -> str | None:
    found = [problems.pop(n) for n in range(start, end + 1) if n in problems]
    return found[0] if found else None


def read_csv(lines: Lines, physical: Iterator[str], first: str) -> Table:
    """The CSV file whose first non-blank line, read from `physical`, is `first`."""
    sep = _SEP_LINE.fullmatch(first)  # Excel's delimiter hint line
    delimiter = sep.group(1) if sep else sniff_delimiter(first)
    head = [] if sep else [first]
    start = lines.count + 1 if sep else lines.count
    reader = csv.reader(itertools.chain(head, physical), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except csv.Error as exc:
        raise ContactImportError(f"the header cannot be read: {exc}", line=lines.count) from None
    except StopIteration:
        header = []
    for n, reason in sorted(lines.problems.items()):
        raise ContactImportError(f"line {n}, the header: {reason}", line=n)

    def bind(summary: ImportSummary) -> None:
        lines.summary = summary

    return Table(
        header,
        start,
        records(reader, lines),
        encoding=lines.encoding,
        delimiter=delimiter,
        bind=bind,
    )
