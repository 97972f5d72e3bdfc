"""What every family of Bot API methods shares: finding the chat, the text and keyboard rules,
the thread a send goes to, the bot's right to send there, and the flood limits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..html import EntityParseError, finish_text, parse_html, utf16_len
from ..limits import retry_after_seconds
from ..models import ChatInfo, StoredMessage
from ..protocol import ApiError, Params

if TYPE_CHECKING:
    from ..server import BotApiStandin

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64

_BUTTON_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)
#: The restricted-member permission each kind of send needs, and Telegram's word for it.
_SEND_RIGHT = {
    "text": ("can_send_messages", "text messages"),
    "photo": ("can_send_photos", "photos"),
    "document": ("can_send_documents", "documents"),
}


def parse_chat_ref(api: BotApiStandin, params: Params) -> int:
    raw = params.raw("chat_id")
    if raw is None or raw == "":
        raise ApiError(400, "Bad Request: chat_id is empty")
    if isinstance(raw, bool):
        raise ApiError(400, "Bad Request: chat not found")
    if isinstance(raw, int):
        return raw
    text = str(raw).strip()
    if text.startswith("@"):
        for chat in api.chats.values():
            if chat.username and chat.username.lower() == text[1:].lower():
                return chat.id
        raise ApiError(400, "Bad Request: chat not found")
    try:
        return int(text)
    except ValueError:
        raise ApiError(400, "Bad Request: chat not found") from None


def chat_for_call(api: BotApiStandin, params: Params) -> ChatInfo:
    """Resolve ``chat_id`` as Telegram does: migrated, unknown, or the bot not in it."""
    chat_id = parse_chat_ref(api, params)
    chat = api.chats.get(chat_id)
    if chat is not None and chat.migrated_to is not None:
        raise ApiError(
            400,
            "Bad Request: group chat was upgraded to a supergroup chat",
            {"migrate_to_chat_id": chat.migrated_to},
        )
    if chat is None:
        if api.strict_chats:
            raise ApiError(400, "Bad Request: chat not found")
        chat = api._auto_chat(chat_id)
    if chat.kicked:
        raise ApiError(403, chat.kicked_description())
    if not chat.bot.present:
        raise ApiError(403, chat.absent_description())
    return chat


def check_may_send(chat: ChatInfo, kind: str) -> None:
    """A restricted bot (or, in a channel, one without ``can_post_messages``) may not send."""
    if chat.type == "channel":
        if not chat.bot.can("can_post_messages"):
            raise ApiError(400, "Bad Request: need administrator rights in the channel chat")
        return
    right, word = _SEND_RIGHT.get(kind, _SEND_RIGHT["text"])
    if not chat.bot.can(right):
        raise ApiError(400, f"Bad Request: not enough rights to send {word} to the chat")


def int_param(params: Params, name: str) -> int:
    value = params.get_int(name, error=f"Bad Request: invalid {name} specified")
    if value is None:
        raise ApiError(400, f"Bad Request: parameter \"{name}\" is required")
    return value


def send_thread(chat: ChatInfo, params: Params, reply_to: StoredMessage | None) -> int | None:
    """The forum topic a send goes to: ``message_thread_id``, else that of the message replied to.

    A deleted or unknown topic answers "message thread not found", a closed one TOPIC_CLOSED.
    """
    if params.has("message_thread_id"):
        thread_id = params.get_int("message_thread_id", error="Bad Request: message thread not found")
    elif reply_to is not None:
        thread_id = reply_to.thread_id
    else:
        return None
    if thread_id is None:
        return None
    topic = chat.live_topic(thread_id) if chat.is_forum else None
    if topic is None:
        raise ApiError(400, "Bad Request: message thread not found")
    if reply_to is not None and reply_to.thread_id != thread_id:
        raise ApiError(400, "Bad Request: message to be replied not found")
    if topic.closed:
        raise ApiError(400, "Bad Request: TOPIC_CLOSED")
    return thread_id


def format_text(api: BotApiStandin, params: Params, text_key: str, entities_key: str, *, caption: bool) -> tuple[str, str, str | None, list[dict[str, Any]]]:
    """Parse text/caption as Telegram does -> (visible, raw, parse_mode, entities)."""
    raw = params.get_str(text_key) or ""
    parse_mode = params.get_str("parse_mode") or None
    explicit = params.get_json(entities_key) if params.has(entities_key) else None
    if explicit is not None:
        if not isinstance(explicit, list) or not all(
            isinstance(e, dict) and isinstance(e.get("type"), str)
            and isinstance(e.get("offset"), int) and isinstance(e.get("length"), int)
            for e in explicit
        ):
            raise ApiError(400, f"Bad Request: can't parse {entities_key.replace('_', ' ')} JSON object")
        visible, ents = raw, [dict(e) for e in explicit]
    elif parse_mode:
        mode = parse_mode.lower()
        if mode == "html":
            try:
                visible, ents = parse_html(raw, strict_entities=api.strict_entities)
            except EntityParseError as exc:
                raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
        elif mode in ("markdown", "markdownv2"):
            raise ApiError(
                400,
                "Bad Request: can't parse entities: the Bot API stand-in implements only the HTML parse mode",
            )
        else:
            raise ApiError(400, "Bad Request: unsupported parse_mode")
    else:
        visible, ents = raw, []
    visible, ents = finish_text(visible, ents, autodetect=api.autodetect_entities)
    length = utf16_len(visible)
    if caption:
        if length > CAPTION_LIMIT:
            raise ApiError(400, "Bad Request: message caption is too long")
    else:
        if not visible:
            raise ApiError(400, "Bad Request: message text is empty")
        if length > TEXT_LIMIT:
            raise ApiError(400, "Bad Request: message is too long")
    return visible, raw, parse_mode, ents


def markup(params: Params) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Validate ``reply_markup`` -> (inline keyboard as stored, markup as sent)."""
    if not params.has("reply_markup"):
        return None, None
    obj = params.get_json("reply_markup")
    if not isinstance(obj, dict):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in obj:
        if not any(k in obj for k in ("keyboard", "remove_keyboard", "force_reply")):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        return None, obj
    keyboard = obj["inline_keyboard"]
    if not isinstance(keyboard, list) or not all(isinstance(row, list) for row in keyboard):
        raise ApiError(400, 'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    rows: list[list[dict[str, Any]]] = []
    count = 0
    for row in keyboard:
        out_row = []
        for button in row:
            if not isinstance(button, dict):
                raise ApiError(400, "Bad Request: can't parse inline keyboard button: InlineKeyboardButton must be an Object")
            text = button.get("text")
            if not isinstance(text, str):
                raise ApiError(400, "Bad Request: can't parse inline keyboard button: Field \"text\" must be of type String")
            if not any(button.get(k) is not None for k in _BUTTON_ACTIONS):
                raise ApiError(400, "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
            if button.get("callback_data") is not None:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if button.get("url") is not None:
                url = str(button["url"])
                scheme = url.split(":", 1)[0].lower() if ":" in url else ""
                if scheme not in ("http", "https", "tg") or any(ch.isspace() for ch in url):
                    raise ApiError(400, f"Bad Request: inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
            if not text.strip():
                raise ApiError(400, "Bad Request: BUTTON_TEXT_INVALID")
            out_row.append({k: v for k, v in button.items() if v is not None})
            count += 1
        if out_row:
            rows.append(out_row)
    if count > 100:
        raise ApiError(400, "Bad Request: REPLY_MARKUP_TOO_LONG")
    return ({"inline_keyboard": rows} if rows else None), obj


def reply_target(chat: ChatInfo, params: Params) -> StoredMessage | None:
    allow = params.get_bool("allow_sending_without_reply")
    message_id: Any = None
    reply = params.get_json("reply_parameters") if params.has("reply_parameters") else None
    if isinstance(reply, dict):
        message_id = reply.get("message_id")
        allow = bool(reply.get("allow_sending_without_reply", allow))
    elif params.has("reply_to_message_id"):
        message_id = params.get_int("reply_to_message_id")
    if message_id is None:
        return None
    try:
        target = chat.messages.get(int(message_id))
    except (TypeError, ValueError):
        target = None
    if target is not None and not target.deleted:
        return target
    if allow:
        return None
    raise ApiError(400, "Bad Request: message to be replied not found")


def rate_check(api: BotApiStandin, chat: ChatInfo, *, send: bool) -> None:
    if not api.enforce_limits:
        return
    chat_key = chat.id if chat.is_group and (send or api.count_edits) else None
    wait = api.limiter.check(chat_key, global_=send)
    if wait > 0:
        seconds = retry_after_seconds(wait)
        api.stats["429_limit"] += 1
        group_full = chat_key is not None and api.limiter.check(chat_key, global_=False) > 0
        api.limited_log.append((api.clock(), chat.id, group_full, send and not group_full))
        raise ApiError(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})


def rate_record(api: BotApiStandin, chat: ChatInfo, *, send: bool) -> None:
    if not api.enforce_limits:
        return
    chat_key = chat.id if chat.is_group and (send or api.count_edits) else None
    api.limiter.record(chat_key, global_=send)


def after_send(api: BotApiStandin, method: str, chat: ChatInfo, msg: StoredMessage) -> dict[str, Any]:
    rate_record(api, chat, send=True)
    api._log_sent(method, msg)
    api._emit({"type": "message", "chat_id": chat.id, "message": msg.snapshot()})
    return msg.to_api()
