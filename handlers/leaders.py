"""Leaders' and supervisors' commands: ``/report weekly|monthly`` (the last whole week's roundup or
the last month's report, to the chat it was asked in)."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot.app_context import AppContext
from bot.reports.builder import KINDS
from bot.workflow import Actor
from bot.workflow.leaders import send_report
from handlers.common import answer, command_rest, run_step

_ALIASES = {"weekly": "weekly", "week": "weekly", "周": "weekly", "周报": "weekly",
            "monthly": "monthly", "month": "monthly", "月": "monthly", "月报": "monthly"}


async def report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    async def step(s: AppContext, actor: Actor) -> None:
        words = command_rest(update.effective_message.text).split()
        kind = _ALIASES.get(words[0].lower()) if len(words) == 1 else None
        if kind not in KINDS:
            await answer(s, actor, "usage.report")
            return
        await s.act(send_report, s.workflow, actor, kind, s.now())

    await run_step(update, context, step)


# (command, handler) pairs, registered by handlers/__init__.py; menu text is ``menu.<command>_plain``
COMMANDS: tuple[tuple[str, Any], ...] = (("report", report),)
