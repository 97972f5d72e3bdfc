"""Deadline commands: /priority, /extend, /complex, /due, /overdue (parse, call the workflow)."""

from __future__ import annotations

import re
from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot.app_context import AppContext
from bot.workflow import Actor
from bot.workflow import deadlines as steps
from handlers.common import answer, numbered, run_step

_DAYS = re.compile(r"^(\d{1,3})(?:天|日|个?工作日|wd)?$", re.IGNORECASE)


def _first_word(text: str) -> tuple[str, str]:
    parts = text.split(maxsplit=1)
    return (parts[0], parts[1].strip()) if len(parts) == 2 else (parts[0] if parts else "", "")


async def priority(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/priority N urgent|ordinary|complex [reason]`` (supervisors)."""

    async def step(s: AppContext, actor: Actor) -> None:
        item_id, rest = await numbered(s, actor, update, "usage.priority")
        if item_id is None:
            return
        value, reason = _first_word(rest)
        if not value:
            await answer(s, actor, "usage.priority")
            return
        await s.act(steps.set_priority, s.workflow, item_id, actor, value, s.now(), reason or None)

    await run_step(update, context, step)


async def extend(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/extend N days reason`` (the holder)."""

    async def step(s: AppContext, actor: Actor) -> None:
        item_id, rest = await numbered(s, actor, update, "usage.extend")
        if item_id is None:
            return
        value, reason = _first_word(rest)
        match = _DAYS.match(value)
        if match is None:
            if value:
                await answer(s, actor, "refuse.bad_days", value=value[:30])
            await answer(s, actor, "usage.extend")
            return
        await s.act(steps.request_extension, s.workflow, item_id, actor, int(match.group(1)), reason, s.now())

    await run_step(update, context, step)


async def complex_(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/complex N reason`` (the holder, or a supervisor)."""

    async def step(s: AppContext, actor: Actor) -> None:
        item_id, reason = await numbered(s, actor, update, "usage.complex")
        if item_id is None:
            return
        await s.act(steps.mark_complex, s.workflow, item_id, actor, reason, s.now())

    await run_step(update, context, step)


async def due(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    async def step(s: AppContext, actor: Actor) -> None:
        await s.act(steps.list_due, s.workflow, actor, s.now())

    await run_step(update, context, step)


async def overdue(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    async def step(s: AppContext, actor: Actor) -> None:
        await s.act(steps.list_overdue, s.workflow, actor, s.now())

    await run_step(update, context, step)


# (command, handler) pairs, registered by handlers/__init__.py; menu text is ``menu.<command>_plain``
COMMANDS: tuple[tuple[str, Any], ...] = (
    ("priority", priority),
    ("complex", complex_),
    ("extend", extend),
    ("due", due),
    ("overdue", overdue),
)
