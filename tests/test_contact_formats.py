"""Contact files as real tools export them: each fixture's recipients, rejected rows, reasons.

The fixtures in `tests/data/contacts/` reproduce each tool's real header row and quirks; where
each shape comes from is in `tests/data/contacts/README.md`. Workbooks are made with
openpyxl (`.xlsx`) or written as their XML (`.ods`) in `tests/contact_files.py`, which also
lists what every file must give through the other edges.
"""

import datetime
import io

import pytest

from broadcaster.contacts import Contact, ImportSummary, read_contacts
from broadcaster.errors import ContactImportError, NoPhoneColumn
from broadcaster.workbooks import cell_text, read_workbook
from tests.contact_files import DATA, KONTAK, daftar_ods, workbook


def read_all(source, **options) -> tuple[list[Contact], ImportSummary]:
    with read_contacts(source, **options) as contacts:
        found = list(contacts)
    return found, contacts.summary


def picked(contacts: list[Contact]) -> list[tuple[int, str, str]]:
    return [(c.line, c.phone, c.variables.get("name", "")) for c in contacts]


def errors(summary: ImportSummary) -> list[tuple[int, str]]:
    return [(e.line, e.reason) for e in summary.errors]


# --- Google Contacts -------------------------------------------------------------------------


def test_google_legacy_csv_in_utf16_uses_the_type_column_and_the_first_mobile_of_a_cell():
    contacts, summary = read_all(DATA / "google_legacy_utf16.csv")
    assert summary.encoding == "utf-16"
    assert picked(contacts) == [
        (2, "6281234567890", "Budi Santoso"),  # Phone 2 (Mobile) over Phone 1 (Home landline)
        (3, "6281311112222", "Siti Rahmawati"),
        (5, "6285722223333", "Agus Wijaya"),  # a mobile typed Home; Name empty: Given + Family
    ]
    assert errors(summary) == [
        (
            4,
            "no valid mobile number (Phone 1 - Value '(021) 555-0000': a landline, not a mobile"
            " number; Phone 2 - Value '(021) 555-0001': a landline, not a mobile number)",
        )
    ]
    assert summary.name_columns == ["Name", "Given Name", "Additional Name", "Family Name"]
    assert summary.to_dict()["explanation"] == (
        "Phone from Phone 1 - Value (2), Phone 2 - Value (1)."
        " Name from Name, else Given Name + Additional Name + Family Name."
    )


def test_google_current_csv_prefers_a_whatsapp_label_then_mobile_labels():
    contacts, summary = read_all(DATA / "google_current.csv")
    assert summary.encoding == "utf-8"
    assert picked(contacts) == [
        (2, "6281211113333", "Dewi Lestari"),  # `* Mobile` beats `Work`
        (4, "6281344445555", "Rina"),  # the first of `... ::: ...`
        (5, "6287812345678", "Joko Susilo"),  # the WhatsApp label beats Mobile
    ]
    assert errors(summary) == [(6, "empty phone")]  # an organisation without a phone
    assert contacts[0].variables["Notes"] == "ketemu di pameran\r\nbaris kedua"


# --- Outlook ---------------------------------------------------------------------------------


def test_outlook_web_export_takes_mobile_phone_then_any_column_holding_a_mobile():
    contacts, summary = read_all(DATA / "outlook_web.csv")
    assert picked(contacts) == [
        (2, "6281277771111", "Hendra Gunawan"),
        (3, "6281123456789", "Wati"),  # her Business Phone is a mobile
    ]
    assert errors(summary) == [
        (
            4,
            "no valid mobile number (Home Phone '(022) 555-7777': a landline,"
            " not a mobile number)",
        )
    ]
    report = {c["column"]: c for c in summary.phone_report()}
    assert list(report)[:3] == ["Mobile Phone", "Car Phone", "Other Phone"]
    assert report["Pager"]["kind"] == "pager" and report["Home Fax"]["kind"] == "fax"


def test_outlook_desktop_export_quoted_cp1252_says_which_columns_were_ignored():
    contacts, summary = read_all(DATA / "outlook_desktop.csv")
    assert (summary.encoding, summary.delimiter) == ("cp1252", ",")
    assert picked(contacts) == [
        (2, "6281277772222", "André Pratama"),
        (3, "6285612345678", "Lina Marlina"),  # Primary Phone; her Home Phone is a landline
    ]
    assert errors(summary) == [
        (
            4,
            "no valid mobile number (Business Phone '(031) 555-4444': a landline, not a mobile"
            " number; Pager '(031) 555-4445': a landline, not a mobile number)",
        )
    ]
    assert summary.to_dict()["explanation"] == (
        "Phone from Mobile Phone (1), Primary Phone (1); Business Phone ignored: landline;"
        " Pager ignored: landline. Name from First Name + Middle Name + Last Name."
    )
    assert contacts[0].variables["Company"] == "PT Kopi Nusantara"


# --- CRM and shop exports --------------------------------------------------------------------


def test_hubspot_mobile_phone_number_beats_the_office_phone_number():
    contacts, summary = read_all(DATA / "hubspot.csv")
    assert picked(contacts) == [
        (2, "6281220003000", "Rudi Hartono"),
        (3, "6281350006000", "Maya Sari"),  # only a mobile
        (4, "6285770008000", "Eko"),  # a mobile in Phone Number
    ]
    assert errors(summary) == [
        (
            5,
            "no valid mobile number (Phone Number '+62 21 5550 9000': a landline, not a mobile"
            " number)",
        )
    ]
    assert summary.phone_column == "Mobile Phone Number"


def test_shopify_customers_with_apostrophes_and_only_an_address_phone():
    contacts, summary = read_all(DATA / "shopify_customers.csv")
    assert picked(contacts) == [
        (2, "6281339990001", "Putri Ayu"),  # only `Default Address Phone`
        (3, "6281229990003", "Fajar Nugroho"),  # the customer's own `Phone` first
    ]
    assert errors(summary) == [(4, "empty phone")]
    assert summary.phone_column == "Phone"
    assert contacts[0].variables["Customer ID"] == "7210448301122"  # Shopify's ' dropped
    assert contacts[0].variables["Default Address Zip"] == "80111"


# --- Excel in an Indonesian locale, lists, short rows ----------------------------------------


def test_excel_csv_in_indonesian_locale_reads_number_cells_and_refuses_lost_digits():
    contacts, summary = read_all(DATA / "excel_id_locale.csv")
    assert (summary.encoding, summary.delimiter) == ("utf-8-sig", ";")
    assert picked(contacts) == [
        (2, "6281234567890", "Budi"),  # '0812...: the apostrophe is dropped
        (3, "6281298765435", "Siti"),  # a Number cell: 6281298765435,00
        (4, "6281311112222", "Agus"),  # thousands separators: 6.281.311.112.222
        (6, "628571234567", "Rina"),  # E-notation that kept every digit
    ]
    assert errors(summary) == [
        (5, "invalid phone '6,28123E+11': Excel scientific notation lost digits: 6,28123E+11")
    ]
    assert contacts[0].variables["Saldo"] == "1.500.000,00"


def test_a_list_of_numbers_without_header_is_read_as_numbers():
    contacts, summary = read_all(DATA / "headerless.txt")
    assert [(c.line, c.phone) for c in contacts] == [
        (1, "6281234567801"),
        (2, "6281234567802"),
        (3, "6281311112222"),
    ]
    assert errors(summary) == [(5, "invalid phone '0812': not a valid mobile number (too short)")]
    assert (summary.header, summary.duplicates, summary.columns) == (False, 1, ["column 1"])
    assert summary.to_dict()["explanation"].startswith(
        "No header: the first line is already a phone number. Phone from column 1"
    )


def test_a_list_without_header_finds_the_column_holding_numbers():
    text = "Budi;'081234567801;Medan\nSiti;0813 1111 2222;Bandung\n"
    contacts, summary = read_all(io.BytesIO(text.encode()))
    assert summary.phone_column == "column 2"
    assert contacts[1] == Contact(2, "6281311112222", {"column 1": "Siti", "column 3": "Bandung"})


def test_a_list_without_header_takes_an_explicit_column():
    contacts, _ = read_all(io.BytesIO(b"081234567801,081311112222\n"), phone_column="column 2")
    assert [c.phone for c in contacts] == ["6281311112222"]


def test_a_first_line_of_words_is_still_a_header_without_phone_column():
    with pytest.raises(NoPhoneColumn):
        read_contacts(io.BytesIO(b"Nama,Tanggal\nBudi,2026-01-15\n"))


def test_short_rows_are_kept_when_their_phone_is_there():
    contacts, summary = read_all(DATA / "short_rows.csv")
    assert [(c.line, c.phone, c.variables) for c in contacts] == [
        (2, "6281234567811", {"name": "Budi", "city": "Medan", "note": "vip"}),
        (3, "6281234567812", {"name": "Siti", "city": "", "note": ""}),
        (4, "6281234567813", {"name": "Agus", "city": "Bandung", "note": ""}),
    ]
    assert errors(summary) == [
        (5, "empty phone (the row has 1 of 4 fields)"),
        (6, "5 fields where the header has 4 (check quoting and delimiters)"),
    ]
    assert (summary.short_rows, summary.rows, summary.rejected) == (3, 5, 2)
    assert "3 short rows" in summary.to_dict()["explanation"]


# --- vCard -----------------------------------------------------------------------------------


def test_vcard_21_from_android_quoted_printable_names_cell_numbers():
    contacts, summary = read_all(DATA / "android_21.vcf")
    assert summary.format == "vcard"
    assert picked(contacts) == [(1, "6281334567002", "René Saputra Kusumawan")]  # CELL;PREF
    assert contacts[0].variables["Home Phone"] == "022-5551234"
    assert errors(summary) == [
        (
            11,
            "no valid mobile number (Work Phone '021-5559876': a landline, not a mobile number)",
        ),
        (17, "empty phone"),
    ]


def test_vcard_30_from_icloud_grouped_labels_folded_lines_and_a_photo():
    contacts, summary = read_all(DATA / "icloud_30.vcf")
    assert picked(contacts) == [
        (1, "6287834567102", "Indah Kusuma"),  # item3's label is WhatsApp
        (
            15,
            "6281122227104",
            "Hadi Santoso dengan nama yang sangat panjang sehingga baris ini dilipat",
        ),
    ]
    assert contacts[1].variables["Fax"] == "0811 2222 7103"  # Apple's _$!<HomeFAX>!$_
    assert contacts[0].variables["Organization"] == "Toko Kusuma"
    assert summary.rejected == 0


def test_vcard_40_tel_uris_and_pref():
    contacts, summary = read_all(DATA / "rfc6350_40.vcf")
    assert picked(contacts) == [(1, "6281234567201", "Bayu Aditya")]
    assert errors(summary) == [
        (
            9,
            "no valid mobile number (Home Phone '+62-21-555-7202': a landline, not a mobile"
            " number)",
        )
    ]


def test_vcard_phone_column_can_be_chosen():
    contacts, _ = read_all(DATA / "android_21.vcf", phone_column="Home Phone")
    assert contacts == []  # the only Home number is a landline


# --- workbooks -------------------------------------------------------------------------------


@pytest.mark.parametrize("max_sheet_bytes", [32 * 1024 * 1024, 0], ids=["calamine", "streamed"])
def test_xlsx_first_visible_sheet_cells_as_a_person_reads_them(max_sheet_bytes, tmp_path):
    data = workbook({"Arsip": [["phone"]], "Kontak": KONTAK}, hidden=("Arsip",))
    table = read_workbook(io.BytesIO(data), "xlsx", max_sheet_bytes=max_sheet_bytes)
    assert (table.first, table.first_line, table.sheet) == (KONTAK[1], 2, "Kontak")
    rows = list(table.rows)
    table.close()
    assert rows[0] == (3, ["Budi", "6281234567890", "1990-01-02", "1500000"])
    assert rows[1][1][:2] == ["Siti", "0813 1111 2222"] and rows[1][1][3] == "2.5"
    assert rows[2][0] == 5 and rows[2][1][:2] == ["Agus", "81311113333"]


def test_xlsx_through_read_contacts_by_content_not_name(tmp_path):
    path = tmp_path / "kontak.csv"  # a wrong extension: the content decides
    path.write_bytes(workbook({"Arsip": [["phone"]], "Kontak": KONTAK}, hidden=("Arsip",)))
    contacts, summary = read_all(path)
    assert picked(contacts) == [
        (3, "6281234567890", "Budi"),
        (4, "6281311112222", "Siti"),
        (5, "6281311113333", "Agus"),
    ]
    assert errors(summary) == [(6, "invalid phone '0812': not a valid mobile number (too short)")]
    assert (summary.format, summary.sheet, summary.sheets) == (
        "xlsx",
        "Kontak",
        ["Arsip", "Kontak"],
    )
    assert summary.short_rows == 0  # a sheet's rows simply end at their last cell


def test_xlsx_named_sheet_and_a_missing_one():
    data = workbook({"Kontak": KONTAK, "VIP": [["WhatsApp"], ["0857 1234 5678"]]})
    contacts, summary = read_all(io.BytesIO(data), sheet="vip")
    assert ([c.phone for c in contacts], summary.sheet) == (["6285712345678"], "VIP")
    with pytest.raises(ContactImportError) as info:
        read_contacts(io.BytesIO(data), sheet="Lain")
    assert str(info.value) == "the workbook has no sheet 'Lain' (sheets: 'Kontak', 'VIP')"


def test_xlsx_from_an_unseekable_upload_is_spooled():
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            chunk = self._data.read(min(len(buffer), 1000))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    contacts, _ = read_all(io.BufferedReader(Pipe(workbook({"Kontak": KONTAK}))))
    assert len(contacts) == 3


def test_an_empty_sheet_is_refused():
    with pytest.raises(ContactImportError, match="the sheet 'Kosong' is empty"):
        read_contacts(io.BytesIO(workbook({"Kosong": []})))


def test_ods_number_cell_keeps_every_digit_though_it_shows_e_notation():
    """An .ods as LibreOffice stores it (`tests/contact_files.py`)."""
    contacts, summary = read_all(io.BytesIO(daftar_ods()))
    assert contacts == [Contact(2, "6281234567890", {"nama": "Budi", "name": "Budi"})]
    assert (summary.format, summary.sheet) == ("ods", "Daftar")


@pytest.mark.parametrize(
    "value,text",
    [
        (6281234567890.0, "6281234567890"),
        (2.5, "2.5"),
        (True, "TRUE"),
        (datetime.datetime(2026, 1, 15, 9, 30), "2026-01-15 09:30:00"),
        (datetime.datetime(2026, 1, 15), "2026-01-15"),
        (datetime.time(9, 30), "09:30:00"),
        (None, ""),
        (1e20, "1e+20"),
    ],
)
def test_cell_text(value, text):
    assert cell_text(value) == text
