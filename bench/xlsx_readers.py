"""Which library reads contact workbooks: seconds and peak RSS per reader on one `.xlsx`.

    python -m bench.xlsx_readers                 # 100,000 rows, every reader
    python -m bench.xlsx_readers --rows 1000000 --readers openpyxl
    python -m bench.xlsx_readers --rows 100000 --readers import  # read_contacts itself
    python -m bench.xlsx_readers --rows 1000000 --shared-strings  # text as Excel stores it

The workbook has one sheet of contacts as exports have them: a header, then a phone (half
stored as numbers, half as text), a name and a city per row. It is written once with
openpyxl's write-only mode and kept in the temp directory. Each reader runs in a fresh
process, so its peak RSS (`VmHWM`, interpreter and imports included) is its own; the
baseline row is that process without reading anything.
"""

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.import_contacts import CITIES, NAMES, peak_rss_mb

READERS = ("baseline", "calamine", "openpyxl", "stream", "import")


def contacts(rows: int) -> Iterator[tuple[int | str, str, str]]:
    """The rows of the workbook: phone (a number or a text every other row), name, city."""
    rng = random.Random(1)
    for n in range(rows):
        digits = f"8{rng.choice('1235789')}{n:09d}"
        phone: int | str = int("62" + digits) if n % 2 else "0" + digits
        yield phone, f"{rng.choice(NAMES)} {n}", rng.choice(CITIES)


def workbook(rows: int, *, shared_strings: bool = False) -> Path:
    """The generated workbook with `rows` contacts (made once, kept in the temp dir).

    openpyxl's write-only mode stores text in the cells (`inlineStr`); Excel keeps every text
    in the shared strings part instead, which a reader holds in memory: `shared_strings`
    writes the same rows that way.
    """
    stem = f"broadcaster-bench-{rows}" + ("-sst" if shared_strings else "")
    path = Path(tempfile.gettempdir()) / f"{stem}.xlsx"
    if path.exists():
        return path
    if shared_strings:
        tmp = path.with_suffix(".part.xlsx")
        _write_shared_strings(tmp, rows)
        tmp.replace(path)
        return path
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Contacts")
    sheet.append(["phone", "name", "city"])
    for row in contacts(rows):
        sheet.append(list(row))
    tmp = path.with_suffix(".part.xlsx")
    book.save(tmp)
    tmp.replace(path)
    return path


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
#: The parts of a package as Excel writes them (ECMA-376 Part 1 and Part 2), but the sheet.
_PARTS = {
    "[Content_Types].xml": f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="{_PKG}/content-types"><Default Extension="rels"
ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml"
ContentType="application/xml"/><Override PartName="/xl/workbook.xml"
ContentType="{_TYPE}.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml"
ContentType="{_TYPE}.worksheet+xml"/><Override PartName="/xl/styles.xml"
ContentType="{_TYPE}.styles+xml"/><Override PartName="/xl/sharedStrings.xml"
ContentType="{_TYPE}.sharedStrings+xml"/></Types>""",
    "_rels/.rels": f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="{_PKG}/relationships"><Relationship Id="rId1"
Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>""",
    "xl/workbook.xml": f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets><sheet name="Contacts" sheetId="1"
r:id="rId1"/></sheets></workbook>""",
    "xl/_rels/workbook.xml.rels": f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="{_PKG}/relationships"><Relationship Id="rId1" Type="{_REL}/worksheet"
Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{_REL}/styles"
Target="styles.xml"/><Relationship Id="rId3" Type="{_REL}/sharedStrings"
Target="sharedStrings.xml"/></Relationships>""",
    "xl/styles.xml": f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="{_MAIN}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font>
</fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills><borders
count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0"
borderId="0"/></cellStyleXfs><cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0"
borderId="0" xfId="0"/></cellXfs></styleSheet>""",
}


def _write_shared_strings(path: Path, rows: int) -> None:
    """The rows as Excel saves them: numbers in the cells, every text a shared string."""
    import zipfile
    from xml.sax.saxutils import escape

    strings: dict[str, int] = {}  # each text once, as Excel keeps them (uniqueCount)
    count = 0

    def shared(text: str) -> str:
        nonlocal count
        count += 1
        return f't="s"><v>{strings.setdefault(text, len(strings))}</v>'

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in _PARTS.items():
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                        f'<worksheet xmlns="{_MAIN}"><sheetData>'.encode())  # fmt: skip
            table = [("phone", "name", "city"), *contacts(rows)]
            for n, row in enumerate(table, 1):
                cells = "".join(
                    f'<c r="{col}{n}" '
                    + (f"><v>{v}</v>" if isinstance(v, int) else shared(v))
                    + "</c>"
                    for col, v in zip("ABC", row, strict=True)
                )
                sheet.write(f'<row r="{n}">{cells}</row>'.encode())
            sheet.write(b"</sheetData></worksheet>")
        with archive.open("xl/sharedStrings.xml", "w") as out:
            out.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst '
                      f'xmlns="{_MAIN}" count="{count}" uniqueCount="{len(strings)}">'
                      .encode())  # fmt: skip
            for text in strings:
                out.write(f"<si><t>{escape(text)}</t></si>".encode())
            out.write(b"</sst>")


def _calamine(path: Path) -> Iterator[list[Any]]:
    from python_calamine import CalamineWorkbook

    with CalamineWorkbook.from_path(str(path)) as book:
        yield from book.get_sheet_by_index(0).iter_rows()


def _openpyxl(path: Path) -> Iterator[tuple[Any, ...]]:
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        yield from book.worksheets[0].iter_rows(values_only=True)
    finally:
        book.close()


def _stream(path: Path) -> Iterator[list[str]]:
    """The project's own streaming reader (`broadcaster/_xlsxrows.py`): cells come as text."""
    from broadcaster._xlsxrows import XlsxPackage

    with path.open("rb") as stream:
        package = XlsxPackage(stream)
        try:
            for _, cells in package.rows(package.worksheets[0].path):
                yield cells
        finally:
            package.close()


def _text(value: object) -> str:
    """A cell as the importer needs it: whole numbers as digits, the rest as str."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def measure(reader: str, path: Path) -> dict[str, Any]:
    """In the child process: read every row of `path` with `reader`."""
    rows: Callable[[Path], Iterator[Any]] | None = {
        "calamine": _calamine,
        "openpyxl": _openpyxl,
        "stream": _stream,
    }.get(reader)
    t0, c0 = time.perf_counter(), time.process_time()
    count = 0
    if rows is not None:
        for row in rows(path):
            count += bool([_text(v) for v in row])
    elif reader == "import":
        from broadcaster.contacts import read_contacts

        with read_contacts(path) as contacts:
            count = sum(1 for _ in contacts)
    return {
        "reader": reader,
        "rows": count,
        "wall_s": round(time.perf_counter() - t0, 2),
        "cpu_s": round(time.process_time() - c0, 2),
        "peak_rss_mb": round(peak_rss_mb()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--readers", default=",".join(READERS))
    parser.add_argument(
        "--shared-strings", action="store_true", help="text as Excel stores it (default: inline)"
    )
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], Path(args.child[1]))))
        return
    t0 = time.perf_counter()
    path = workbook(args.rows, shared_strings=args.shared_strings)
    size = path.stat().st_size / 1e6
    print(f"{args.rows:,} rows, {size:.1f} MB ({time.perf_counter() - t0:.0f} s to make or find)")
    for reader in args.readers.split(","):
        command = [sys.executable, "-m", "bench.xlsx_readers", "--child", reader, str(path)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        figures = json.loads(done.stdout.splitlines()[-1])
        print(
            f"{reader:9} {figures['rows']:>9,} rows  {figures['wall_s']:6.2f} s wall"
            f"  {figures['cpu_s']:6.2f} s CPU  peak RSS {figures['peak_rss_mb']:4} MB"
        )


if __name__ == "__main__":
    main()
