"""Which chats have forum topics the bot may manage: asked of Telegram now and then.

A region's group may turn topics on at any time, and the bot may be given (or lose) the right to
manage them; the delivery worker asks each target chat (``getChat`` and the bot's own membership)
when it starts and every few minutes after. Updates from the chats teach the same in between
(see :mod:`handlers.topics`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session, select
from telegram import Bot, ChatMember, ChatMemberAdministrator
from telegram.error import TelegramError

from bot.delivery.topics import note_forum
from storage.db import Database
from storage.models import Region

log = logging.getLogger(__name__)


def target_chats(session: Session) -> list[int]:
    """The chats items are posted to (the regions' groups, as migrated)."""
    return sorted({r[0] for r in session.execute(select(Region.chat_id))})


def may_manage_topics(member: ChatMember) -> bool:
    """Whether the bot, as this member of a chat, may create and manage topics there."""
    return member.status == ChatMember.OWNER or (
        isinstance(member, ChatMemberAdministrator) and bool(member.can_manage_topics))


async def probe_forums(db: Database, bot: Bot, wall: Callable[[], datetime]) -> None:
    for chat_id in await db.read(target_chats):
        try:
            chat = await bot.get_chat(chat_id)
            member = await bot.get_chat_member(chat_id, bot.id)
        except TelegramError as exc:  # a chat the bot is not in (yet): the next probe asks again
            log.debug("forum probe of chat %s: %s", chat_id, exc)
            continue
        changed = await db.run(note_forum, chat_id, wall(), is_forum=bool(chat.is_forum),
                               manage_topics=may_manage_topics(member))
        if changed:
            log.info("chat %s: topics %s", chat_id, "on" if chat.is_forum else "off")
