"""Which library reads contact workbooks: seconds and peak RSS per reader on one `.xlsx`.

    python -m bench.xlsx_readers                 # 100,000 rows, every reader
    python -m bench.xlsx_readers --rows 1000000 --readers openpyxl
    python -m bench.xlsx_readers --rows 100000 --readers import  # read_contacts itself

The workbook has one sheet of contacts as exports have them: a header, then a phone (half
stored as numbers, half as text), a name and a city per row. It is written once with
openpyxl's write-only mode and kept in the temp directory. Each reader runs in a fresh
process, so its peak RSS (`ru_maxrss`, interpreter and imports included) is its own; the
baseline row is that process without reading anything.
"""

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench.import_contacts import CITIES, NAMES

READERS = ("baseline", "calamine", "openpyxl", "import")


def workbook(rows: int) -> Path:
    """The generated workbook with `rows` contacts (made once, kept in the temp dir)."""
    import openpyxl

    path = Path(tempfile.gettempdir()) / f"broadcaster-bench-{rows}.xlsx"
    if path.exists():
        return path
    rng = random.Random(1)
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Contacts")
    sheet.append(["phone", "name", "city"])
    for n in range(rows):
        digits = f"8{rng.choice('1235789')}{n:09d}"
        phone: int | str = int("62" + digits) if n % 2 else "0" + digits
        sheet.append([phone, f"{rng.choice(NAMES)} {n}", rng.choice(CITIES)])
    tmp = path.with_suffix(".part.xlsx")
    book.save(tmp)
    tmp.replace(path)
    return path


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
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--readers", default=",".join(READERS))
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], Path(args.child[1]))))
        return
    t0 = time.perf_counter()
    path = workbook(args.rows)
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
