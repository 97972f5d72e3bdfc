"""Setting a deployment up: ``/id`` tells a chat's id and the sender's user id, with the lines to
paste into the config; the same is posted when the bot is added to a group.

Anyone may ask, roster or not: this is how a new office learns its ids without other bots.
"""

from __future__ import annotations

from telegram import Chat, ChatMember, Update, User
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.app_context import AppContext
from bot.workflow.answers import say
from handlers.common import actor_of, run_step, services

_JOINED = (ChatMember.MEMBER, ChatMember.ADMINISTRATOR)


def id_text(s: AppContext, chat: Chat, user: User | None, lang: str | None) -> str:
    """The ids and the TOML lines for this chat (a region's group, or the person as an officer)."""
    return s.renderer.template("ids.html.j2", lang, chat_id=chat.id, chat_title=chat.title or "",
                               private=chat.type == ChatType.PRIVATE, is_forum=bool(chat.is_forum),
                               user_id=user.id if user else None, user_name=user.full_name if user else "")


async def id_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return

    async def step(s: AppContext, actor) -> None:  # type: ignore[no-untyped-def]
        text = id_text(s, chat, user, s.workflow.lang_for(actor))
        await s.act(say, chat.id, text, s.now(), reply_to=actor.message_id, purpose="ids")

    await run_step(update, context, step)


async def on_added(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The bot joined a group (not: came back after a removal it already knew of): introduce the ids."""
    change = update.my_chat_member
    if change is None or change.chat.type == ChatType.PRIVATE:
        return
    if change.new_chat_member.status not in _JOINED or change.old_chat_member.status in _JOINED:
        return
    s = services(context)
    lang = s.workflow.lang_for(actor_of(update))
    await s.act(say, change.chat.id, id_text(s, change.chat, change.from_user, lang), s.now(), purpose="ids")
