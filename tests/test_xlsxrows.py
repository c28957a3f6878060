"""The streaming `.xlsx` reader (`broadcaster/_xlsxrows.py`) used for big worksheets.

Two kinds of proof: the same workbook read by it and by python-calamine (the reader of small
sheets) gives the same text in every cell; and packages written here part by part, as the
standard lays them out (ECMA-376 Part 1: §18.2 workbook, §18.3.1.4 `c`, §18.4 shared strings,
§18.8.30 number formats) with the variations real producers use, give the cells expected.
"""

import datetime
import io
import zipfile

import openpyxl
import pytest
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont

from broadcaster._xlsxcells import Strings
from broadcaster._xlsxrows import XlsxPackage, _format_kind
from broadcaster.contacts import read_contacts
from broadcaster.errors import ContactImportError
from broadcaster.workbooks import read_workbook

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"


def rows_of(data: bytes, *, streamed: bool, sheet: str | None = None) -> list:
    table = read_workbook(io.BytesIO(data), "xlsx", sheet=sheet,
                          max_sheet_bytes=0 if streamed else 1 << 30)  # fmt: skip
    try:
        return [(table.first_line, table.first), *table.rows]
    finally:
        table.close()


def trimmed(cells: list[str]) -> list[str]:
    while cells and not cells[-1]:
        cells = cells[:-1]
    return cells


def test_the_same_cells_as_calamine_reads_them():
    """openpyxl's ordinary mode writes text as shared strings, as Excel does."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Kontak"
    sheet.append(["Nama", "HP", "Saldo", "Lahir", "Jam", "Aktif", "Catatan"])
    sheet.append(["Budi", 6281234567890, 1500000.5, datetime.date(1990, 1, 2),
                  datetime.time(9, 30), True, "'0812 3456 7890"])  # fmt: skip
    rich = CellRichText(["tebal ", TextBlock(InlineFont(b=True), "sekali")])
    sheet.append(["Siti", "0813 1111 2222", -2.25, datetime.datetime(2026, 1, 15, 9, 30, 15),
                  None, False, rich])  # fmt: skip
    sheet.append([])
    sheet.append(["Agus", 81311113333.0, 1e20, None, None, None, "=A2"])
    sheet["J7"] = "jauh di kanan"  # a sparse cell, rows apart
    out = io.BytesIO()
    book.save(out)
    data = out.getvalue()
    streamed = [(n, trimmed(cells)) for n, cells in rows_of(data, streamed=True)]
    whole = [(n, trimmed(cells)) for n, cells in rows_of(data, streamed=False) if any(cells)]
    assert streamed == whole  # calamine pads every row to the sheet's width; `=A2` has no value
    assert streamed[1] == (2, ["Budi", "6281234567890", "1500000.5", "1990-01-02", "09:30:00",
                               "TRUE", "'0812 3456 7890"])  # fmt: skip
    assert streamed[2][1][3:] == ["2026-01-15 09:30:15", "", "FALSE", "tebal sekali"]
    assert streamed[-1] == (7, ["", "", "", "", "", "", "", "", "", "jauh di kanan"])


def package(sheets: dict[str, str], *, workbook: str, rels: str, **parts: str) -> bytes:
    """A package of the parts given (paths under xl/), with the content types Excel writes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr("xl/_rels/workbook.xml.rels", rels)
        for path, xml in {**sheets, **parts}.items():
            archive.writestr(path, xml)
    return out.getvalue()


#: A workbook in the 1904 date system with a hidden first sheet, a chart sheet (no cells),
#: prefixed elements as the Open XML SDK writes them, and an absolute relationship target.
WORKBOOK_1904 = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<x:workbook xmlns:x="{MAIN}" xmlns:r="{REL}"><x:workbookPr date1904="1"/><x:sheets>
<x:sheet name="Lama" sheetId="1" state="hidden" r:id="rId1"/>
<x:sheet name="Grafik" sheetId="2" r:id="rId2"/>
<x:sheet name="Kontak" sheetId="3" r:id="rId3"/></x:sheets></x:workbook>"""
RELS_1904 = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="{PKG}">
<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="{REL}/chartsheet" Target="chartsheets/sheet1.xml"/>
<Relationship Id="rId3" Type="{REL}/worksheet" Target="/xl/worksheets/sheet2.xml"/>
<Relationship Id="rId4" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>
<Relationship Id="rId5" Type="{REL}/styles" Target="styles.xml"/></Relationships>"""
#: Rich text runs, a phonetic run (left out), preserved spaces.
STRINGS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<x:sst xmlns:x="{MAIN}" count="4" uniqueCount="4"><x:si><x:t>Nama</x:t></x:si>
<x:si><x:t>No HP</x:t></x:si>
<x:si><x:r><x:rPr><x:b/></x:rPr><x:t>Budi</x:t></x:r><x:r><x:t xml:space="preserve"> Santoso</x:t>
</x:r><x:rPh sb="0" eb="4"><x:t>ブディ</x:t></x:rPh></x:si>
<x:si><x:t>0813 1111 2222</x:t></x:si></x:sst>"""
#: Style 1: a custom day-first date; 2: elapsed hours; 3: Excel's built-in 14 (a date).
STYLES = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<x:styleSheet xmlns:x="{MAIN}"><x:numFmts count="2">
<x:numFmt numFmtId="164" formatCode="dd/mm/yyyy"/><x:numFmt numFmtId="165" formatCode="[h]:mm"/>
</x:numFmts><x:cellXfs count="4"><x:xf numFmtId="0"/><x:xf numFmtId="164"/>
<x:xf numFmtId="165"/><x:xf numFmtId="14"/></x:cellXfs></x:styleSheet>"""
SHEET = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<x:worksheet xmlns:x="{MAIN}"><x:dimension ref="A1"/><x:sheetData>
<x:row r="2"><x:c r="A2" t="s"><x:v>0</x:v></x:c><x:c r="B2" t="s"><x:v>1</x:v></x:c>
<x:c r="C2" t="inlineStr"><x:is><x:t>Lahir</x:t></x:is></x:c><x:c r="D2" t="str">
<x:f>"Ja"&amp;"m"</x:f><x:v>Jam</x:v></x:c></x:row>
<x:row><x:c t="s"><x:v>2</x:v></x:c><x:c><x:v>6.2812345678899998E+12</x:v></x:c>
<x:c s="1"><x:v>31777</x:v></x:c><x:c s="2"><x:v>0.39583333333333331</x:v></x:c></x:row>
<x:row r="5" spans="1:4"><x:c r="A5" t="e"><x:v>#N/A</x:v></x:c><x:c r="B5" t="s"><x:v>3</x:v>
</x:c><x:c r="C5" t="d"><x:v>2026-01-15T00:00:00</x:v></x:c><x:c r="D5" t="b"><x:v>1</x:v>
</x:c></x:row><x:row r="6"/><x:row r="7"><x:c r="C7" s="3"><x:v>0</x:v></x:c></x:row>
</x:sheetData></x:worksheet>"""


def workbook_1904() -> bytes:
    return package(
        {"xl/worksheets/sheet1.xml": "<worksheet/>", "xl/worksheets/sheet2.xml": SHEET},
        workbook=WORKBOOK_1904, rels=RELS_1904,
        **{"xl/sharedStrings.xml": STRINGS, "xl/styles.xml": STYLES},
    )  # fmt: skip


def test_a_package_as_the_standard_lays_it_out():
    book = XlsxPackage(io.BytesIO(workbook_1904()))
    assert [(w.name, w.visible, w.path) for w in book.worksheets] == [
        ("Lama", False, "xl/worksheets/sheet1.xml"),
        ("Kontak", True, "xl/worksheets/sheet2.xml"),
    ]
    assert list(book.rows("xl/worksheets/sheet2.xml")) == [
        (2, ["Nama", "No HP", "Lahir", "Jam"]),
        (3, ["Budi Santoso", "6281234567890", "1991-01-01", "09:30:00"]),  # 1904 dates
        (5, ["#N/A", "0813 1111 2222", "2026-01-15", "TRUE"]),
        (7, ["", "", "1904-01-01"]),
    ]
    book.close()


def test_read_contacts_streams_the_first_visible_sheet():
    table = read_workbook(io.BytesIO(workbook_1904()), "xlsx", max_sheet_bytes=0)
    assert (table.sheet, table.sheets, table.first_line) == ("Kontak", ["Lama", "Kontak"], 2)
    table.close()


def test_a_broken_sheet_is_a_contact_import_error():
    out = io.BytesIO()  # the same package, its sheet cut short
    with (
        zipfile.ZipFile(io.BytesIO(workbook_1904())) as source,
        zipfile.ZipFile(out, "w") as archive,
    ):
        for info in source.infolist():
            data = source.read(info)
            archive.writestr(info, data[: len(data) // 2] if info.filename.endswith("2.xml")
                             else data)  # fmt: skip
    with pytest.raises(ContactImportError, match="this xlsx workbook cannot be read"):
        rows_of(out.getvalue(), streamed=True)


def test_a_workbook_without_its_workbook_part_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("xl/worksheets/sheet1.xml", SHEET)
    with pytest.raises(ContactImportError, match="this xlsx workbook cannot be read"):
        XlsxPackage(io.BytesIO(out.getvalue()))


@pytest.mark.parametrize(
    ("format_id", "code", "kind"),
    [
        (0, None, None),  # General
        (3, None, None),  # #,##0
        (14, None, "date"),
        (22, None, "date"),  # m/d/yy h:mm
        (20, None, "time"),  # h:mm
        (46, None, "time"),  # [h]:mm:ss
        (164, "dd/mm/yyyy", "date"),
        (164, "[$-421]d mmmm yyyy", "date"),  # Indonesian long date
        (164, "h:mm AM/PM", "time"),
        (164, "[h]:mm", "time"),
        (164, '"Rp"#,##0.00', None),  # the quoted text has no date letter that counts
        (164, "[Red]#,##0;[Blue]-#,##0", None),
        (164, "0.00E+00", None),
        (164, "@", None),
    ],
)
def test_number_formats_that_show_dates(format_id, code, kind):
    codes = {} if code is None else {format_id: code}
    assert _format_kind(format_id, codes) == kind


def test_a_big_workbook_through_read_contacts_is_streamed(monkeypatch):
    monkeypatch.setattr("broadcaster.workbooks.DEFAULT_MAX_SHEET_BYTES_IN_MEMORY", 0)
    monkeypatch.setattr("broadcaster._xlsxrows._BLOCK", 4096)  # rows come block by block
    book = openpyxl.Workbook()
    book.active.append(["phone", "name"])
    for n in range(2000):
        book.active.append([6281234500000 + n, f"N{n}"])
    out = io.BytesIO()
    book.save(out)
    with read_contacts(io.BytesIO(out.getvalue())) as contacts:
        found = [(c.line, c.phone, c.variables["name"]) for c in contacts]
    assert found[0] == (2, "6281234500000", "N0") and found[-1] == (2001, "6281234501999", "N1999")
    assert len(found) == 2000


def test_shared_strings_are_found_across_blocks():
    strings = Strings()
    texts = [f"nama {n}" * (n % 3) for n in range(10_000)]  # some empty
    for text in texts:
        strings.add(text)
    strings.freeze()
    assert [strings[n] for n in range(10_000)] == texts
