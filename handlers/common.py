"""Shared pieces of the Telegram handlers: who acts, parsing arguments, answering.

Handlers are thin: parse the update, call the workflow through :meth:`AppContext.act`, and let the
workflow queue what is said. A :class:`Refusal` becomes a queued answer in the chat; a database
outage becomes a direct apology (the outbox lives in the database, so it cannot carry that one).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.app_context import AppContext
from bot.rules.states import Refusal
from bot.workflow import Actor
from bot.workflow.answers import refuse, say
from storage.db import DatabaseUnavailable

log = logging.getLogger(__name__)

_COMMAND = re.compile(r"^/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?[ \t]*(.*)$", re.DOTALL)
_NUMBER = re.compile(r"^#?(\d{1,12})$")


def services(context: ContextTypes.DEFAULT_TYPE) -> AppContext:
    return context.application.bot_data["services"]


def actor_of(update: Update) -> Actor:
    user = update.effective_user
    chat = update.effective_chat
    message = update.effective_message
    name = user.full_name if user else ""
    return Actor(
        user_id=user.id if user else None,
        name=name,
        chat_id=chat.id if chat else None,
        message_id=message.message_id if message and not update.callback_query else None,
        lang=user.language_code if user else None,
        source="telegram",
    )


def is_private(update: Update) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.type == ChatType.PRIVATE


def command_rest(text: str | None) -> str:
    """Everything after ``/command[@bot]``, newlines kept (a reply may span paragraphs)."""
    match = _COMMAND.match(text or "")
    return match.group(1) if match else ""


def parse_number(value: str) -> int | None:
    match = _NUMBER.match(value.strip())
    return int(match.group(1)) if match else None


def split_number(rest: str) -> tuple[int | None, str, str]:
    """``"12 text"`` → (12, "text", "12"); the first word and what follows it."""
    parts = rest.strip().split(maxsplit=1)
    if not parts:
        return None, "", ""
    first = parts[0]
    return parse_number(first), parts[1] if len(parts) > 1 else "", first


async def answer(s: AppContext, actor: Actor, key: str, **params: Any) -> None:
    """Queue a catalogue answer in the actor's chat, on the priority lane."""
    lang = s.workflow.lang_for(actor)
    text = s.renderer.text(key, lang, **params)
    if actor.chat_id is not None:
        await s.act(say, actor.chat_id, text, s.now(), reply_to=actor.message_id)


def _log_command(command: str, actor: Actor, outcome: str) -> None:
    """One line per command: which, by whom, in which chat, and how it ended (the text is not logged:
    it may hold a citizen's details)."""
    log.info("command %s by %s in chat %s: %s", command[:40], actor.user_id, actor.chat_id, outcome,
             extra={"command": command[:40], "actor": actor.user_id, "chat": actor.chat_id})


async def numbered(s: AppContext, actor: Actor, update: Update, usage: str, *,
                   rest: Literal["any", "none", "required"] = "any") -> tuple[int | None, str]:
    """``/command N rest``: the item number and the rest of the line; or ``(None, "")`` after
    answering with ``usage`` (and, when the first word is not a number, saying so). ``rest``: what
    may follow the number — anything, nothing, or something."""
    item_id, after, first = split_number(command_rest(update.effective_message.text if update.effective_message else ""))
    after = after.strip()
    if item_id is not None and (rest == "any" or (rest == "required") == bool(after)):
        return item_id, after
    if first and item_id is None:
        await answer(s, actor, "refuse.bad_number", value=first[:30])
    await answer(s, actor, usage)
    return None, ""


async def run_step(update: Update, context: ContextTypes.DEFAULT_TYPE,
                   step: Callable[[AppContext, Actor], Awaitable[Any]]) -> None:
    """Run ``step``; refusals are answered in the chat, a database outage is apologised for."""
    s = services(context)
    actor = actor_of(update)
    command = (update.effective_message.text or "").split(maxsplit=1)[0] if update.effective_message else ""
    try:
        await step(s, actor)
        _log_command(command, actor, "done")
    except Refusal as refusal:
        _log_command(command, actor, f"refused ({refusal.code})")
        await s.act(refuse, s.workflow, actor, refusal, s.now())
    except DatabaseUnavailable:
        log.warning("database unavailable while handling an update")
        if actor.chat_id is not None:
            text = s.renderer.text("misc.db_down", s.workflow.lang_for(actor))
            await context.bot.send_message(actor.chat_id, text)
