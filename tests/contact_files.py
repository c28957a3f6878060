"""Every contact file of `tests/data/contacts/` and the workbooks made here, with what importing
each must give: the recipients (line, phone, `{name}`) and the rejected rows (line, reason).

`tests/test_contact_formats.py` and `tests/test_contacts.py` prove these against the importer
itself, with the reasons in full; `tests/test_contact_surfaces.py` and the web tests send the
same files through `enqueue_broadcast`, `POST /campaigns` and `POST /campaigns/preview`.
Where each file's shape comes from: `tests/data/contacts/README.md`.
"""

import datetime
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl

DATA = Path(__file__).parent / "data" / "contacts"


def workbook(rows_by_sheet: dict[str, list[list[object]]], hidden: tuple[str, ...] = ()) -> bytes:
    """An .xlsx made with openpyxl, as Excel would save those cells."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in rows_by_sheet.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
        if name in hidden:
            sheet.sheet_state = "hidden"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


KONTAK = [
    [],  # Excel users leave a blank first row
    ["Nama", "No HP", "Lahir", "Saldo"],
    ["Budi", 6281234567890, datetime.date(1990, 1, 2), 1500000],
    ["Siti", "0813 1111 2222", None, 2.5],
    ["Agus", 81311113333.0],
    ["Dewi", "0812"],
]

#: A second sheet, chosen by name (`sheet=`): an Outlook-like pair of phone columns.
VIP = [
    ["First Name", "Last Name", "Business Phone", "Mobile Phone"],
    ["Rudi", "Hartono", "(021) 5550 1000", "0857 1234 5678"],
    ["Maya", "", "(021) 5550 2000", ""],
]


def kontak_xlsx() -> bytes:
    """A workbook as users keep contacts: a hidden first sheet, then `Kontak` and `VIP`."""
    return workbook({"Arsip": [["phone"]], "Kontak": KONTAK, "VIP": VIP}, hidden=("Arsip",))


ODS_CONTENT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">
<office:body><office:spreadsheet><table:table table:name="Daftar">
<table:table-row><table:table-cell office:value-type="string"><text:p>nama</text:p>
</table:table-cell><table:table-cell office:value-type="string"><text:p>hp</text:p>
</table:table-cell></table:table-row>
<table:table-row><table:table-cell office:value-type="string"><text:p>Budi</text:p>
</table:table-cell><table:table-cell office:value-type="float" office:value="6281234567890">
<text:p>6,28123E+12</text:p></table:table-cell></table:table-row>
</table:table></office:spreadsheet></office:body></office:document-content>"""


ODS_MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"
 manifest:version="1.2">
<manifest:file-entry manifest:full-path="/"
 manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>"""


def daftar_ods() -> bytes:
    """An .ods as LibreOffice stores it: mimetype first, cells in content.xml, a manifest."""
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", ODS_CONTENT)
        archive.writestr("META-INF/manifest.xml", ODS_MANIFEST)
    return data.getvalue()


@dataclass(frozen=True)
class ContactFile:
    """A contact file and what importing it gives."""

    name: str  #: the file name (as uploaded)
    recipients: list[tuple[int, str, str | None]]  #: line, phone, the `name` variable
    rejected: list[tuple[int, str]]  #: line, words of the reason
    duplicates: int = 0
    format: str = "csv"
    sheet: str | None = None  #: the sheet to ask for (None: the default one)
    sheet_read: str | None = None  #: the sheet the import reports
    made: bytes | None = field(default=None, repr=False)  #: the content, when made here

    def content(self) -> bytes:
        return self.made if self.made is not None else (DATA / self.name).read_bytes()

    @property
    def id(self) -> str:
        return self.name + (f" sheet={self.sheet}" if self.sheet else "")


_LANDLINE = "a landline, not a mobile number"

FILES = [
    ContactFile(
        "google_legacy_utf16.csv",
        [
            (2, "6281234567890", "Budi Santoso"),
            (3, "6281311112222", "Siti Rahmawati"),
            (5, "6285722223333", "Agus Wijaya"),
        ],
        [(4, "no valid mobile number (Phone 1 - Value '(021) 555-0000': " + _LANDLINE)],
    ),
    ContactFile(
        "google_current.csv",
        [
            (2, "6281211113333", "Dewi Lestari"),
            (4, "6281344445555", "Rina"),
            (5, "6287812345678", "Joko Susilo"),
        ],
        [(6, "empty phone")],
    ),
    ContactFile(
        "outlook_web.csv",
        [(2, "6281277771111", "Hendra Gunawan"), (3, "6281123456789", "Wati")],
        [(4, "no valid mobile number (Home Phone '(022) 555-7777': " + _LANDLINE)],
    ),
    ContactFile(
        "outlook_desktop.csv",
        [(2, "6281277772222", "André Pratama"), (3, "6285612345678", "Lina Marlina")],
        [(4, "no valid mobile number (Business Phone '(031) 555-4444': " + _LANDLINE)],
    ),
    ContactFile(
        "hubspot.csv",
        [
            (2, "6281220003000", "Rudi Hartono"),
            (3, "6281350006000", "Maya Sari"),
            (4, "6285770008000", "Eko"),
        ],
        [(5, "no valid mobile number (Phone Number '+62 21 5550 9000': " + _LANDLINE)],
    ),
    ContactFile(
        "shopify_customers.csv",
        [(2, "6281339990001", "Putri Ayu"), (3, "6281229990003", "Fajar Nugroho")],
        [(4, "empty phone")],
    ),
    ContactFile(
        "excel_id_locale.csv",
        [
            (2, "6281234567890", "Budi"),
            (3, "6281298765435", "Siti"),
            (4, "6281311112222", "Agus"),
            (6, "628571234567", "Rina"),
        ],
        [(5, "invalid phone '6,28123E+11': Excel scientific notation lost digits")],
    ),
    ContactFile(
        "excel_semicolon.csv",
        [(3, "6281234567890", "René Müller"), (4, "628131111222", "Siti Nurhaliza")],
        [],
    ),
    ContactFile(
        "headerless.txt",
        [(1, "6281234567801", None), (2, "6281234567802", None), (3, "6281311112222", None)],
        [(5, "invalid phone '0812': not a valid mobile number (too short)")],
        duplicates=1,
    ),
    ContactFile(
        "short_rows.csv",
        [(2, "6281234567811", "Budi"), (3, "6281234567812", "Siti"), (4, "6281234567813", "Agus")],
        [
            (5, "empty phone (the row has 1 of 4 fields)"),
            (6, "5 fields where the header has 4"),
        ],
    ),
    ContactFile(
        "messy_export.csv",
        [
            (2, "6281234567890", "Budi, S.Kom"),
            (3, "6281311112222", "Ani\r\nRahma\r\nPutri"),
            (12, "628571234567", "Wati"),
            (14, "6281377778888", "Short"),
            (16, "6281399990000", "Trailing"),
        ],
        [
            (6, "invalid phone '0812'"),
            (8, "invalid phone '(021) 555-1234': " + _LANDLINE),
            (10, "empty phone"),
            (11, "invalid phone '6.28123E+11': Excel scientific notation lost digits"),
            (13, "4 fields where the header has 3"),
        ],
        duplicates=1,
    ),
    *(
        ContactFile(
            name,
            [(2, "6281234567890", "René Müller"), (3, "6281311112222", "Siti Nurhaliza")],
            [],
        )
        for name in ("utf8.csv", "utf8_bom.csv", "cp1252.csv")
    ),
    ContactFile("tab.tsv", [(2, "628123456789", "Budi"), (3, "6281311112222", "Siti")], []),
    ContactFile(
        "android_21.vcf",
        [(1, "6281334567002", "René Saputra Kusumawan")],
        [
            (11, "no valid mobile number (Work Phone '021-5559876': " + _LANDLINE),
            (17, "empty phone"),
        ],
        format="vcard",
    ),
    ContactFile(
        "icloud_30.vcf",
        [
            (1, "6287834567102", "Indah Kusuma"),
            (
                15,
                "6281122227104",
                "Hadi Santoso dengan nama yang sangat panjang sehingga baris ini dilipat",
            ),
        ],
        [],
        format="vcard",
    ),
    ContactFile(
        "rfc6350_40.vcf",
        [(1, "6281234567201", "Bayu Aditya")],
        [(9, "no valid mobile number (Home Phone '+62-21-555-7202': " + _LANDLINE)],
        format="vcard",
    ),
    ContactFile(
        "kontak.xlsx",
        [(3, "6281234567890", "Budi"), (4, "6281311112222", "Siti"), (5, "6281311113333", "Agus")],
        [(6, "invalid phone '0812': not a valid mobile number (too short)")],
        format="xlsx",
        sheet_read="Kontak",
        made=kontak_xlsx(),
    ),
    ContactFile(
        "kontak.xlsx",
        [(2, "6285712345678", "Rudi Hartono")],
        [(3, "no valid mobile number (Business Phone '(021) 5550 2000': " + _LANDLINE)],
        format="xlsx",
        sheet="vip",
        sheet_read="VIP",
        made=kontak_xlsx(),
    ),
    ContactFile(
        "daftar.ods",
        [(2, "6281234567890", "Budi")],
        [],
        format="ods",
        sheet_read="Daftar",
        made=daftar_ods(),
    ),
]


def check_summary(summary: dict[str, object], expected: ContactFile) -> None:
    """The counts, row errors and format of an import summary (as the API answers it)."""
    errors = summary["errors"]
    assert isinstance(errors, list)
    assert [e["line"] for e in errors] == [line for line, _ in expected.rejected]
    for error, (_, words) in zip(errors, expected.rejected, strict=True):
        assert words in error["reason"]
    assert (summary["valid"], summary["rejected"], summary["duplicates"]) == (
        len(expected.recipients),
        len(expected.rejected),
        expected.duplicates,
    )
    assert (summary["format"], summary["sheet"]) == (expected.format, expected.sheet_read)
    assert summary["explanation"], "the summary says where the phone came from"
