"""Commands of 报前核查 and 回头看: ``/select N``, ``/verify N true|partly|false note`` and
``/followup N solved|ongoing note``. Parse, call the workflow, let it queue the answer."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import ContextTypes

from bot.app_context import AppContext
from bot.workflow import Actor
from bot.workflow.followup import answer_followup
from bot.workflow.verification import select_item, verify
from handlers.common import numbered, run_step


async def select(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    async def step(s: AppContext, actor: Actor) -> None:
        item_id, _ = await numbered(s, actor, update, "usage.select", rest="none")
        if item_id is None:
            return
        await s.act(select_item, s.workflow, item_id, actor, s.now())

    await run_step(update, context, step)


def _verdict_command(usage: str, step_fn: Any):  # type: ignore[no-untyped-def]
    """``/<command> N WORD note``: the number, one word, then the note (optional)."""

    async def handler(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        async def step(s: AppContext, actor: Actor) -> None:
            item_id, rest = await numbered(s, actor, update, usage, rest="required")
            if item_id is None:
                return
            words = rest.split(maxsplit=1)
            note = words[1] if len(words) > 1 else None
            await s.act(step_fn, s.workflow, item_id, actor, words[0], note, s.now())

        await run_step(update, context, step)

    return handler


verify_command = _verdict_command("usage.verify", verify)
followup_command = _verdict_command("usage.followup", answer_followup)

# (command, handler) pairs, registered by handlers/__init__.py; menu text is ``menu.<command>_plain``
COMMANDS: tuple[tuple[str, Any], ...] = (
    ("select", select),
    ("verify", verify_command),
    ("followup", followup_command),
)
