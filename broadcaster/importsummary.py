"""What a contact import found: counts, row errors, and which columns gave phones and names.

`ImportSummary.to_dict()` is what the API, the CLI and the operator page show. Beside the
counts it says where the phone and the name came from and why, for a person
(`explanation`) and for a program (`phone_columns`, `name_columns`, `header`, `format`...).
"""

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["ImportSummary", "RowError"]

#: Reasons shortened for the summary sentence ("Business Phone ignored: landline").
_SHORT_REASONS = {
    "a landline, not a mobile number": "landline",
    "empty": "empty",
    "empty phone": "empty",
    "not a phone number": "not a phone number",
    "not a mobile number": "not a mobile number",
}


_NOT_NEEDED = "not needed (a better column held a mobile number)"


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that was skipped, and why (shown to the operator, so nothing is masked)."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(slots=True)
class ImportSummary:
    """What an import found; filled in while the `ContactImport` is consumed."""

    encoding: str
    delimiter: str
    phone_column: str  #: the best-ranked phone column (rows may use the others)
    columns: list[str]  #: the file's columns as named in its header
    rows: int = 0  #: data rows seen (blank lines not counted)
    valid: int = 0  #: contacts yielded
    duplicates: int = 0
    suppressed: int = 0
    rejected: int = 0  #: rows with an error, all of them
    mixed_encoding_lines: int = 0  #: lines decoded otherwise than `encoding` says
    errors: list[RowError] = field(default_factory=list)  #: the first `max_row_errors`
    format: str = "csv"  #: csv, xlsx, xlsb, xls, ods, vcard or records (dicts)
    sheet: str | None = None  #: the worksheet read, for workbooks
    sheets: list[str] = field(default_factory=list)  #: every worksheet of a workbook
    header: bool = True  #: False when the first line was already a phone number
    short_rows: int = 0  #: rows with fewer fields than the header (missing ones are empty)
    phone_chosen: bool = False  #: the phone column was named by the caller
    phone_kinds: dict[str, str] = field(default_factory=dict)  #: phone column -> kind
    phone_counts: Counter[str] = field(default_factory=Counter)  #: recipients per column
    phone_failures: dict[str, Counter[str]] = field(default_factory=dict)  #: column -> reasons
    name_columns: list[str] = field(default_factory=list)  #: what `{name}` is built from
    name_rule: str = ""  #: how, e.g. "Name, else Given Name + Family Name"

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict: the counts, `errors` as `{"line", "reason"}`, the column report."""
        data: dict[str, object] = {
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "phone_column": self.phone_column,
            "columns": list(self.columns),
            "rows": self.rows,
            "valid": self.valid,
            "duplicates": self.duplicates,
            "suppressed": self.suppressed,
            "rejected": self.rejected,
            "mixed_encoding_lines": self.mixed_encoding_lines,
            "errors": [{"line": e.line, "reason": e.reason} for e in self.errors],
            "format": self.format,
            "sheet": self.sheet,
            "sheets": list(self.sheets),
            "header": self.header,
            "short_rows": self.short_rows,
            "phone_columns": self.phone_report(),
            "name_columns": list(self.name_columns),
            "explanation": self.explanation(),
        }
        return data

    def phone_report(self) -> list[dict[str, object]]:
        """Each phone column, best first: its kind, the recipients it gave, why it gave none."""
        report: list[dict[str, object]] = []
        for column, kind in self.phone_kinds.items():
            entry: dict[str, object] = {"column": column, "kind": kind}
            entry["recipients"] = self._phones_from(column)
            if not entry["recipients"] and self.rows:
                entry["ignored"] = self._why_ignored(column)
            report.append(entry)
        return report

    def _phones_from(self, column: str) -> int:
        if len(self.phone_kinds) == 1:  # not counted per row: every phone came from it
            return self.valid + self.duplicates + self.suppressed
        return self.phone_counts[column]

    def _why_ignored(self, column: str) -> str:
        reasons = self.phone_failures.get(column)
        if not reasons:
            return _NOT_NEEDED
        reason = reasons.most_common(1)[0][0]
        return _SHORT_REASONS.get(reason, reason)

    def explanation(self) -> str:
        """One sentence per finding, e.g. "Phone from Mobile Phone (3); Business Phone
        ignored: landline. Name from First Name + Last Name."
        """
        sentences = []
        if not self.header:
            sentences.append("No header: the first line is already a phone number")
        if self.phone_kinds:
            sentences.append(self._phone_sentence())
        if self.name_columns:
            sentences.append("Name from " + (self.name_rule or " + ".join(self.name_columns)))
        if self.short_rows:
            sentences.append(f"{self.short_rows} short rows: missing fields read as empty")
        return ". ".join(sentences) + "." if sentences else ""

    def _phone_sentence(self) -> str:
        why = " (the column chosen)" if self.phone_chosen else ""
        several = len(self.phone_kinds) > 1
        used = [
            f"{column} ({count})" if several else column
            for column in self.phone_kinds
            if (count := self._phones_from(column))
        ]
        parts = ["Phone from " + (", ".join(used) or self.phone_column) + why]
        parts += [
            f"{item['column']} ignored: {item['ignored']}"
            for item in self.phone_report()
            if item.get("ignored") not in (None, "empty", _NOT_NEEDED)
        ]
        return "; ".join(parts)
