"""``/export [YYYY-MM]``: the ledger as an xlsx document in this chat (whole or this region's)."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot.app_context import AppContext
from bot.workflow import Actor
from bot.workflow.exporting import build_ledger_file, send_ledger_file
from handlers.common import answer, command_rest, is_private, run_step

_MONTH = re.compile(r"^(\d{4})[-/.年](\d{1,2})月?$")


def parse_month(text: str) -> date | None:
    """``2026-10`` (also ``2026/10``, ``2026年10月``) as the month's first day; None if not one."""
    match = _MONTH.match(text.strip())
    if match is None or not 1 <= int(match[2]) <= 12:
        return None
    return date(int(match[1]), int(match[2]), 1)


async def export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    async def step(s: AppContext, actor: Actor) -> None:
        rest = command_rest(update.effective_message.text).strip()
        month = parse_month(rest) if rest else None
        if rest and month is None:
            await answer(s, actor, "usage.export")
            return
        now = s.now()
        ledger = await s.db.read(build_ledger_file, s.workflow, actor, month, now, private=is_private(update))
        await s.act(send_ledger_file, s.workflow, actor, ledger, now)

    await run_step(update, context, step)


# (command, handler) pairs, registered by handlers/__init__.py; menu text is ``menu.<command>_plain``
COMMANDS: tuple[tuple[str, Any], ...] = (("export", export),)
