"""``liuyan sweep`` and ``liuyan digest``: one pass as of a given instant, then exit.

A deployment may run ``sweep`` from cron instead of the daemon's scheduler: the database records
what was queued and sent, so overlapping or repeated runs send nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import datetime
from pathlib import Path

from telegram import Bot

from bot.app_context import AppContext
from bot.config import Config
from bot.delivery.queue import pending_count
from bot.delivery.worker import DeliveryWorker
from scheduler.sweep import sweep

log = logging.getLogger(__name__)


async def deliver_pending(s: AppContext, timeout: float = 120.0) -> None:
    """Send what is queued, then return (used by one-shot commands). Nothing queued: the Bot API
    is not contacted at all, so a pass with nothing due succeeds while Telegram is out of reach."""
    if await s.db.run(pending_count) == 0:
        return
    cfg = s.config.telegram
    async with Bot(cfg.token, base_url=cfg.api_url) as bot:
        worker = DeliveryWorker(s.db, bot, desk_chat_id=s.config.desk.chat_id, poll_seconds=0.2,
                                forum_probe_seconds=None)  # one pass: no asking the chats about topics
        s.delivery = worker
        await worker.start()
        try:
            await worker.drain(timeout)
        finally:
            await worker.stop()
            s.delivery = None


async def run_sweep(config: Config, now: datetime | None, *, send: bool = True) -> int:
    s = AppContext.create(config)
    try:
        at = now or s.now()
        report = await s.act(sweep, s.workflow, at)
        print(f"sweep as of {at.astimezone(config.schedule.tz).isoformat()}: {report}")
        if send:
            await deliver_pending(s)
        return 0
    finally:
        s.db.dispose()


async def run_digest(config: Config, period: str, now: datetime | None, *, send: bool, out: str | None) -> int:
    from scheduler.digest import build_and_queue_digest

    s = AppContext.create(config)
    try:
        at = now or s.now()
        html = await s.db.run(build_and_queue_digest, s.workflow, period, at, send)
        if out:
            path = Path(out)
            try:
                path = await asyncio.to_thread(_write, path, html)
            except OSError as exc:
                print(f"liuyan digest: cannot write {path}: {exc.strerror}", file=sys.stderr)
                return 1
            print(f"wrote the {period} report to {path}")
        if send:
            await deliver_pending(s)
            print(f"sent the {period} report to the leaders' chat")
        if not out and not send:
            print(f"built the {period} report as of {at.astimezone(config.schedule.tz).isoformat()}; nothing was "
                  "written or sent: add --out FILE.html to keep it, --send to send it to the leaders' chat")
        return 0
    finally:
        s.db.dispose()


def _write(path: Path, html: str) -> Path:
    path.write_text(html, encoding="utf-8")
    return path.absolute()
