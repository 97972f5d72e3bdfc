"""The exchange with the platform: a history import of a workbook, and the changes feed.

- **History import**: a workbook shaped like the platform's export (``tests.bench.spreadsheet``)
  imported with ``python -m bot import FILE --history`` in a child process, as an office runs it
  (interpreter start and schema check included), against the bare read of the same file with
  ``bot.platform``'s reader in this process: the ratio says what storing costs beyond reading.
- **Changes feed**: a store of ``n`` items with one event each (bulk-loaded, as after a year's
  history import), paged through 1,000 at a time as the crawler does: each page is the feed query
  plus the items as the API shows them, serialised to JSON. The first, middle and last page times
  show whether a page's cost grows with the store (it must not: the query walks an index from the
  cursor).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.bench.common import ROOT, Row, bench_config, config_dict, fresh_database, to_toml

IMPORT_TARGET = 15.0
PAGE_TARGET = 0.100
PAGE = 1000


def bench_history_import(rows: int, db: str | None) -> Row:
    from bot.platform.readers import open_table
    from tests.bench.spreadsheet import write_workbook

    folder = Path(tempfile.mkdtemp(prefix="liuyan-bench-import-"))
    path = folder / "export.xlsx"
    write_workbook(path, rows)
    started = time.perf_counter()
    read = sum(1 for _ in open_table(path).rows)
    bare = time.perf_counter() - started
    url = fresh_database(db, folder, "import.db")
    conf = folder / "liuyan.toml"
    conf.write_text(to_toml(config_dict(url, "http://127.0.0.1:1/bot", 0)), encoding="utf-8")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "bot", "import", str(path), "--config", str(conf), "--history"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    took = time.perf_counter() - started
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr.strip()[-200:]
    ok = done.returncode == 0 and summary == f"imported {rows}, known 0, rejected 0" and read == rows
    result = (f"{rows:,} rows in **{took:.1f} s** ({rows / took:,.0f} rows/s, CLI start included); "
              f"bare read {bare:.2f} s, ratio {took / bare:.1f}×")
    if not ok:
        result += f"; unexpected: {summary}"
    return Row("8. History import (xlsx)", result, f"< {IMPORT_TARGET:.0f} s", ok and took < IMPORT_TARGET,
               {"rows": rows, "seconds": took, "bare_read": bare, "summary": summary})


def load_feed_store(url: str, n: int) -> None:
    """``n`` synthetic items and one ``received`` event each, bulk-inserted."""
    from storage.db import Database
    from storage.models import Event
    from tests.bench.reports import load

    load(url, n)
    db = Database(url)
    try:
        with db.engine.begin() as conn:
            ids = [r[0] for r in conn.exec_driver_sql("SELECT id FROM items ORDER BY id")]
        at = datetime.now(UTC)
        table = Event.__table__  # type: ignore[attr-defined]
        for start in range(0, len(ids), 20_000):
            with db.engine.begin() as conn:  # one transaction per chunk: distinct txids on PostgreSQL
                conn.execute(table.insert(), [
                    {"item_id": i, "at": at, "action": "received", "source": "bench", "detail": "{}"}
                    for i in ids[start:start + 20_000]])
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE" if db.is_sqlite else "ANALYZE events")
    finally:
        db.dispose()


def bench_feed(n: int, db: str | None) -> Row:
    from bot.app_context import AppContext
    from bot.web.intake import item_json
    from storage.feed import START, changes_page

    folder = Path(tempfile.mkdtemp(prefix="liuyan-bench-feed-"))
    url = fresh_database(db, folder, "feed.db")
    load_feed_store(url, n)
    s = AppContext.create(bench_config(url))
    try:
        times: list[float] = []
        cpu: list[float] = []
        seen = 0
        cursor = START
        while True:
            started, cpu_started = time.perf_counter(), time.process_time()
            page = s.db.call_read(changes_page, cursor, PAGE, None)
            now = s.now()
            body = json.dumps({"items": [item_json(s, it, now) for it in page.items], "next": str(page.next)},
                              ensure_ascii=False)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
            if not page.items:
                break
            seen += len(page.items)
            cursor = page.next
            del body
    finally:
        s.db.dispose()
    pages = times[:-1] or times  # the last poll is the empty "caught up" answer
    first, middle, last = pages[0], pages[len(pages) // 2], pages[-1]
    worst = max(pages)
    cpu_pages = cpu[:-1] or cpu
    ok = seen == n and worst < PAGE_TARGET
    result = (f"{n:,} items in {len(pages)} pages of {PAGE:,}: first **{first * 1000:.0f} ms**, middle "
              f"**{middle * 1000:.0f} ms**, last **{last * 1000:.0f} ms**, slowest {worst * 1000:.0f} ms "
              f"(CPU per page: median {sorted(cpu_pages)[len(cpu_pages) // 2] * 1000:.0f} ms, "
              f"max {max(cpu_pages) * 1000:.0f} ms); caught-up poll {times[-1] * 1000:.0f} ms")
    if seen != n:
        result += f"; saw {seen:,} items"
    detail: dict[str, Any] = {"items": n, "pages": [round(t * 1000, 1) for t in pages],
                              "cpu": [round(t * 1000, 1) for t in cpu_pages]}
    return Row("9. Changes feed paging", result, f"each page < {PAGE_TARGET * 1000:.0f} ms", ok, detail)
