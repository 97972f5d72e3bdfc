"""APScheduler drives time, the database keeps the truth.

One interval job runs :func:`scheduler.sweep.sweep` every ``schedule.tick_seconds``. The sweep is
idempotent (every reminder and digest it queues carries a dedupe key), so a missed tick, a restart
or a second process costs nothing: the next tick catches up, and nothing goes out twice.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app_context import AppContext
from scheduler.sweep import sweep

log = logging.getLogger(__name__)


async def tick(s: AppContext) -> None:
    try:
        report = await s.act(sweep, s.workflow, s.now())
        if report.queued:
            log.info("sweep queued %s", report)
    except Exception:  # noqa: BLE001 - the next tick tries again
        log.exception("sweep failed")


def start_scheduler(s: AppContext) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=s.config.schedule.tz)
    scheduler.add_job(tick, "interval", seconds=s.config.schedule.tick_seconds, args=[s], id="sweep",
                      max_instances=1, coalesce=True, misfire_grace_time=None, next_run_time=None)
    scheduler.start()
    # run one sweep at start-up too: after a stop, what fell due meanwhile goes out now
    scheduler.modify_job("sweep", next_run_time=_soon())
    return scheduler


def _soon():  # type: ignore[no-untyped-def]
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)
