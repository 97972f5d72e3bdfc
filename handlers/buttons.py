"""Inline buttons. A press is checked like a command, and answered with a pop-up straight away
(Telegram wants a callback answer within seconds, so it does not wait in the outbox)."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.render import CALLBACK_ANSWER_LIMIT
from bot.rules.states import Refusal
from bot.workflow.answers import refusal_text
from bot.workflow.buttons import BUTTONS, press
from handlers.common import actor_of, services
from storage.db import DatabaseUnavailable

log = logging.getLogger(__name__)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None:
        return
    s = services(context)
    actor = actor_of(update)
    action, _, arg = (query.data or "").partition(":")
    message = query.message
    try:
        if message is None or not (arg.isascii() and arg.isdigit()) or action not in BUTTONS:
            raise Refusal("stale_button")
        text = await s.act(press, s.workflow, action, int(arg), actor, message.chat.id,
                           message.message_id, s.now())
        _log_press(action, arg, actor, "done")
        await _answer(query, text, alert=False)
    except Refusal as refusal:
        _log_press(action, arg, actor, f"refused ({refusal.code})")
        await _answer(query, refusal_text(s.workflow, refusal, actor, plain=True), alert=True)
    except DatabaseUnavailable:
        await _answer(query, s.renderer.text("misc.db_down_plain", s.workflow.lang_for(actor)), alert=True)


def _log_press(action: str, arg: str, actor, outcome: str) -> None:  # type: ignore[no-untyped-def]
    log.info("button %s #%s by %s in chat %s: %s", action, arg, actor.user_id, actor.chat_id, outcome,
             extra={"button": action, "item": arg, "actor": actor.user_id, "chat": actor.chat_id})


async def _answer(query, text: str, *, alert: bool) -> None:  # type: ignore[no-untyped-def]
    try:
        await query.answer(text[:CALLBACK_ANSWER_LIMIT], show_alert=alert)
    except TelegramError as exc:  # an answer that comes too late is not worth an error
        log.info("callback answer failed: %s", exc)
