"""Rows 5 and 6: the reports over a large store, and the service's resident memory.

Row 5 is measured by :func:`tests.bench.reports.bench_reports` (the reports' own benchmark: it
loads the synthetic store and builds each report in a fresh child process); this module turns its
rows into the table's and keeps the store for row 6.

Row 6 reads the service's resident set from ``/proc/<pid>/status`` (VmRSS now, VmHWM the peak):
once idle on a fresh database, and once after the service itself has done the large run - started
on that store with its clock at the Monday 09:00 that is also the 1st of a month, so its
scheduler's start-up sweep builds and sends the weekly roundup and the monthly report (and
whatever reminders a store that size has due), exactly as in production on that morning.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

from tests.bench.common import LEADERS_CHAT, BenchEnv, Row
from tests.bench.reports import REPORT_AT, bench_reports

TARGET_SECONDS = 5.0
TARGET_MB = 300.0


def reports_rows(n: int, url: str) -> list[Row]:
    """Row 5 from the reports' benchmark, which loads ``n`` items into ``url`` (kept for row 6)."""
    raw = bench_reports(n, url)
    rows = []
    load = next((r for r in raw if r["name"].startswith("bulk load")), None)
    for label in ("weekly roundup", "monthly report"):
        first = next((r for r in raw if r["name"].startswith(label) and "service" in r["name"]), None)
        cold = next((r for r in raw if r["name"].startswith(label) and "cold" in r["name"]), None)
        warm = next((r for r in raw if r["name"].startswith(label) and "warm" in r["name"]), None)
        if first is None or cold is None or warm is None:
            continue
        peak = max(x for x in (first.get("rss_delta_mb"), warm.get("peak_mb"), 0.0) if x is not None)
        rows.append(Row(
            f"5. Reports: {label} over {n:,} stored items",
            f"**{first['seconds']:.2f} s** first in the running service, {warm['seconds']:.2f} s after "
            f"({cold['seconds']:.2f} s in a one-shot `liuyan digest` process, which loads its libraries first); "
            f"**peak {peak:.0f} MB** (resident growth {first.get('rss_delta_mb') or 0:.0f} MB, "
            f"Python allocations {warm.get('peak_mb') or 0:.0f} MB); {cold.get('note', '').split(';')[0]}",
            f"< {TARGET_SECONDS:g} s, < {TARGET_MB:g} MB",
            first["seconds"] < TARGET_SECONDS and peak < TARGET_MB,
            {"first": first, "cold": cold, "warm": warm, "load": load},
        ))
    return rows


IDLE_TARGET_MB = 150.0


async def idle_rss(db: str | None = None, settle: float = 2.0) -> dict[str, int]:
    """Resident set of the idle service: first started on a fresh database (which it migrates:
    alembic is loaded), then restarted on that database (current: alembic is not loaded), the
    steady state of a deployment. ``VmRSS``/``VmHWM`` are the restart's; ``fresh_*`` the first's."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="liuyan-memory-idle-") as kept:  # the database outlives the first run
        async with BenchEnv(db=db, name="memory-idle", folder=Path(kept)) as env:
            assert env.service is not None
            await asyncio.sleep(settle)  # let start-up garbage go before reading: a measurement pause
            fresh = env.service.memory_kb()
            url = env.db_url
        async with BenchEnv(existing_db=url, name="memory-idle-restart", folder=Path(kept)) as env:
            assert env.service is not None
            await asyncio.sleep(settle)
            again = env.service.memory_kb()
    return {**again, "fresh_VmRSS": fresh.get("VmRSS", 0), "fresh_VmHWM": fresh.get("VmHWM", 0)}


async def after_run_rss(store_url: str, timeout: float = 900.0) -> dict[str, Any]:
    """The service on the big store at the reports' instant: its memory once both reports are out."""
    at = (REPORT_AT + timedelta(seconds=5)).isoformat()
    async with BenchEnv(existing_db=store_url, enforce_limits=False, unpaced=True, at=at,
                        name="memory-after", start_timeout=timeout) as env:
        assert env.service is not None

        def documents(st: Any) -> int:
            return sum(1 for m in st.messages(LEADERS_CHAT) if m.kind == "document")

        try:
            await env.standin.wait_for(lambda st: documents(st) >= 2, timeout=timeout)
            done = True
        except TimeoutError:
            done = False
        took = time.monotonic() - env.spawned
        mem = env.service.memory_kb()
        sent = len(env.standin.all_messages())
    return {"kb": mem, "reports_out": done, "seconds": took, "messages": sent}


async def bench_memory(idle: dict[str, int], store_url: str, n: int, *, timeout: float = 900.0) -> Row:
    """``idle`` from :func:`idle_rss`, taken before the store was loaded (on PostgreSQL the
    fresh database of the idle service and the store are one database)."""
    idle_mb = idle.get("VmRSS", 0) / 1024
    fresh_mb = idle.get("fresh_VmRSS", 0) / 1024
    after = await after_run_rss(store_url, timeout)
    now_mb = after["kb"].get("VmRSS", 0) / 1024
    peak_mb = after["kb"].get("VmHWM", 0) / 1024
    late = "" if after["reports_out"] else " (the reports had not arrived when read)"
    return Row(
        f"6. Memory: service resident set, idle / after the {n:,}-item run",
        f"idle **{idle_mb:.0f} MB** (restarted on its database; {fresh_mb:.0f} MB at the first start on a fresh one, "
        f"which loads the migrations); after weekly + monthly reports over {n:,} items **{now_mb:.0f} MB** "
        f"(peak {peak_mb:.0f} MB; started, swept and both reports out in {after['seconds']:.0f} s){late}",
        f"idle ≤ {IDLE_TARGET_MB:.0f} MB",
        idle_mb <= IDLE_TARGET_MB,
        {"idle_kb": idle, "after": after},
    )
