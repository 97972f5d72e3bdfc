"""Text messages and what the bot does to them afterwards: send, edit, delete, pin, chat actions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..models import BOT_USER, ChatInfo, StoredMessage
from ..protocol import ApiError, Params
from .common import (
    after_send,
    chat_for_call,
    check_may_send,
    format_text,
    markup,
    rate_check,
    rate_record,
    reply_target,
    send_thread,
)

if TYPE_CHECKING:
    from ..server import BotApiStandin

_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note",
        "upload_video_note",
    }
)


async def send_message(api: BotApiStandin, p: Params) -> dict[str, Any]:
    chat = chat_for_call(api, p)
    check_may_send(chat, "text")
    visible, raw, parse_mode, ents = format_text(api, p, "text", "entities", caption=False)
    inline, sent_markup = markup(p)
    reply_to = reply_target(chat, p)
    thread_id = send_thread(chat, p, reply_to)
    rate_check(api, chat, send=True)
    msg = api._add_message(
        chat, from_bot=True, sender=BOT_USER, kind="text", text=visible, html=raw,
        parse_mode=parse_mode, entities=ents, reply_markup=inline, sent_reply_markup=sent_markup,
        reply_to=reply_to, thread_id=thread_id,
    )
    return after_send(api, "sendMessage", chat, msg)


def _message_to_edit(api: BotApiStandin, p: Params) -> tuple[ChatInfo, StoredMessage]:
    if p.has("inline_message_id") and not p.has("chat_id"):
        raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
    chat = chat_for_call(api, p)
    message_id = p.get_int("message_id", error="Bad Request: message identifier is not specified")
    if message_id is None:
        raise ApiError(400, "Bad Request: message identifier is not specified")
    msg = chat.messages.get(message_id)
    if msg is None or msg.deleted:
        raise ApiError(400, "Bad Request: message to edit not found")
    if not msg.from_bot or msg.kind == "service":
        raise ApiError(400, "Bad Request: message can't be edited")
    return chat, msg


def _apply_edit(
    api: BotApiStandin, method: str, chat: ChatInfo, msg: StoredMessage, *, text: str, html: str | None,
    parse_mode: str | None, entities: list[dict[str, Any]], inline: dict[str, Any] | None,
    sent_markup: dict[str, Any] | None,
) -> dict[str, Any]:
    if text == msg.text and entities == msg.entities and inline == msg.reply_markup:
        raise ApiError(400, _NOT_MODIFIED)
    rate_check(api, chat, send=False)
    msg.history.append(
        {
            "text": msg.text, "html": msg.html, "parse_mode": msg.parse_mode,
            "entities": msg.entities, "reply_markup": msg.reply_markup,
            "edit_date": msg.edit_date,
        }
    )
    msg.text, msg.html, msg.parse_mode, msg.entities = text, html, parse_mode, entities
    msg.reply_markup, msg.sent_reply_markup = inline, sent_markup
    msg.edit_count += 1
    msg.edit_date = int(api.wall_clock())
    rate_record(api, chat, send=False)
    api._log_sent(method, msg)
    api._emit({"type": "edit", "chat_id": chat.id, "message": msg.snapshot()})
    return msg.to_api()


async def edit_message_text(api: BotApiStandin, p: Params) -> dict[str, Any]:
    chat, msg = _message_to_edit(api, p)
    if msg.kind != "text":
        raise ApiError(400, "Bad Request: there is no text in the message to edit")
    visible, raw, parse_mode, ents = format_text(api, p, "text", "entities", caption=False)
    inline, sent_markup = markup(p)
    return _apply_edit(
        api, "editMessageText", chat, msg, text=visible, html=raw, parse_mode=parse_mode,
        entities=ents, inline=inline, sent_markup=sent_markup,
    )


async def edit_message_caption(api: BotApiStandin, p: Params) -> dict[str, Any]:
    chat, msg = _message_to_edit(api, p)
    if msg.kind not in ("photo", "document"):
        raise ApiError(400, "Bad Request: there is no caption in the message to edit")
    visible, raw, parse_mode, ents = format_text(api, p, "caption", "caption_entities", caption=True)
    inline, sent_markup = markup(p)
    return _apply_edit(
        api, "editMessageCaption", chat, msg, text=visible, html=raw if p.has("caption") else None,
        parse_mode=parse_mode, entities=ents, inline=inline, sent_markup=sent_markup,
    )


async def edit_message_reply_markup(api: BotApiStandin, p: Params) -> dict[str, Any]:
    chat, msg = _message_to_edit(api, p)
    inline, sent_markup = markup(p)
    return _apply_edit(
        api, "editMessageReplyMarkup", chat, msg, text=msg.text, html=msg.html,
        parse_mode=msg.parse_mode, entities=msg.entities, inline=inline, sent_markup=sent_markup,
    )


def _target(chat: ChatInfo, p: Params, missing: str) -> StoredMessage:
    message_id = p.get_int("message_id", error="Bad Request: message identifier is not specified")
    if message_id is None:
        raise ApiError(400, "Bad Request: message identifier is not specified")
    msg = chat.messages.get(message_id)
    if msg is None or msg.deleted:
        raise ApiError(400, missing)
    return msg


async def delete_message(api: BotApiStandin, p: Params) -> bool:
    chat = chat_for_call(api, p)
    msg = _target(chat, p, "Bad Request: message to delete not found")
    msg.deleted = True
    api._log_sent("deleteMessage", msg)
    api._emit({"type": "delete", "chat_id": chat.id, "message_id": msg.message_id, "message": msg.snapshot()})
    return True


def _check_may_pin(chat: ChatInfo) -> None:
    if chat.is_group and not chat.bot.can("can_pin_messages"):
        raise ApiError(400, "Bad Request: not enough rights to manage pinned messages in the chat")


async def pin_chat_message(api: BotApiStandin, p: Params) -> bool:
    chat = chat_for_call(api, p)
    _check_may_pin(chat)
    msg = _target(chat, p, "Bad Request: message to pin not found")
    msg.pinned = True
    api._emit({"type": "edit", "chat_id": chat.id, "message": msg.snapshot()})
    return True


async def unpin_chat_message(api: BotApiStandin, p: Params) -> bool:
    chat = chat_for_call(api, p)
    _check_may_pin(chat)
    if p.has("message_id"):
        msg = _target(chat, p, "Bad Request: message to unpin not found")
    else:
        pinned = [m for m in chat.messages.values() if m.pinned and not m.deleted]
        if not pinned:
            raise ApiError(400, "Bad Request: message to unpin not found")
        msg = pinned[-1]
    msg.pinned = False
    api._emit({"type": "edit", "chat_id": chat.id, "message": msg.snapshot()})
    return True


async def send_chat_action(api: BotApiStandin, p: Params) -> bool:
    chat = chat_for_call(api, p)
    action = p.get_str("action")
    if not action:
        raise ApiError(400, "Bad Request: action is empty")
    if action not in _CHAT_ACTIONS:
        raise ApiError(400, "Bad Request: wrong parameter action in request")
    # Telegram answers True even for a deleted topic's thread id, so no thread check here.
    del chat
    return True


METHODS = {
    "sendMessage": send_message,
    "editMessageText": edit_message_text,
    "editMessageCaption": edit_message_caption,
    "editMessageReplyMarkup": edit_message_reply_markup,
    "deleteMessage": delete_message,
    "pinChatMessage": pin_chat_message,
    "unpinChatMessage": unpin_chat_message,
    "sendChatAction": send_chat_action,
}
