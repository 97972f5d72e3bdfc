"""APScheduler drives time, the database keeps the truth.

One interval job runs :func:`scheduler.sweep.sweep` every ``schedule.tick_seconds``. The sweep is
idempotent (every reminder and digest it queues carries a dedupe key), so a missed tick, a restart
or a second process costs nothing: the next tick catches up, and nothing goes out twice.
"""

from __future__ import annotations

import logging
from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.app_context import AppContext
from scheduler.sweep import sweep
from storage.db import DatabaseUnavailable

log = logging.getLogger(__name__)


async def tick(s: AppContext) -> None:
    """One sweep; a failure is logged once with its trace, then one plain line while it lasts
    (a database outage at night should leave a readable log, not a trace a minute)."""
    failing = s.extras.get("sweep_failing")
    try:
        report = await s.act(sweep, s.workflow, s.now())
    except DatabaseUnavailable as exc:
        if failing is None:
            log.warning("sweep: the database does not answer (%s); retrying every tick", exc)
        s.extras["sweep_failing"] = "database"
        return
    except Exception as exc:
        if failing != repr(exc):
            log.exception("sweep failed")
        else:
            log.error("sweep failed again: %s", exc)
        s.extras["sweep_failing"] = repr(exc)
        return
    if failing is not None:
        log.info("sweep: working again")
        s.extras.pop("sweep_failing", None)
    s.health.note_sweep()
    log.info("sweep: %s", report, extra={"sweep": report.queued})


def start_scheduler(s: AppContext) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone=s.config.schedule.tz)
    scheduler.add_job(tick, "interval", seconds=s.config.schedule.tick_seconds, args=[s], id="sweep",
                      max_instances=1, coalesce=True, misfire_grace_time=None, next_run_time=None)
    scheduler.start()
    # run one sweep at start-up too: after a stop, what fell due meanwhile goes out now
    scheduler.modify_job("sweep", next_run_time=_soon())
    return scheduler


def _soon():  # type: ignore[no-untyped-def]
    from datetime import datetime

    return datetime.now(UTC)
