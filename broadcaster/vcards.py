"""Contacts from vCard files (`.vcf`), the format phones and address books export.

Reads vCard 2.1 (Android: `TEL;CELL:`, quoted-printable names with soft line breaks), 3.0
(RFC 2426; iCloud: `item1.TEL;type=CELL;type=pref:` with an `item1.X-ABLabel`) and 4.0
(RFC 6350: `TEL;VALUE=uri;TYPE="cell,voice";PREF=1:tel:+62-812-...`), with folded lines.
Each card becomes a row of `VCARD_COLUMNS`: its name (`FN`, else `N`), its numbers in the
column of their type (several in one cell, preferred first, separated by ` ::: `), its first
email and organisation. The phone columns are then ranked like any file's: mobile first.
"""

import quopri
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from broadcaster._csvtext import Lines
from broadcaster._tables import Row, Table
from broadcaster.phonecolumns import phone_kind

__all__ = ["VCARD_COLUMNS", "is_vcard", "read_vcards"]

#: The columns of a vCard file's table; phone columns are named so they rank as their kind.
VCARD_COLUMNS = (
    *("name", "WhatsApp", "Mobile Phone", "Phone", "Home Phone", "Work Phone", "Fax", "Pager"),
    *("Email", "Organization"),
)
_COLUMN_OF_KIND = {
    "whatsapp": "WhatsApp", "mobile": "Mobile Phone", "phone": "Phone", "home": "Home Phone",
    "work": "Work Phone", "other": "Phone", "fax": "Fax", "pager": "Pager",
}  # fmt: skip
#: Properties whose (large, base64) values are skipped while reading.
_SKIPPED = frozenset({"PHOTO", "LOGO", "SOUND", "KEY"})
_PROPERTY = re.compile(r"(?:([\w-]+)\.)?([\w-]+)((?:;[^:]*)?):(.*)", re.DOTALL)
_PARAM_SPLIT = re.compile(r';(?=(?:[^"]*"[^"]*")*[^"]*$)')
_APPLE_LABEL = re.compile(r"_\$!<(.*)>!\$_")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
_ESCAPED = re.compile(r"\\(.)")
_UNESCAPE = {"n": "\n", "N": "\n"}


def is_vcard(line: str) -> bool:
    """Whether the first non-blank line of a text file opens a vCard."""
    return line.strip().upper() == "BEGIN:VCARD"


@dataclass(slots=True)
class _Card:
    line: int
    values: dict[str, str] = field(default_factory=dict)
    phones: list[tuple[str | None, str, bool, str]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)

    def row(self) -> list[str]:
        cells = dict.fromkeys(VCARD_COLUMNS, "")
        cells["name"] = self.values.get("FN") or self.values.get("N", "")
        cells["Email"] = self.values.get("EMAIL", "")
        cells["Organization"] = self.values.get("ORG", "")
        numbers: dict[str, list[tuple[bool, str]]] = {}
        for group, types, pref, number in self.phones:
            label = _label_words(self.labels.get(group or "", ""))
            kind = phone_kind(f"{label} {types}", header=False) or "phone"
            numbers.setdefault(_COLUMN_OF_KIND[kind], []).append((not pref, number))
        for column, found in numbers.items():
            cells[column] = " ::: ".join(n for _, n in sorted(found, key=lambda f: f[0]))
        return list(cells.values())


def read_vcards(lines: Lines, physical: Iterator[str]) -> Table:
    """The table of the vCard file whose first line (`BEGIN:VCARD`) was just read."""
    start = lines.count
    return Table(list(VCARD_COLUMNS), 0, _cards(lines, physical, start), "vcard", lines.encoding)


def _cards(lines: Lines, physical: Iterator[str], start: int) -> Iterator[Row]:
    card: _Card | None = _Card(start)
    for number, text in _unfolded(lines, physical):
        name, group, params, value = _parse(text)
        if name == "BEGIN" and value.strip().upper() == "VCARD":
            if card is not None:
                yield card.line, card.row()  # the previous card lacked its END
            card = _Card(number)
        elif card is None:
            continue  # text between cards
        elif name == "END":
            yield card.line, card.row()
            card = None
        elif name:
            _add(card, name, group, params, value)  # lines that are no property are skipped
    if card is not None:
        yield card.line, card.row()


def _unfolded(lines: Lines, physical: Iterator[str]) -> Iterator[tuple[int, str]]:
    """Logical lines with their first line number: folds joined, QP soft breaks joined."""
    pending, at, skipping = "", 0, False
    for raw in physical:
        text = raw.rstrip("\r\n")
        if text[:1] in (" ", "\t") and pending:
            if not skipping:
                pending += text[1:]
            continue
        if pending.endswith("=") and "QUOTED-PRINTABLE" in pending.split(":", 1)[0].upper():
            pending = pending[:-1] + text  # a quoted-printable soft line break
            continue
        if pending:
            yield at, pending
        pending, at = text, lines.count
        skipping = text.split(";", 1)[0].split(":", 1)[0].upper() in _SKIPPED
    if pending:
        yield at, pending


def _parse(text: str) -> tuple[str, str | None, list[str], str]:
    """(NAME, group, params, value) of a property line; NAME is "" if it is none."""
    match = _PROPERTY.fullmatch(text)
    if match is None:
        return "", None, [], ""
    group, name, params, value = match.groups()
    return name.upper(), group, [p for p in _PARAM_SPLIT.split(params) if p], value


def _add(card: _Card, name: str, group: str | None, params: list[str], value: str) -> None:
    if name == "X-ABLABEL" and group:
        card.labels[group] = value.strip()
        return
    if name == "TEL":
        types, pref = _types(params)
        number = value.strip().removeprefix("tel:").split(";", 1)[0]
        if number:
            card.phones.append((group, " ".join(types), pref, number))
        return
    if name in ("FN", "N", "EMAIL", "ORG") and name not in card.values:
        text = _decode(value, params)
        if name == "N":  # family;given;additional;prefix;suffix
            parts = _split(text)
            text = " ".join(p for p in (*parts[1:3], parts[0]) if p)
        elif name == "ORG":
            text = _split(text)[0]
        else:
            text = _unescape(text)
        if text.strip():
            card.values[name] = text.strip()


def _types(params: list[str]) -> tuple[list[str], bool]:
    """A TEL's types, lower case (`TYPE=CELL,VOICE`, `type=cell;type=pref`, 2.1's `CELL`)."""
    types: list[str] = []
    pref = False
    for param in params:
        key, _, values = param.partition("=")
        if not values:
            types.append(key.lower())
        elif key.upper() == "TYPE":
            types += [v.strip().lower() for v in values.strip('"').split(",")]
        elif key.upper() == "PREF":
            pref = True
    return types, pref or "pref" in types


def _decode(value: str, params: list[str]) -> str:
    """Undo 2.1's quoted-printable encoding (in its CHARSET), if the property uses it."""
    upper = [p.upper() for p in params]
    if "ENCODING=QUOTED-PRINTABLE" not in upper and "QUOTED-PRINTABLE" not in upper:
        return value
    charset = next((p.split("=", 1)[1] for p in upper if p.startswith("CHARSET=")), "UTF-8")
    data = quopri.decodestring(value.encode("ascii", "replace"))
    try:
        return data.decode(charset.strip('"'), "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def _split(value: str) -> list[str]:
    """The components of a structured value (`N`, `ORG`), split at unescaped `;`."""
    parts = re.split(r"(?<!\\);", value)
    return [_unescape(p).strip() for p in parts]


def _unescape(text: str) -> str:
    return _ESCAPED.sub(lambda m: _UNESCAPE.get(m.group(1), m.group(1)), text)


def _label_words(label: str) -> str:
    """Apple's `_$!<HomeFAX>!$_` as `Home FAX`; a custom label (`WhatsApp`) as it is."""
    match = _APPLE_LABEL.fullmatch(label)
    return _CAMEL.sub(" ", match.group(1)) if match else label
