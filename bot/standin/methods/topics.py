"""Forum topics: create, edit, close, reopen and delete, with Telegram's rights and errors.

A topic's id (``message_thread_id``) is the id of its ``forum_topic_created`` service message.
The bot's own topic actions leave service messages in the chat but no updates (a bot never gets
updates about its own messages); a person's do (see :mod:`bot.standin.people`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..models import BOT_USER, ChatInfo, ForumTopic
from ..protocol import ApiError, Params
from .common import chat_for_call, int_param

if TYPE_CHECKING:
    from ..server import BotApiStandin

TOPIC_NAME_LIMIT = 128
_NO_RIGHTS = "Bad Request: not enough rights to manage topics"
_NOT_MODIFIED = "Bad Request: TOPIC_NOT_MODIFIED"


def _forum(api: BotApiStandin, p: Params) -> ChatInfo:
    chat = chat_for_call(api, p)
    if not chat.is_forum:
        raise ApiError(400, "Bad Request: the chat is not a forum")
    return chat


def _name(p: Params, *, required: bool) -> str | None:
    name = p.get_str("name")
    if name is None and not required:
        return None
    if not name or len(name) > TOPIC_NAME_LIMIT:
        raise ApiError(400, "Bad Request: TOPIC_NAME_INVALID")
    return name


def _topic(chat: ChatInfo, p: Params) -> ForumTopic:
    topic = chat.live_topic(int_param(p, "message_thread_id"))
    if topic is None:
        raise ApiError(400, "Bad Request: message thread not found")
    return topic


def _check_manage(chat: ChatInfo, topic: ForumTopic | None) -> None:
    """``can_manage_topics`` is needed, except to edit, close or reopen a topic the bot created."""
    if topic is not None and topic.created_by_bot:
        return
    if chat.bot.status not in ("administrator", "creator") or not chat.bot.can("can_manage_topics"):
        raise ApiError(400, _NO_RIGHTS)


async def create_forum_topic(api: BotApiStandin, p: Params) -> dict[str, Any]:
    chat = _forum(api, p)
    _check_manage(chat, None)
    name = _name(p, required=True)
    assert name is not None
    icon_color = p.get_int("icon_color") or 7322096
    topic, _ = api._open_topic(
        chat, name, BOT_USER, from_bot=True, icon_color=icon_color,
        icon_custom_emoji_id=p.get_str("icon_custom_emoji_id") or None,
    )
    return topic.to_api()


async def edit_forum_topic(api: BotApiStandin, p: Params) -> bool:
    chat = _forum(api, p)
    topic = _topic(chat, p)
    _check_manage(chat, topic)
    name = _name(p, required=False)
    emoji = p.get_str("icon_custom_emoji_id") if p.has("icon_custom_emoji_id") else None
    edited: dict[str, Any] = {}
    if name is not None and name != topic.name:
        edited["name"] = name
    if emoji is not None and emoji != (topic.icon_custom_emoji_id or ""):
        edited["icon_custom_emoji_id"] = emoji
    if not edited:
        raise ApiError(400, _NOT_MODIFIED)
    topic.name = edited.get("name", topic.name)
    if "icon_custom_emoji_id" in edited:
        topic.icon_custom_emoji_id = emoji or None
    api._topic_service(chat, topic, {"forum_topic_edited": edited}, BOT_USER, from_bot=True)
    return True


async def _set_closed(api: BotApiStandin, p: Params, *, closed: bool) -> bool:
    chat = _forum(api, p)
    topic = _topic(chat, p)
    _check_manage(chat, topic)
    if topic.closed == closed:
        raise ApiError(400, _NOT_MODIFIED)
    topic.closed = closed
    service: dict[str, Any] = {"forum_topic_closed": {}} if closed else {"forum_topic_reopened": {}}
    api._topic_service(chat, topic, service, BOT_USER, from_bot=True)
    return True


async def close_forum_topic(api: BotApiStandin, p: Params) -> bool:
    return await _set_closed(api, p, closed=True)


async def reopen_forum_topic(api: BotApiStandin, p: Params) -> bool:
    return await _set_closed(api, p, closed=False)


async def delete_forum_topic(api: BotApiStandin, p: Params) -> bool:
    """Deleting a topic needs ``can_delete_messages``; its messages go with it."""
    chat = _forum(api, p)
    topic = _topic(chat, p)
    if chat.bot.status not in ("administrator", "creator") or not chat.bot.can("can_delete_messages"):
        raise ApiError(400, "Bad Request: not enough rights to delete the topic")
    api._delete_topic(chat, topic)
    return True


METHODS = {
    "createForumTopic": create_forum_topic,
    "editForumTopic": edit_forum_topic,
    "closeForumTopic": close_forum_topic,
    "reopenForumTopic": reopen_forum_topic,
    "deleteForumTopic": delete_forum_topic,
}
