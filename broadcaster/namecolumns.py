"""The `name` variable of contact files that have no `name` column.

Templates say `{name}`; exports say `Name` (Google's legacy CSV), `First Name` + `Last Name`
(Outlook, HubSpot, Shopify, Google's current CSV), `Given Name` + `Family Name`, or `Nama`.
`NamePlan` finds those columns once per file and builds each row's name from them: the
full-name column where it is filled, else the parts joined by a space.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from broadcaster.phonecolumns import column_key

__all__ = ["NAME_VARIABLE", "NamePlan"]

#: The variable a template uses for the contact's name.
NAME_VARIABLE = "name"

#: Headers of a whole name, best first, compared by `column_key`.
_FULL = (
    *("name", "fullname", "displayname", "contactname", "customername", "nama"),
    *("namalengkap", "namapelanggan", "namakontak"),
)
#: Headers of a name's parts, in the order they are joined.
_PARTS = (
    ("firstname", "givenname", "first", "namadepan"),
    ("middlename", "additionalname", "namatengah"),
    ("lastname", "familyname", "surname", "last", "namabelakang"),
)


@dataclass(frozen=True, slots=True)
class NamePlan:
    """Where a file's names are: a whole-name column and/or part columns (indexes)."""

    full: int | None
    parts: tuple[int, ...]
    columns: tuple[str, ...]  #: the header names used, for the import summary

    @classmethod
    def from_header(cls, columns: Sequence[str]) -> "NamePlan | None":
        """The plan for `columns`, or None when a `name` column exists or no name column does."""
        if NAME_VARIABLE in columns:
            return None
        keys = [column_key(name) for name in columns]
        full = next((keys.index(k) for k in _FULL if k in keys), None)
        parts = tuple(
            keys.index(found)
            for aliases in _PARTS
            if (found := next((k for k in aliases if k in keys), None)) is not None
        )
        if full is None and not parts:
            return None
        used = ([] if full is None else [full]) + list(parts)
        return cls(full, parts, tuple(columns[i] for i in used))

    def describe(self) -> str:
        """How names are built, for the import summary: `Name, else First Name + Last Name`."""
        parts = " + ".join(self.columns[1:] if self.full is not None else self.columns)
        if self.full is None:
            return parts
        return f"{self.columns[0]}, else {parts}" if parts else self.columns[0]

    def name(self, fields: Sequence[str]) -> str:
        """The row's name: its whole-name cell if filled, else its parts joined."""
        width = len(fields)
        if self.full is not None and self.full < width:
            whole = fields[self.full].strip()
            if whole:
                return whole
        return " ".join(p for i in self.parts if i < width and (p := fields[i].strip()))
