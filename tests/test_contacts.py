import io
import zipfile
from pathlib import Path

import pytest

from broadcaster.contacts import (
    DEFAULT_MAX_COLUMNS,
    DEFAULT_MAX_LINE_CHARS,
    Contact,
    ContactImport,
    ImportSummary,
    RowError,
    read_contacts,
)
from broadcaster.errors import ContactImportError, NoPhoneColumn

DATA = Path(__file__).parent / "data" / "contacts"

RENE = Contact(2, "6281234567890", {"name": "René Müller", "city": "Jakarta"})
SITI = Contact(3, "6281311112222", {"name": "Siti Nurhaliza", "city": "Bandung"})


def read_all(source, **options) -> tuple[list[Contact], ImportSummary]:
    with read_contacts(source, **options) as contacts:
        found = list(contacts)
    return found, contacts.summary


def csv_bytes(text: str, encoding: str = "utf-8") -> io.BytesIO:
    return io.BytesIO(text.encode(encoding))


# --- encodings and delimiters ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name,encoding",
    [("utf8.csv", "utf-8"), ("utf8_bom.csv", "utf-8-sig"), ("cp1252.csv", "cp1252")],
)
def test_read_contacts_detects_the_encoding(name, encoding):
    contacts, summary = read_all(DATA / name)
    assert contacts == [RENE, SITI]
    assert summary.encoding == encoding
    assert summary.columns == ["name", "phone", "city"]
    assert summary.mixed_encoding_lines == 0


def test_read_contacts_reads_utf16_with_bom():
    data = "name\tphone\nRené\t0812 3456 7890\n".encode("utf-16")
    contacts, summary = read_all(io.BytesIO(data))
    assert summary.encoding == "utf-16"
    assert contacts == [Contact(2, "6281234567890", {"name": "René"})]


def test_read_contacts_finds_cp1252_after_the_sample():
    rows = "name,phone\n" + "".join(f"A{n},08123{n:06d}\n" for n in range(8000))
    data = rows.encode() + "Zoë,0813 1111 2222\n".encode("cp1252")
    assert len(data) > 64 * 1024
    contacts, summary = read_all(io.BytesIO(data))
    assert summary.encoding == "utf-8"
    assert contacts[-1] == Contact(8002, "6281311112222", {"name": "Zoë"})
    assert summary.mixed_encoding_lines == 1
    assert summary.rejected == 0


@pytest.mark.parametrize(
    "text,delimiter",
    [
        ("name,phone,city\nBudi,08123456789,Medan\n", ","),
        ("name;phone;city\nBudi;08123456789;Medan\n", ";"),
        ("name\tphone\tcity\nBudi\t08123456789\tMedan\n", "\t"),
        ('"a,b";phone;city\nBudi;08123456789;Medan\n', ";"),  # commas inside quotes ignored
        ("sep=;\nname;phone;city\nBudi;08123456789;Medan\n", ";"),  # Excel's hint line
    ],
)
def test_read_contacts_sniffs_the_delimiter(text, delimiter):
    contacts, summary = read_all(csv_bytes(text))
    assert summary.delimiter == delimiter
    assert [c.phone for c in contacts] == ["628123456789"]
    assert contacts[0].variables["city"] == "Medan"


def test_read_contacts_reads_excel_semicolon_export_with_sep_line():
    contacts, summary = read_all(DATA / "excel_semicolon.csv")
    assert (summary.encoding, summary.delimiter, summary.phone_column) == ("cp1252", ";", "No HP")
    assert contacts == [
        Contact(
            3, "6281234567890", {"Nama": "René Müller", "Kota": "Jakarta", "name": "René Müller"}
        ),
        Contact(
            4,
            "628131111222",
            {"Nama": "Siti Nurhaliza", "Kota": "Bandung", "name": "Siti Nurhaliza"},
        ),
    ]


def test_read_contacts_reads_tab_separated_with_whatsapp_column():
    contacts, summary = read_all(DATA / "tab.tsv")
    assert summary.phone_column == "WhatsApp"
    assert [c.variables for c in contacts] == [
        {"Name": "Budi", "City": "Medan", "name": "Budi"},
        {"Name": "Siti", "City": "Bandung", "name": "Siti"},
    ]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_read_contacts_counts_lines_with_any_line_ending(newline):
    text = newline.join(["name,phone", "A,08123456789", "", "B,08131111222", ""])
    contacts, _ = read_all(csv_bytes(text))
    assert [c.line for c in contacts] == [2, 4]


# --- a messy real-world export ----------------------------------------------------------------


def test_read_contacts_keeps_good_rows_and_reports_bad_ones_with_line_numbers():
    contacts, summary = read_all(DATA / "messy_export.csv")
    assert [(c.line, c.phone) for c in contacts] == [
        (2, "6281234567890"),
        (3, "6281311112222"),
        (12, "628571234567"),
        (14, "6281377778888"),  # a short row: its Note is missing, its phone is there
        (16, "6281399990000"),
    ]
    assert contacts[0].variables == {
        "Name": "Budi, S.Kom",
        "Note": 'likes "quotes"',
        "name": "Budi, S.Kom",
    }
    assert contacts[1].variables["Note"] == "ok"
    assert contacts[3].variables == {"Name": "Short", "Note": "", "name": "Short"}
    assert [(e.line, e.reason) for e in summary.errors] == [
        (6, "invalid phone '0812': not a valid mobile number (too short)"),
        (8, "invalid phone '(021) 555-1234': a landline, not a mobile number"),
        (10, "empty phone"),
        (11, "invalid phone '6.28123E+11': Excel scientific notation lost digits: 6.28123E+11"),
        (13, "4 fields where the header has 3 (check quoting and delimiters)"),
    ]
    assert (summary.rows, summary.valid, summary.duplicates, summary.rejected) == (11, 5, 1, 5)
    assert summary.short_rows == 1
    assert summary.phone_column == "Phone Number"


def test_read_contacts_reports_the_line_where_a_multiline_record_starts():
    text = 'name,phone\n"one\ntwo\nthree",0812\n"x\ny",08123456789\nlast,0812\n'
    contacts, summary = read_all(csv_bytes(text))
    assert [c.line for c in contacts] == [5]
    assert [e.line for e in summary.errors] == [2, 7]


def test_row_error_str_names_the_line():
    assert str(RowError(7, "empty phone")) == "line 7: empty phone"


# --- header and phone column -----------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "phone",
        "phone_number",
        "number",
        "no_hp",
        "nomor",
        "hp",
        "whatsapp",
        "wa",
        "mobile",
        "Phone",
        "PHONE",
        "Phone Number",
        "phone-number",
        "No HP",
        "No. HP",
        "no hp",
        "Nomor",
        "WhatsApp",
        "WA",
        "  Mobile  ",
        "Nomor WA",
        "Telepon",
    ],
)
def test_read_contacts_finds_the_phone_column_by_alias(header):
    contacts, summary = read_all(csv_bytes(f"name,{header}\nBudi,08123456789\n"))
    assert summary.phone_column == header.strip()
    assert contacts == [Contact(2, "628123456789", {"name": "Budi"})]


@pytest.mark.parametrize(
    "header,chosen",
    [
        ("phone,whatsapp", "whatsapp"),
        ("Phone,Mobile", "Mobile"),
        ("number,phone", "phone"),
        ("No HP,No WA", "No WA"),
    ],
)
def test_read_contacts_prefers_the_most_specific_phone_column(header, chosen):
    _, summary = read_all(csv_bytes(f"{header}\n08123456789,08131111222\n"))
    assert summary.phone_column == chosen


@pytest.mark.parametrize("option", ["Kontak", "kontak", " KONTAK "])
def test_read_contacts_uses_an_explicit_phone_column(option):
    text = "phone,Kontak\n0000,08123456789\n"
    contacts, summary = read_all(csv_bytes(text), phone_column=option)
    assert summary.phone_column == "Kontak"
    assert contacts == [Contact(2, "628123456789", {"phone": "0000"})]


def test_read_contacts_names_the_columns_when_the_explicit_column_is_missing():
    with pytest.raises(ContactImportError) as info:
        read_contacts(csv_bytes("name,phone\nBudi,0812\n"), phone_column="telp")
    assert str(info.value) == "phone column 'telp' not found (columns: 'name', 'phone')"


def test_read_contacts_without_phone_column_names_the_columns_found():
    with pytest.raises(NoPhoneColumn) as info:
        read_contacts(csv_bytes("Nama;Kota;Catatan\nBudi;Medan;x\n"))
    assert info.value.columns == ["Nama", "Kota", "Catatan"]
    assert "'Nama', 'Kota', 'Catatan'" in str(info.value)


def test_read_contacts_refuses_a_header_with_the_same_column_twice():
    with pytest.raises(ContactImportError, match="'name' appears twice"):
        read_contacts(csv_bytes("name,phone,name\nA,08123456789,B\n"))


def test_read_contacts_ignores_unnamed_columns():
    contacts, summary = read_all(csv_bytes("phone,name,,\n08123456789,Budi,x,\n"))
    assert summary.columns == ["phone", "name", "", ""]
    assert contacts[0].variables == {"name": "Budi"}


# --- dedupe, suppression, variables, errors --------------------------------------------------


def test_read_contacts_counts_duplicates_in_any_form():
    text = "phone\n08123456789\n+62 812-3456-789\n628123456789\n8123456789\n08131111222\n"
    contacts, summary = read_all(csv_bytes(text))
    assert [c.phone for c in contacts] == ["628123456789", "628131111222"]
    assert (summary.rows, summary.valid, summary.duplicates, summary.rejected) == (5, 2, 3, 0)


def test_read_contacts_drops_suppressed_numbers():
    text = "phone,name\n08123456789,A\n0813 1111 2222,B\n08123456789,A again\n"
    contacts, summary = read_all(csv_bytes(text), suppressed={"628123456789"})
    assert contacts == [Contact(3, "6281311112222", {"name": "B"})]
    assert (summary.suppressed, summary.duplicates, summary.valid) == (1, 1, 1)
    assert summary.errors == []


def test_read_contacts_keeps_every_other_column_stripped():
    text = "First Name , phone , Kota,Promo Code\n  Budi ,08123456789,Medan , X1 \n"
    contacts, _ = read_all(csv_bytes(text))
    assert contacts[0].variables == {
        "First Name": "Budi",
        "Kota": "Medan",
        "Promo Code": "X1",
        "name": "Budi",  # built from First Name, for templates' {name}
    }


def test_read_contacts_keeps_the_first_errors_and_counts_all():
    text = "phone\n" + "0812\n" * 50 + "08123456789\n"
    contacts, summary = read_all(csv_bytes(text), max_row_errors=10)
    assert len(contacts) == 1
    assert summary.rejected == 50
    assert [e.line for e in summary.errors] == list(range(2, 12))


def test_summary_fills_in_as_contacts_are_consumed():
    contacts = read_contacts(csv_bytes("phone\n08123456789\n08131111222\n"))
    assert isinstance(contacts, ContactImport)
    assert contacts.columns == ["phone"]
    assert contacts.summary.rows == 0
    next(contacts)
    assert (contacts.summary.rows, contacts.summary.valid) == (1, 1)
    assert [c.line for c in contacts] == [3]
    assert contacts.summary.to_dict() == {
        "encoding": "utf-8",
        "delimiter": ",",
        "phone_column": "phone",
        "columns": ["phone"],
        "rows": 2,
        "valid": 2,
        "duplicates": 0,
        "suppressed": 0,
        "rejected": 0,
        "mixed_encoding_lines": 0,
        "errors": [],
        "format": "csv",
        "sheet": None,
        "sheets": [],
        "header": True,
        "short_rows": 0,
        "phone_columns": [{"column": "phone", "kind": "phone", "recipients": 2}],
        "name_columns": [],
        "explanation": "Phone from phone.",
    }


def test_summary_to_dict_lists_errors():
    _, summary = read_all(csv_bytes("phone\n0812\n"))
    assert summary.to_dict()["errors"] == [
        {"line": 2, "reason": "invalid phone '0812': not a valid mobile number (too short)"}
    ]


@pytest.mark.parametrize("region", ["XX", "Indonesia"])
def test_read_contacts_refuses_an_unknown_region(region):
    with pytest.raises(ValueError, match="unknown region"):
        read_contacts(csv_bytes("phone\n"), region=region)


def test_read_contacts_refuses_a_negative_error_limit():
    with pytest.raises(ValueError, match="max_row_errors"):
        read_contacts(csv_bytes("phone\n"), max_row_errors=-1)


def test_read_contacts_reads_local_numbers_of_another_region():
    contacts, _ = read_all(csv_bytes("phone\n07911 123456\n"), region="gb")
    assert [c.phone for c in contacts] == ["447911123456"]


# --- sources ---------------------------------------------------------------------------------


def test_read_contacts_accepts_a_path_string(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("phone\n08123456789\n")
    contacts, _ = read_all(str(path))
    assert len(contacts) == 1


@pytest.mark.parametrize("name", ["missing.csv", "."])
def test_read_contacts_says_when_a_path_cannot_be_opened(tmp_path, name):
    with pytest.raises(ContactImportError, match="cannot open"):
        read_contacts(tmp_path / name)


def test_read_contacts_refuses_an_async_file():
    class AsyncUpload:
        async def read(self, size: int = -1) -> bytes:
            return b""

    with pytest.raises(TypeError, match="blocking read"):
        read_contacts(AsyncUpload())  # type: ignore[arg-type]


def test_read_contacts_closes_the_file_it_opened():
    contacts = read_contacts(DATA / "utf8.csv")
    list(contacts)
    assert contacts._closer is not None and contacts._closer.closed


def test_read_contacts_leaves_a_given_file_open():
    stream = csv_bytes("phone\n08123456789\n")
    contacts, _ = read_all(stream)
    assert len(contacts) == 1
    assert not stream.closed


def test_read_contacts_reads_a_text_stream():
    contacts, summary = read_all(io.StringIO("name;phone\nRené;08123456789\n"))
    assert contacts == [Contact(2, "628123456789", {"name": "René"})]
    assert summary.delimiter == ";"


def test_read_contacts_reads_an_unseekable_stream():
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            chunk = self._data.read(min(len(buffer), 7))  # short reads, as a pipe gives
            buffer[: len(chunk)] = chunk
            return len(chunk)

    rows = "phone,name\n" + "".join(f"08123{n:06d},Nama {n}\n" for n in range(20000))
    contacts, summary = read_all(io.BufferedReader(Pipe(rows.encode()), 64))
    assert summary.valid == 20000
    assert contacts[-1] == Contact(20001, "628123019999", {"name": "Nama 19999"})


def test_read_contacts_accepts_dicts():
    recipients = [
        {"phone": "0812-3456-7890", "name": "Budi"},
        {"phone": 628131111222, "name": "Siti", "vip": True},
        {"phone": 6.28571234567e11, "name": None},
        {"phone": "0812", "name": "short"},
        {"name": "no phone"},
        {"phone": "+62 812 3456 7890", "name": "dup"},
        "08123456789",
    ]
    contacts, summary = read_all(recipients)
    assert contacts == [
        Contact(1, "6281234567890", {"name": "Budi"}),
        Contact(2, "628131111222", {"name": "Siti", "vip": "True"}),
        Contact(3, "628571234567", {"name": ""}),
    ]
    assert [(e.line, e.reason) for e in summary.errors] == [
        (4, "invalid phone '0812': not a valid mobile number (too short)"),
        (5, "empty phone"),
        (7, "not a mapping but str"),
    ]
    assert (summary.rows, summary.duplicates, summary.phone_column) == (7, 1, "phone")


def test_read_contacts_finds_the_phone_key_of_dicts_by_alias():
    contacts, summary = read_all(iter([{"Nama": "Budi", "No HP": "08123456789"}]))
    assert summary.phone_column == "No HP"
    assert contacts == [Contact(1, "628123456789", {"Nama": "Budi", "name": "Budi"})]


def test_read_contacts_of_no_dicts_is_empty():
    contacts, summary = read_all([])
    assert contacts == []
    assert summary.rows == 0


@pytest.mark.parametrize(
    "recipients,error",
    [
        ([{"name": "Budi"}], NoPhoneColumn),
        (["08123456789"], ContactImportError),
    ],
)
def test_read_contacts_refuses_dicts_without_phones(recipients, error):
    with pytest.raises(error):
        read_contacts(recipients)


# --- malformed files -------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"\n\n \r\n", b"\xef\xbb\xbf"])
def test_read_contacts_refuses_an_empty_file(data):
    with pytest.raises(ContactImportError, match="the file is empty"):
        read_contacts(io.BytesIO(data))


def test_read_contacts_of_a_header_only_gives_no_contacts():
    contacts, summary = read_all(csv_bytes("name,phone\n"))
    assert contacts == []
    assert (summary.rows, summary.columns) == (0, ["name", "phone"])


def test_read_contacts_refuses_binary_junk():
    junk = bytes(range(256)) * 64
    with pytest.raises(ContactImportError) as info:
        read_contacts(io.BytesIO(b"phone\n" + junk))
    assert str(info.value) == "this does not look like a CSV file (binary content at byte 6)"


def test_read_contacts_refuses_a_zip_renamed_csv(tmp_path):
    path = tmp_path / "contacts.csv"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("sheet.csv", "phone\n08123456789\n")
    with pytest.raises(ContactImportError) as info:
        read_contacts(path)
    assert "does not look like a CSV file (it is a ZIP archive" in str(info.value)


def test_read_contacts_reports_a_few_nul_bytes_as_row_errors():
    contacts, summary = read_all(io.BytesIO(b"phone\n08\x00123456789\n08131111222\n"))
    assert summary.errors == [RowError(2, "binary content (NUL bytes)")]
    assert [c.line for c in contacts] == [3]


def test_read_contacts_refuses_a_file_full_of_nul_bytes():
    with pytest.raises(ContactImportError, match="binary content at byte 6"):
        read_contacts(io.BytesIO(b"phone\n" + b"\x00" * 1000))


def test_read_contacts_refuses_a_header_with_nul_bytes():
    with pytest.raises(ContactImportError, match="line 1, the header: binary content"):
        read_contacts(io.BytesIO(b"ph\x00one\n08123456789\n"))


def test_read_contacts_refuses_utf16_with_a_broken_tail():
    data = "phone\n".encode("utf-16") + "08123456789\n".encode("utf-16-le") * 5000 + b"\x00\xd8"
    contacts = read_contacts(io.BytesIO(data))
    with pytest.raises(ContactImportError, match="is not valid utf-16") as info:
        list(contacts)
    assert "binary mode" not in str(info.value)


def test_read_contacts_reports_a_row_with_nul_bytes_after_the_sample():
    rows = "phone\n" + "".join(f"08123{n:06d}\n" for n in range(7000))
    data = rows.encode() + b"0813\x0011112222\n08131111333\n"
    contacts, summary = read_all(io.BytesIO(data))
    assert summary.errors == [RowError(7002, "binary content (NUL bytes)")]
    assert contacts[-1] == Contact(7003, "628131111333", {})


def test_read_contacts_tolerates_a_stray_control_character():
    contacts, _ = read_all(csv_bytes("phone,name\n08123456789,Bu\x0bdi\n\x1a"))
    assert contacts == [Contact(2, "628123456789", {"name": "Bu\x0bdi"})]


def test_read_contacts_refuses_a_10_mb_line(tmp_path):
    path = tmp_path / "long.csv"
    path.write_bytes(b"phone,name\n08123456789," + b"x" * 10_000_000 + b"\n")
    contacts = read_contacts(path)
    with pytest.raises(ContactImportError, match="line 2 is too long") as info:
        list(contacts)
    assert info.value.line == 2
    assert contacts._closer is not None and contacts._closer.closed


def test_read_contacts_refuses_a_10_mb_header(tmp_path):
    path = tmp_path / "long.csv"
    path.write_bytes(b"phone," + b"x" * 10_000_000)
    with pytest.raises(ContactImportError, match="line 1 is too long"):
        read_contacts(path)


def test_read_contacts_refuses_100k_columns():
    header = ",".join(["phone", *(f"c{n}" for n in range(100_000))])
    assert len(header) < DEFAULT_MAX_LINE_CHARS
    with pytest.raises(ContactImportError) as info:
        read_contacts(csv_bytes(header + "\n"))
    assert str(info.value) == "the header has 100,001 columns; at most 1,000 are allowed"


def test_read_contacts_allows_the_maximum_number_of_columns():
    header = ",".join(["phone", *(f"c{n}" for n in range(DEFAULT_MAX_COLUMNS - 1))])
    _, summary = read_all(csv_bytes(header + "\n"))
    assert len(summary.columns) == DEFAULT_MAX_COLUMNS


def test_read_contacts_refuses_a_huge_quoted_field():
    text = 'phone,name\n08123456789,"' + "x\n" * 100_000 + "\n"
    contacts = read_contacts(csv_bytes(text))
    with pytest.raises(ContactImportError, match="line 2: a field is longer than"):
        list(contacts)


def test_read_contacts_reports_a_quote_never_closed():
    contacts, summary = read_all(csv_bytes('phone,name\n08123456789,A\n08131111222,"B\nC,D\n'))
    assert [c.line for c in contacts] == [2]
    assert [e.line for e in summary.errors] == [3]
    assert "never closed" in summary.errors[0].reason


def test_read_contacts_reports_bad_quoting_and_goes_on():
    contacts, summary = read_all(csv_bytes('phone,name\n08123456789,"A"x\n08131111222,B\n'))
    assert contacts == [Contact(3, "628131111222", {"name": "B"})]
    assert summary.errors == [RowError(2, "bad quoting (',' expected after '\"')")]


def test_read_contacts_decodes_mixed_encodings_line_by_line():
    data = (
        "name,phone\nRené,08123456789\n".encode()
        + "Zoë,08131111222\n".encode("cp1252")
        + b"Bad\x81,08571234567\n"
        + "Jürgen,08131111333\n".encode()
    )
    contacts, summary = read_all(io.BytesIO(data))
    assert [(c.line, c.variables["name"]) for c in contacts] == [
        (2, "René"),
        (3, "Zoë"),
        (5, "Jürgen"),
    ]
    assert summary.errors == [RowError(4, "not valid UTF-8 or cp1252 text")]
    assert (summary.encoding, summary.mixed_encoding_lines) == ("cp1252", 2)


def test_read_contacts_counts_utf8_lines_in_a_cp1252_file():
    data = "name,phone\nRené,08123456789\n".encode("cp1252") + "Zoë,08131111222\n".encode()
    contacts, summary = read_all(io.BytesIO(data))
    assert summary.encoding == "cp1252"
    assert [c.variables["name"] for c in contacts] == ["René", "Zoë"]
    assert summary.mixed_encoding_lines == 1


def test_read_contacts_refuses_a_bad_header_line():
    with pytest.raises(ContactImportError, match="line 1, the header"):
        read_contacts(io.BytesIO(b"ph\x81\xc3one,name\n08123456789,A\n"))


def test_read_contacts_refuses_a_header_it_cannot_parse():
    with pytest.raises(ContactImportError, match="the header cannot be read"):
        read_contacts(csv_bytes('"name"x,phone\nBudi,08123456789\n'))


def test_read_contacts_reports_undecodable_text_streams():
    rows = "phone\n" + "08123456789\n" * 2000
    stream = io.TextIOWrapper(io.BytesIO(rows.encode() + b"\xff\n"), encoding="utf-8")
    contacts = read_contacts(stream)
    with pytest.raises(ContactImportError, match="is not valid utf-8") as info:
        list(contacts)
    assert "binary mode" in str(info.value)
