"""What the Bot API stand-in stores: chats, messages, files and logs.

Kept separate from the HTTP server so tests and the demo's web page can import and type against
these classes without pulling in aiohttp.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "BOT_FIRST_NAME",
    "BOT_ID",
    "BOT_USER",
    "BOT_USERNAME",
    "BotMembership",
    "CallbackRecord",
    "ChatInfo",
    "ForumTopic",
    "RequestRecord",
    "SentRecord",
    "StoredFile",
    "StoredMessage",
    "image_size",
]

BOT_ID = 1000000001
BOT_USERNAME = "liuyan_bot"
BOT_FIRST_NAME = "liuyan"
#: The bot as it appears in ``from`` of its own messages.
BOT_USER: dict[str, Any] = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": BOT_FIRST_NAME,
    "username": BOT_USERNAME,
}


#: Rights of a bot an office made administrator with everything a liaison group needs. Telegram's
#: ``ChatMemberAdministrator`` fields; ``can_post_messages``/``can_edit_messages`` only in channels.
ADMIN_RIGHTS: dict[str, bool] = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_post_messages": True,
    "can_edit_messages": True,
    "can_pin_messages": True,
    "can_manage_topics": True,
}
#: ``ChatMemberRestricted`` fields, all allowed; a restricted bot is given this with some set False.
MEMBER_PERMISSIONS: dict[str, bool] = {
    "can_send_messages": True,
    "can_send_audios": True,
    "can_send_documents": True,
    "can_send_photos": True,
    "can_send_videos": True,
    "can_send_video_notes": True,
    "can_send_voice_notes": True,
    "can_send_polls": True,
    "can_send_other_messages": True,
    "can_add_web_page_previews": True,
    "can_change_info": False,
    "can_invite_users": True,
    "can_pin_messages": False,
    "can_manage_topics": False,
    "can_edit_tag": False,
    "can_react_to_messages": True,
}
MEMBER_STATUSES = ("creator", "administrator", "member", "restricted", "left", "kicked")


@dataclass
class BotMembership:
    """The bot's own place in a chat: what ``getChatMember(chat, bot)`` answers.

    ``rights`` holds the boolean fields of Telegram's ``ChatMember`` for the status (missing ones
    default from :data:`ADMIN_RIGHTS` or :data:`MEMBER_PERMISSIONS`). A member that is not restricted
    may send anything but may not pin or manage topics, as in a group with default permissions.
    """

    status: str = "administrator"
    rights: dict[str, bool] = field(default_factory=dict)

    @property
    def present(self) -> bool:
        """In the chat at all (left and kicked bots are not)."""
        return self.status not in ("left", "kicked")

    def can(self, right: str) -> bool:
        """Whether the bot holds ``right`` (a ``ChatMember`` field) in this chat."""
        if self.status == "creator":
            return True
        if self.status == "administrator":
            if right.startswith("can_send_") or right in ("can_add_web_page_previews",):
                return True
            return bool({**ADMIN_RIGHTS, **self.rights}.get(right, False))
        if self.status == "member":
            return bool(MEMBER_PERMISSIONS.get(right, False))
        if self.status == "restricted":
            return bool({**MEMBER_PERMISSIONS, **self.rights}.get(right, False))
        return False

    def to_api(self, chat_type: str) -> dict[str, Any]:
        """The ``ChatMember`` object for the bot, shaped by status as Telegram shapes it."""
        data: dict[str, Any] = {"status": self.status, "user": dict(BOT_USER)}
        if self.status == "administrator":
            rights = {**ADMIN_RIGHTS, **self.rights}
            if chat_type != "channel":
                rights.pop("can_post_messages", None)
                rights.pop("can_edit_messages", None)
            if chat_type != "supergroup":
                rights.pop("can_manage_topics", None)
            data.update(rights)
        elif self.status == "restricted":
            data.update({"is_member": True, "until_date": 0, **MEMBER_PERMISSIONS, **self.rights})
        elif self.status == "kicked":
            data["until_date"] = 0
        return data


@dataclass(eq=False)
class ForumTopic:
    """A topic of a forum supergroup; its id is the id of its ``forum_topic_created`` message."""

    message_thread_id: int
    name: str
    icon_color: int = 7322096
    icon_custom_emoji_id: str | None = None
    created_by_bot: bool = False
    closed: bool = False
    deleted: bool = False

    def to_api(self) -> dict[str, Any]:
        """The ``ForumTopic`` object createForumTopic returns."""
        data: dict[str, Any] = {
            "message_thread_id": self.message_thread_id,
            "name": self.name,
            "icon_color": self.icon_color,
        }
        if self.icon_custom_emoji_id:
            data["icon_custom_emoji_id"] = self.icon_custom_emoji_id
        return data

    def snapshot(self) -> dict[str, Any]:
        return {**self.to_api(), "closed": self.closed, "deleted": self.deleted}


def chat_type_for_id(chat_id: int) -> str:
    """Guess a chat's type from its id the way Telegram numbers chats.

    Users are positive, basic groups negative, supergroups and channels ``-100...``.
    """
    if chat_id > 0:
        return "private"
    if str(chat_id).startswith("-100") and len(str(chat_id)) >= 14:
        return "supergroup"
    return "group"


@dataclass(eq=False)
class ChatInfo:
    """A chat the bot is in. Message ids are per chat and count up from 1, as in Telegram."""

    id: int
    type: str
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    messages: dict[int, StoredMessage] = field(default_factory=dict, repr=False)
    next_message_id: int = 1
    migrated_to: int | None = None
    migrated_from: int | None = None
    is_forum: bool = False
    topics: dict[int, ForumTopic] = field(default_factory=dict, repr=False)
    bot: BotMembership = field(default_factory=BotMembership)
    #: What the bot was before a kick, so bringing it back restores it.
    bot_before_kick: BotMembership | None = field(default=None, repr=False)

    @property
    def kicked(self) -> bool:
        """The bot was removed (kicked) from this chat; every call about it answers 403."""
        return self.bot.status == "kicked"

    @property
    def is_group(self) -> bool:
        """Group and supergroup chats are the ones with the 20-per-minute flood limit."""
        return self.type in ("group", "supergroup")

    def to_api(self) -> dict[str, Any]:
        """The ``Chat`` object as it appears inside a ``Message``."""
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.type == "private":
            data["first_name"] = self.first_name or self.title or str(self.id)
            if self.last_name:
                data["last_name"] = self.last_name
        else:
            data["title"] = self.title or str(self.id)
        if self.username:
            data["username"] = self.username
        if self.is_forum:
            data["is_forum"] = True
        return data

    def live_topic(self, thread_id: int) -> ForumTopic | None:
        """The topic with this id unless it was deleted (or never existed)."""
        topic = self.topics.get(thread_id)
        return None if topic is None or topic.deleted else topic

    def absent_description(self) -> str:
        """What Telegram answers a bot that has left a group (or was never added)."""
        kind = {"supergroup": "supergroup chat", "channel": "channel chat"}.get(self.type, "group chat")
        return f"Forbidden: bot is not a member of the {kind}"

    def kicked_description(self) -> str:
        """Telegram's wording differs by chat type; bots match on it, so keep it exact."""
        if self.type == "private":
            return "Forbidden: bot was blocked by the user"
        if self.type == "supergroup":
            return "Forbidden: bot was kicked from the supergroup chat"
        if self.type == "channel":
            return "Forbidden: bot was kicked from the channel chat"
        return "Forbidden: bot was kicked from the group chat"


@dataclass(eq=False)
class StoredFile:
    """An uploaded photo or document, kept in memory so tests can look at the bytes."""

    file_id: str
    file_unique_id: str
    data: bytes = field(repr=False)
    file_name: str | None
    mime_type: str | None
    width: int | None = None
    height: int | None = None
    file_path: str = ""

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(eq=False)
class StoredMessage:
    """One message in a chat: sent or edited by the bot, or injected as a user's message.

    ``text`` is the visible text after entity parsing (the caption for photos and documents);
    ``html`` is the raw text exactly as the bot sent it; ``reply_markup`` is the inline keyboard as
    Telegram keeps it (``None`` when there is none; reply keyboards are kept in
    ``sent_reply_markup`` only, because Telegram does not return them in ``Message``).
    """

    message_id: int
    chat_id: int
    date: int
    from_bot: bool
    sender: dict[str, Any]
    kind: str = "text"  # 'text' | 'photo' | 'document' | 'service'
    text: str = ""
    html: str | None = None
    parse_mode: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    sent_reply_markup: dict[str, Any] | None = None
    reply_to_message_id: int | None = None
    edit_count: int = 0
    edit_date: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    file: StoredFile | None = None
    deleted: bool = False
    service: dict[str, Any] | None = None
    #: The forum topic the message is in (None: not in a forum, or in its General topic).
    thread_id: int | None = None
    chat: ChatInfo | None = field(default=None, repr=False)
    reply_to: StoredMessage | None = field(default=None, repr=False)
    pinned: bool = False

    # --- conveniences for tests -------------------------------------------------------------

    @property
    def edited(self) -> bool:
        return self.edit_count > 0

    @property
    def file_name(self) -> str | None:
        return self.file.file_name if self.file else None

    @property
    def file_bytes(self) -> bytes | None:
        return self.file.data if self.file else None

    @property
    def mime_type(self) -> str | None:
        return self.file.mime_type if self.file else None

    @property
    def buttons(self) -> list[list[dict[str, Any]]]:
        """Rows of inline buttons (empty when the message has no inline keyboard)."""
        if not self.reply_markup:
            return []
        return self.reply_markup.get("inline_keyboard", [])

    def callback_data(self) -> list[str]:
        """Every button's ``callback_data``, row by row."""
        return [b["callback_data"] for row in self.buttons for b in row if "callback_data" in b]

    def button(self, label: str) -> dict[str, Any]:
        """The first button whose text or callback_data equals or contains ``label``."""
        flat = [b for row in self.buttons for b in row]
        for b in flat:
            if b.get("text") == label or b.get("callback_data") == label:
                return b
        for b in flat:
            if label in b.get("text", ""):
                return b
        raise KeyError(f"no button {label!r} in message {self.message_id}: {[b.get('text') for b in flat]}")

    # --- Bot API shapes ---------------------------------------------------------------------

    def to_api(self, *, with_reply: bool = True) -> dict[str, Any]:
        """The ``Message`` object the Bot API returns for this message."""
        chat = self.chat.to_api() if self.chat else {"id": self.chat_id, "type": chat_type_for_id(self.chat_id)}
        data: dict[str, Any] = {"message_id": self.message_id, "from": dict(self.sender), "chat": chat, "date": self.date}
        if self.thread_id is not None:
            data["message_thread_id"] = self.thread_id
            data["is_topic_message"] = True
        elif self.chat is not None and self.chat.type == "supergroup" and not self.from_bot:
            data["is_topic_message"] = False
        if with_reply:
            reply = self.reply_target_shown()
            if reply is not None:
                data["reply_to_message"] = reply.to_api(with_reply=False)
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if self.kind == "text":
            data["text"] = self.text
            if self.entities:
                data["entities"] = [dict(e) for e in self.entities]
        elif self.kind in ("photo", "document"):
            f = self.file
            assert f is not None
            if self.kind == "photo":
                data["photo"] = [
                    {
                        "file_id": f.file_id,
                        "file_unique_id": f.file_unique_id,
                        "width": f.width or 0,
                        "height": f.height or 0,
                        "file_size": f.size,
                    }
                ]
            else:
                doc: dict[str, Any] = {"file_id": f.file_id, "file_unique_id": f.file_unique_id, "file_size": f.size}
                if f.file_name:
                    doc["file_name"] = f.file_name
                if f.mime_type:
                    doc["mime_type"] = f.mime_type
                data["document"] = doc
            if self.text:
                data["caption"] = self.text
                if self.entities:
                    data["caption_entities"] = [dict(e) for e in self.entities]
        if self.service:
            data.update(self.service)
        if self.reply_markup:
            data["reply_markup"] = self.reply_markup
        return data

    def reply_target_shown(self) -> StoredMessage | None:
        """What ``reply_to_message`` shows: the message replied to, else - inside a forum topic - the
        topic's creation message, as Telegram sets it on every topic message that replies to nothing."""
        if self.reply_to is not None:
            return None if self.reply_to.deleted else self.reply_to
        if self.thread_id is not None and self.chat is not None and self.thread_id != self.message_id:
            root = self.chat.messages.get(self.thread_id)
            if root is not None and not root.deleted:
                return root
        return None

    def snapshot(self) -> dict[str, Any]:
        """JSON-able view for the demo's web chat page (no file bytes)."""
        sender = self.sender
        name = " ".join(x for x in (sender.get("first_name"), sender.get("last_name")) if x)
        snap: dict[str, Any] = {
            "message_id": self.message_id,
            "chat_id": self.chat_id,
            "from": {
                "id": sender.get("id"),
                "name": name or str(sender.get("id")),
                "username": sender.get("username"),
                "is_bot": bool(sender.get("is_bot")),
            },
            "kind": self.kind,
            "text": self.text,
            "html": self.html,
            "parse_mode": self.parse_mode,
            "entities": [dict(e) for e in self.entities],
            "buttons": [[dict(b) for b in row] for row in self.buttons],
            "reply_to_message_id": self.reply_to_message_id,
            "date": self.date,
            "edit_date": self.edit_date,
            "edit_count": self.edit_count,
            "deleted": self.deleted,
            "file": None,
            "service": dict(self.service) if self.service else None,
            "message_thread_id": self.thread_id,
            "pinned": self.pinned,
        }
        if self.file is not None:
            snap["file"] = {
                "file_id": self.file.file_id,
                "file_name": self.file.file_name,
                "mime_type": self.file.mime_type,
                "size": self.file.size,
                "width": self.file.width,
                "height": self.file.height,
                "file_path": self.file.file_path,
            }
        return snap


@dataclass(frozen=True)
class SentRecord:
    """One accepted message-changing call, in order across chats (for benchmarks and pacing tests).

    ``t`` is the stand-in's clock (monotonic seconds, injectable); ``date`` is unix seconds.
    """

    t: float
    date: int
    method: str
    chat_id: int
    message_id: int


@dataclass(frozen=True)
class RequestRecord:
    """Every HTTP call the stand-in answered, with the status it answered."""

    t: float
    method: str
    chat_id: int | str | None
    status: int
    description: str | None = None


@dataclass(eq=False)
class CallbackRecord:
    """A button press made with ``press_button`` and the bot's answer to it, once given."""

    id: str
    chat_id: int
    message_id: int
    user_id: int
    data: str
    created: float
    answer: dict[str, Any] | None = None


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, JPEG, GIF, WebP or BMP image, or None when it is none of these.

    Telegram refuses a ``sendPhoto`` whose bytes are not an image (``IMAGE_PROCESS_FAILED``); the
    stand-in does the same so a broken chart fails in tests rather than in production.
    """
    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
            w, h = struct.unpack(">II", data[16:24])
            return w, h
        if data[:6] in (b"GIF87a", b"GIF89a"):
            w, h = struct.unpack("<HH", data[6:10])
            return w, h
        if data[:2] == b"BM" and len(data) >= 26:
            w, h = struct.unpack("<ii", data[18:26])
            return abs(w), abs(h)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            chunk = data[12:16]
            if chunk == b"VP8 ":
                w, h = struct.unpack("<HH", data[26:30])
                return w & 0x3FFF, h & 0x3FFF
            if chunk == b"VP8L":
                b0, b1, b2, b3 = data[21:25]
                w = 1 + (((b1 & 0x3F) << 8) | b0)
                h = 1 + (((b3 & 0xF) << 10) | (b2 << 2) | ((b1 & 0xC0) >> 6))
                return w, h
            if chunk == b"VP8X":
                w = 1 + int.from_bytes(data[24:27], "little")
                h = 1 + int.from_bytes(data[27:30], "little")
                return w, h
            return None
        if data[:2] == b"\xff\xd8":
            i = 2
            n = len(data)
            while i + 4 <= n:
                if data[i] != 0xFF:
                    i += 1
                    continue
                marker = data[i + 1]
                if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                    i += 1 if marker == 0xFF else 2
                    continue
                (seg_len,) = struct.unpack(">H", data[i + 2 : i + 4])
                if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                    h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                    return w, h
                i += 2 + seg_len
            return None
    except (struct.error, IndexError, ValueError):
        return None
    return None
