"""Time `read_contacts` on a generated CSV: rows per second and peak RSS.

    python bench/import_contacts.py            # 1,000,000 rows
    python bench/import_contacts.py --rows 100000 --keep

The file has a phone column in the forms real exports use (mostly `08...`, some `+62 8..`,
`62 8..`, `8..` with dashes), a name and a city. The CPU rate is steadier than the wall rate
on a busy machine. Peak RSS is the whole process's (`VmHWM`, see `peak_rss_mb`), so it
includes the interpreter and `phonenumbers`.
"""

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from broadcaster.contacts import read_contacts

DEFAULT_ROWS = 1_000_000
NAMES = ["Budi", "Siti", "Agus", "Dewi", "Rina", "Andi", "René", "Putri", "Joko", "Wati"]
CITIES = ["Jakarta", "Bandung", "Surabaya", "Medan", "Semarang", "Makassar", "Denpasar"]


def phone(rng: random.Random, n: int) -> str:
    """A unique Indonesian mobile number for row `n`, formatted one of several ways."""
    digits = f"8{rng.choice('1235789')}{n:09d}"
    form = n % 10
    if form < 6:
        return "0" + digits
    if form < 8:
        return f"+62 {digits[:3]}-{digits[3:7]}-{digits[7:]}"
    if form == 8:
        return "62" + digits
    return f"{digits[:3]}-{digits[3:7]}-{digits[7:]}"


def write_csv(path: Path, rows: int, seed: int = 1) -> None:
    """Write `rows` contacts (phone, name, city) to `path` as UTF-8."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("phone,name,city\n")
        for n in range(rows):
            name = f"{rng.choice(NAMES)} {n}"
            out.write(f'"{phone(rng, n)}",{name},{rng.choice(CITIES)}\n')


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB.

    Linux's `VmHWM`, not `ru_maxrss`: a process started by another reports in `ru_maxrss` at
    least the RSS its parent had when it was started (Linux keeps the larger of the two across
    `exec`), so a big benchmark runner would inflate the figures of the processes it starts.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main() -> None:
    """Generate the file, import it, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "contacts.csv"
        started = time.perf_counter()
        write_csv(path, args.rows)
        size = path.stat().st_size
        print(
            f"generated {args.rows:,} rows, {size / 1e6:.1f} MB "
            f"in {time.perf_counter() - started:.1f} s"
        )
        rss_before = peak_rss_mb()
        started, cpu_started = time.perf_counter(), time.process_time()
        with read_contacts(path) as contacts:
            count = sum(1 for _ in contacts)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        summary = contacts.summary
        print(
            f"imported {count:,} contacts ({summary.rows:,} rows, {summary.rejected} rejected,"
            f" {summary.duplicates} duplicates) in {elapsed:.2f} s"
        )
        print(
            f"rate: {summary.rows / elapsed:,.0f} rows/s wall,"
            f" {summary.rows / cpu:,.0f} rows/s CPU"
        )
        print(f"peak RSS: {peak_rss_mb():.0f} MB (before import: {rss_before:.0f} MB)")
        if args.keep:
            kept = Path.cwd() / "contacts-bench.csv"
            path.replace(kept)
            print(f"kept {kept}")


if __name__ == "__main__":
    main()
