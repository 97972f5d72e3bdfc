"""Which xlsx reader the import uses: openpyxl (read-only mode) against python-calamine.

    python -m tests.bench.spreadsheet                 # 10,000 rows
    python -m tests.bench.spreadsheet --rows 100000

Writes a workbook shaped like the platform's export (留言编号 as a number, 留言时间 as a real date,
real message texts where ../shared/data is present) with openpyxl, then reads every cell of it
with each reader, each in a fresh child process so that its peak resident memory (which includes
what a Rust reader allocates outside Python's heap) is its own. The last row times the whole import
read (reader, columns, row conversion and the intake's validation) as ``bot.platform`` does it.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = ROOT / ".." / "shared" / "data"
DATA_NAME = "messages_a_city_2017_2020.jsonl"
HEADERS = ("留言编号", "留言用户", "留言主题", "留言时间", "留言详情", "点赞数", "反对数")
READERS = ("openpyxl", "calamine", "bot.platform")


def _texts(data_dir: Path) -> list[tuple[str, str]]:
    """(title, body) pairs: the real messages when present, else generated ones."""
    data_file = data_dir / DATA_NAME
    if data_file.exists():
        with data_file.open(encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
        return [(r.get("title") or "", r["body"]) for r in rows]
    return [(f"关于第{i}号小区供暖问题", "小区供暖温度不达标，" * 20) for i in range(100)]


def write_workbook(path: Path, rows: int, data_dir: Path = DATA_DIR) -> bool:
    """The platform's export shape, written streaming (write-only workbook); True when the texts
    are the real messages."""
    from openpyxl import Workbook

    texts = _texts(data_dir)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("留言")
    sheet.append(list(HEADERS))
    start = datetime(2019, 1, 1, 8, 0, 0)
    for i in range(rows):
        title, body = texts[i % len(texts)]
        sheet.append([200000 + i, f"A{i:09d}", title, start + timedelta(minutes=37 * i), body, i % 50, i % 7])
    workbook.save(path)
    return (data_dir / DATA_NAME).exists()


def _read_openpyxl(path: Path) -> int:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    count = 0
    for _row in workbook.worksheets[0].iter_rows(values_only=True):
        count += 1
    workbook.close()
    return count


def _read_calamine(path: Path) -> int:
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(path))
    count = 0
    for _row in workbook.get_sheet_by_index(0).iter_rows():
        count += 1
    workbook.close()
    return count


def _read_platform(path: Path) -> int:
    from zoneinfo import ZoneInfo

    from bot.platform import read_messages

    count = 0
    for result in read_messages(path, ZoneInfo("Asia/Shanghai")):
        if hasattr(result, "reason"):
            raise SystemExit(f"unexpected bad row: {result}")
        count += 1
    return count + 1  # and the header row, to compare with the bare readers


def _peak_kib() -> int:
    """This process's peak resident memory. VmHWM, not ru_maxrss: on Linux ru_maxrss survives the
    exec and would report the parent's peak (the parent held the workbook it wrote)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _child(reader: str, path: Path) -> None:
    """Runs in the child: import, then read; report seconds and peak memory as JSON."""
    read = {"openpyxl": _read_openpyxl, "calamine": _read_calamine, "bot.platform": _read_platform}[reader]
    if reader == "openpyxl" or reader == "bot.platform":
        import openpyxl  # noqa: F401 - the library's own import is not the read
    if reader == "calamine" or reader == "bot.platform":
        import python_calamine  # noqa: F401
    if reader == "bot.platform":
        import bot.platform  # noqa: F401
    base_kib = _peak_kib()
    started = time.perf_counter()
    rows = read(path)
    seconds = time.perf_counter() - started
    peak_kib = _peak_kib()
    print(json.dumps({"rows": rows, "seconds": seconds, "base_kib": base_kib, "peak_kib": peak_kib}))


def measure(reader: str, path: Path) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "tests.bench.spreadsheet", "--child", reader, str(path)],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.spreadsheet", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--data", type=Path, default=DATA_DIR, help="folder of the real messages")
    parser.add_argument("--child", nargs=2, metavar=("READER", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child[0], Path(args.child[1]))
        return 0
    with tempfile.TemporaryDirectory(prefix="liuyan-sheet-") as tmp:
        path = Path(tmp) / "export.xlsx"
        started = time.perf_counter()
        real = write_workbook(path, args.rows, args.data)
        written = time.perf_counter() - started
        print(f"wrote {args.rows:,} rows of {'real' if real else 'generated'} messages "
              f"({path.stat().st_size / 2**20:.1f} MiB) with openpyxl in {written:.2f} s")
        print("| reader | rows read | seconds | peak RSS (MiB) | of which the read (MiB) |")
        print("|---|---:|---:|---:|---:|")
        for reader in READERS:
            got = measure(reader, path)
            if got["rows"] != args.rows + 1:
                print(f"{reader}: read {got['rows']} rows, expected {args.rows + 1}", file=sys.stderr)
                return 1
            print(f"| {reader} | {got['rows']:,} | {got['seconds']:.2f} | {got['peak_kib'] / 1024:.0f} | "
                  f"{(got['peak_kib'] - got['base_kib']) / 1024:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
