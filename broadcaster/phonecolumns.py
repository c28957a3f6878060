"""Which column of a contact file holds the WhatsApp number, row by row.

Exports carry several phone columns: Outlook has `Mobile Phone`, `Home Phone`, `Business
Phone`, `Pager`...; Google writes `Phone 1 - Value` with its kind in `Phone 1 - Type` (legacy)
or `Phone 1 - Label`; Shopify has the customer's `Phone` and a `Default Address Phone`. The
columns are ranked (WhatsApp, then mobile, then plain phone columns; home, work, other lines,
fax and pager last), and each row takes the first column holding a valid mobile number. A cell
with several numbers (`0813... ::: +62 857...`) gives its first valid mobile.

```python
plan = PhonePlan.from_header(["Name", "Business Phone", "Mobile Phone"])
plan.pick(["Budi", "(021) 555-1234", "0812 3456 7890"])  # -> ("6281234567890", 2)
```
"""

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from broadcaster.phones import normalize_phone

__all__ = ["PHONE_COLUMN_ALIASES", "PhoneColumn", "PhonePlan", "column_key", "phone_kind"]

#: Header names that are a phone column on their own, compared by `column_key`: what the
#: importer always recognised, Indonesian and English.
PHONE_COLUMN_ALIASES = (
    *("whatsapp", "wa", "nowa", "nomorwa", "whatsappnumber", "nomorwhatsapp"),
    *("mobile", "mobilenumber", "hp", "nohp", "nomorhp", "handphone", "msisdn"),
    *("phone", "phonenumber", "telepon", "notelp", "nomortelepon", "nomor", "number"),
)

#: Kinds of phone column, best first; a row tries its columns in this order.
KINDS = ("whatsapp", "mobile", "phone", "home", "work", "other", "fax", "pager")

_NOT_WORD = re.compile(r"[\W_]+")
_WORDS = re.compile(r"[^\W_]+")
#: Words that make a header a phone column (alone, `number`/`nomor` are `PHONE_COLUMN_ALIASES`).
_PHONE_WORDS = frozenset(
    "phone telephone tel telp telpon telepon mobile cell cellphone handphone hp whatsapp wa"
    " msisdn fax faks pager beeper iphone ponsel seluler".split()
)
#: Words that make a phone-looking header something else: `Phone 1 - Type`, `Accepts SMS...`.
_NOT_A_NUMBER = frozenset(
    "type label accepts marketing consent opt optin subscribed verified status code country"
    " ext extension owner".split()
)
#: Word -> kind, tried in `KINDS` order, so `Work Mobile` is a mobile and `Home Fax` a fax.
_KIND_WORDS = {
    "fax": "fax", "faks": "fax", "pager": "pager", "beeper": "pager",
    "whatsapp": "whatsapp", "wa": "whatsapp",
    "mobile": "mobile", "cell": "mobile", "cellphone": "mobile", "handphone": "mobile",
    "hp": "mobile", "iphone": "mobile", "msisdn": "mobile", "ponsel": "mobile",
    "seluler": "mobile", "car": "mobile",
    "home": "home", "rumah": "home", "private": "home",
    "business": "work", "work": "work", "office": "work", "company": "work", "kantor": "work",
    "assistant": "work", "assistants": "work",
    "isdn": "other", "tty": "other", "tdd": "other", "telex": "other", "radio": "other",
    "callback": "other",
}  # fmt: skip
_KIND_ORDER = ("fax", "pager", "whatsapp", "mobile", "home", "work", "other")
#: Words marking a phone that belongs to an address or another person: after the contact's own.
_SECONDARY = frozenset("address billing shipping default assistant assistants".split())
#: Headers that may name any number (an order's, an account's): after the phone columns.
_VAGUE = frozenset({"number", "nomor"})
#: Separators between whole numbers in one cell; Google writes ` ::: `.
_MULTI = re.compile(r"\s*:::\s*|\s*[/;,|]\s*|\s+(?:or|atau)\s+", re.IGNORECASE)
_DIGITS_IN_FULL_NUMBER = 8
_EMPTY = "empty phone"


def column_key(name: str) -> str:
    """A header compared without case, spaces or punctuation: `No. HP` -> `nohp`."""
    return _NOT_WORD.sub("", name.casefold())


def phone_kind(text: str, *, header: bool = True) -> str | None:
    """The kind of phone a header (or a Google label, `header=False`) names, or None."""
    words = _WORDS.findall(text.casefold())
    if header:
        if column_key(text) in _ALIASES:
            return _kind_of(words)
        if not _PHONE_WORDS.intersection(words) or _NOT_A_NUMBER.intersection(words):
            return None
    return _kind_of(words)


def _kind_of(words: list[str]) -> str:
    kinds = {_KIND_WORDS[w] for w in words if w in _KIND_WORDS}
    return next((kind for kind in _KIND_ORDER if kind in kinds), "phone")


_ALIASES = frozenset(PHONE_COLUMN_ALIASES)


@dataclass(frozen=True, slots=True)
class PhoneColumn:
    """A column that may hold the phone: its index, kind, and its Google type column if any."""

    index: int
    name: str
    kind: str
    secondary: bool = False  #: an address's or an assistant's phone, or a vague `Number`
    type_index: int | None = None  #: Google's `Phone N - Type` / `- Label` column

    def rank(self, type_cell: str = "") -> tuple[int, int, int]:
        """Sort key: the kind (Google's type cell wins where present), then own before other."""
        kind = self.kind
        if self.type_index is not None and type_cell.strip():
            kind = phone_kind(type_cell.lstrip("* "), header=False) or kind
        primary = 0 if type_cell.startswith("*") else 1  # Google marks the primary with `*`
        return KINDS.index(kind), int(self.secondary), primary


@dataclass(slots=True)
class PhonePlan:
    """The phone columns of a header, best first, and what each gave while rows were read."""

    columns: list[PhoneColumn]
    region: str = "ID"
    chosen: bool = False  #: named by the caller, not found by name
    gave: Counter[str] = field(default_factory=Counter)  #: recipients per column
    failed: dict[str, Counter[str]] = field(default_factory=dict)  #: reasons per column

    @classmethod
    def from_header(cls, columns: Sequence[str], *, region: str = "ID") -> "PhonePlan":
        """Every phone column of `columns`, ranked; empty if there is none."""
        keys = [column_key(name) for name in columns]
        found = []
        for i, name in enumerate(columns):
            kind = phone_kind(name)
            if kind is None:
                continue
            type_index = _type_column(keys, keys[i])
            words = set(_WORDS.findall(name.casefold()))
            after = bool(words & _SECONDARY) or keys[i] in _VAGUE
            found.append(PhoneColumn(i, name, kind, after, type_index))
        found.sort(key=lambda c: (*c.rank(), c.index))
        return cls(found, region)

    @classmethod
    def single(cls, index: int, name: str, *, region: str = "ID") -> "PhonePlan":
        """A plan of the one column the caller named."""
        return cls([PhoneColumn(index, name, phone_kind(name) or "phone")], region, chosen=True)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def pick(self, fields: Sequence[str]) -> tuple[str, int]:
        """The row's phone (E.164 digits) and the index of the column that gave it.

        `fields` has a cell for every column. With one phone column, `gave` is not counted
        (every phone found came from it): this runs once per row of million-row files.

        Raises:
            ValueError: a reason for the operator, as `"empty phone"` or
                `"invalid phone '0812': not a valid mobile number (too short)"`.
        """
        columns = self.columns
        if len(columns) == 1:
            index = columns[0].index
            raw = fields[index]
            try:
                return normalize_phone(raw, region=self.region), index
            except ValueError as exc:
                return self._first_of_many(raw) or self._fail(columns[0], raw, exc), index
        return self._pick_ranked(fields)

    def _pick_ranked(self, fields: Sequence[str]) -> tuple[str, int]:
        columns = self.columns
        if any(c.type_index is not None for c in columns):
            columns = sorted(columns, key=lambda c: (*c.rank(_cell(fields, c.type_index)),))
        problems: list[str] = []
        for column in columns:
            raw = _cell(fields, column.index)
            if not raw.strip():
                self._note(column, ValueError("empty"))
                continue
            try:
                phone = normalize_phone(raw, region=self.region)
            except ValueError as exc:
                several = self._first_of_many(raw)
                if several is None:
                    problems.append(f"{column.name} {raw!r}: {self._note(column, exc)}")
                    continue
                phone = several
            self.gave[column.name] += 1
            return phone, column.index
        if not problems:
            raise ValueError(_EMPTY)
        raise ValueError("no valid mobile number (" + "; ".join(problems) + ")")

    def _first_of_many(self, raw: str) -> str | None:
        """The first valid mobile of a cell holding several whole numbers, else None."""
        parts = [p for p in _MULTI.split(raw.strip()) if p]
        if len(parts) < 2 or any(_digits(p) < _DIGITS_IN_FULL_NUMBER for p in parts):
            return None
        for part in parts:
            try:
                return normalize_phone(part, region=self.region)
            except ValueError:
                continue
        return None

    def _fail(self, column: PhoneColumn, raw: str, exc: ValueError) -> str:
        reason = self._note(column, exc)
        raise ValueError(f"invalid phone {raw!r}: {reason}" if raw.strip() else _EMPTY)

    def _note(self, column: PhoneColumn, exc: ValueError) -> str:
        reason = str(exc)
        self.failed.setdefault(column.name, Counter())[reason] += 1
        return reason


def _type_column(keys: list[str], key: str) -> int | None:
    """Google's `Phone 1 - Type` (legacy) or `Phone 1 - Label` for `Phone 1 - Value`."""
    if not key.endswith("value"):
        return None
    stem = key.removesuffix("value")
    for suffix in ("type", "label"):
        if stem + suffix in keys:
            return keys.index(stem + suffix)
    return None


def _cell(fields: Sequence[str], index: int | None) -> str:
    return fields[index] if index is not None and index < len(fields) else ""


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)
