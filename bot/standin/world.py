"""The stand-in's world: chats, users, the bot's membership, messages, topics and the updates queue.

Everything here is plain state plus the ways to wait on it. Who changes it lives elsewhere: the
Bot API methods (what the bot does, :mod:`bot.standin.methods`) and the people in the chats
(:mod:`bot.standin.people`). Call from the event loop the server runs on: the methods are
synchronous but wake waiters through asyncio events.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Callable
from typing import Any

from .models import (
    BOT_USER,
    MEMBER_STATUSES,
    BotMembership,
    CallbackRecord,
    ChatInfo,
    ForumTopic,
    SentRecord,
    StoredFile,
    StoredMessage,
    chat_type_for_id,
)

__all__ = ["World"]

CHAT_TYPES = ("private", "group", "supergroup", "channel")


class World:
    """State shared by the Bot API methods, the people and the HTTP driver."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
        privacy_mode: bool = False,
    ) -> None:
        self.clock = clock
        self.wall_clock = wall_clock
        self.privacy_mode = privacy_mode
        self.stats: Counter[str] = Counter()
        self.sent_log: list[SentRecord] = []
        # every flood answer given: (stand-in clock, chat id, the group's window was full, the overall one was)
        self.limited_log: list[tuple[float, int, bool, bool]] = []

        self._chats: dict[int, ChatInfo] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._files: dict[str, StoredFile] = {}
        self._file_seq = itertools.count(1)
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._callbacks: dict[str, CallbackRecord] = {}
        self._callback_seq = itertools.count(4_382_000_000_000_000_001)
        self._closing = False
        self._changed = asyncio.Event()
        self._subscribers: list[asyncio.Queue[dict[str, Any]]] = []

    # ------------------------------------------------------------------ change notification

    def _notify(self) -> None:
        """Wake every waiter (long polls, ``wait_for``); each re-checks its own condition."""
        event = self._changed
        self._changed = asyncio.Event()
        event.set()

    def _emit(self, event: dict[str, Any]) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                pass  # a subscriber that stopped reading does not stall the stand-in
        self._notify()

    async def _wait_until(self, predicate: Callable[[], bool], timeout: float | None) -> bool:
        """Wait on change events (no polling) until ``predicate()`` or ``timeout``; return it."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            event = self._changed  # take it before checking, so no notification is missed
            if predicate():
                return True
            if deadline is None:
                await event.wait()
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                pass

    def subscribe(self, maxsize: int = 0) -> asyncio.Queue[dict[str, Any]]:
        """A queue that receives an event dict for every message sent, edited, deleted or injected.

        Events: ``{"type": "message" | "edit" | "delete", "chat_id", "message": snapshot}``,
        ``{"type": "callback_answer", ...}``, ``{"type": "chat", "chat": ...}``,
        ``{"type": "topic", "chat_id", "topic": ...}``.
        """
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize)
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        if queue in self._subscribers:
            self._subscribers.remove(queue)

    def _chat_changed(self, chat: ChatInfo) -> None:
        self._emit({"type": "chat", "chat": self._chat_snapshot(chat, with_messages=False)})

    # ------------------------------------------------------------------ the updates queue

    def _queue_update(self, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": self._next_update_id, **payload}
        self._next_update_id += 1
        self._updates.append(update)
        self._notify()
        return update

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by the bot (via a later getUpdates offset or webhook 2xx)."""
        return list(self._updates)

    # ------------------------------------------------------------------ chats and users

    def register_chat(
        self,
        chat_id: int,
        title: str | None = None,
        type: str | None = None,
        *,
        username: str | None = None,
        is_forum: bool | None = None,
        bot_status: str | None = None,
        bot_rights: dict[str, bool] | None = None,
    ) -> ChatInfo:
        """Make a chat known (needed with ``strict_chats=True``); the type defaults from the id.

        The bot sits in a group as an administrator with the rights a liaison group gives it
        (post, pin, manage topics) unless ``bot_status``/``bot_rights`` say otherwise; see
        :meth:`bot.standin.people.People.set_bot_member` to change that later.
        """
        chat_type = type or ("supergroup" if chat_id < 0 else "private")
        if chat_type not in CHAT_TYPES:
            raise ValueError(f"unknown chat type {chat_type!r}")
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = ChatInfo(id=chat_id, type=chat_type, bot=_default_membership(chat_type))
        chat.type = chat_type
        if title is not None:
            chat.title = title
        if username is not None:
            chat.username = username.lstrip("@")
        if chat_type == "private":
            user = self._users.get(chat_id)
            chat.first_name = (user or {}).get("first_name") or title or str(chat_id)
            chat.last_name = (user or {}).get("last_name")
            chat.username = chat.username or (user or {}).get("username")
        if bot_status is not None or bot_rights is not None:
            chat.bot = _membership(bot_status or chat.bot.status, bot_rights)
        if is_forum is not None:
            _check_forum(chat, is_forum)
            chat.is_forum = is_forum
        self._chat_changed(chat)
        return chat

    def register_user(
        self,
        user_id: int,
        first_name: str,
        username: str | None = None,
        language_code: str | None = "zh-hans",
        *,
        last_name: str | None = None,
    ) -> dict[str, Any]:
        """Make a user known; the dict is what appears as ``from`` in their updates."""
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username.lstrip("@")
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        chat = self._chats.get(user_id)
        if chat is not None and chat.type == "private":
            chat.first_name, chat.last_name = first_name, last_name
            chat.username = user.get("username")
        return user

    def chat(self, chat_id: int) -> ChatInfo:
        """The stored chat (KeyError if the stand-in has never seen it)."""
        return self._chats[chat_id]

    @property
    def chats(self) -> dict[int, ChatInfo]:
        return dict(self._chats)

    def user(self, user_id: int) -> dict[str, Any]:
        return self._users[user_id]

    def _ensure_user(self, user_id: int) -> dict[str, Any]:
        user = self._users.get(user_id)
        if user is None:
            user = self.register_user(user_id, f"User {user_id}", language_code=None)
        return user

    def _any_person(self) -> dict[str, Any]:
        """Someone to name as the actor of a change a test did not attribute."""
        return next(iter(self._users.values()), None) or self._ensure_user(1)

    def _auto_chat(self, chat_id: int) -> ChatInfo:
        chat_type = chat_type_for_id(chat_id)
        chat = ChatInfo(id=chat_id, type=chat_type, bot=_default_membership(chat_type))
        if chat.type == "private":
            user = self._users.get(chat_id, {})
            chat.first_name = user.get("first_name") or str(chat_id)
            chat.last_name = user.get("last_name")
            chat.username = user.get("username")
        else:
            chat.title = f"Chat {chat_id}"
        self._chats[chat_id] = chat
        self._chat_changed(chat)
        return chat

    def _known_chat(self, chat_id: int) -> ChatInfo:
        """The chat for a change made from outside (a person, a test): known, or made up now."""
        return self._chats.get(chat_id) or self._auto_chat(chat_id)

    def _chat_for_update(self, chat_id: int) -> ChatInfo:
        chat = self._chats.get(chat_id)
        if chat is not None and chat.migrated_to is not None:
            raise ValueError(f"chat {chat_id} was migrated to {chat.migrated_to}; use the new id")
        return chat or self._auto_chat(chat_id)

    # ------------------------------------------------------------------ messages and topics

    def _add_message(
        self,
        chat: ChatInfo,
        *,
        from_bot: bool,
        sender: dict[str, Any],
        kind: str,
        text: str,
        html: str | None = None,
        parse_mode: str | None = None,
        entities: list[dict[str, Any]] | None = None,
        reply_markup: dict[str, Any] | None = None,
        sent_reply_markup: dict[str, Any] | None = None,
        reply_to: StoredMessage | None = None,
        file: StoredFile | None = None,
        thread_id: int | None = None,
        service: dict[str, Any] | None = None,
    ) -> StoredMessage:
        msg = StoredMessage(
            message_id=chat.next_message_id,
            chat_id=chat.id,
            date=int(self.wall_clock()),
            from_bot=from_bot,
            sender=dict(sender),
            kind=kind,
            text=text,
            html=html,
            parse_mode=parse_mode,
            entities=entities or [],
            reply_markup=reply_markup,
            sent_reply_markup=sent_reply_markup,
            reply_to_message_id=reply_to.message_id if reply_to else None,
            file=file,
            service=service,
            thread_id=thread_id,
            chat=chat,
            reply_to=reply_to,
        )
        chat.next_message_id += 1
        chat.messages[msg.message_id] = msg
        return msg

    def _log_sent(self, method: str, msg: StoredMessage) -> None:
        self.sent_log.append(SentRecord(self.clock(), int(self.wall_clock()), method, msg.chat_id, msg.message_id))

    def _open_topic(
        self, chat: ChatInfo, name: str, sender: dict[str, Any], *, from_bot: bool,
        icon_color: int = 7322096, icon_custom_emoji_id: str | None = None,
    ) -> tuple[ForumTopic, StoredMessage]:
        """A new topic and its ``forum_topic_created`` message, whose id becomes the topic's id."""
        created: dict[str, Any] = {"name": name, "icon_color": icon_color}
        if icon_custom_emoji_id:
            created["icon_custom_emoji_id"] = icon_custom_emoji_id
        msg = self._add_message(
            chat, from_bot=from_bot, sender=sender, kind="service", text="",
            service={"forum_topic_created": created}, thread_id=chat.next_message_id,
        )
        topic = ForumTopic(
            message_thread_id=msg.message_id, name=name, icon_color=icon_color,
            icon_custom_emoji_id=icon_custom_emoji_id, created_by_bot=from_bot,
        )
        chat.topics[topic.message_thread_id] = topic
        self._topic_changed(chat, topic, msg)
        return topic, msg

    def _topic_service(
        self, chat: ChatInfo, topic: ForumTopic, service: dict[str, Any], sender: dict[str, Any], *, from_bot: bool,
    ) -> StoredMessage:
        """A service message inside the topic (``forum_topic_edited``, ``_closed``, ``_reopened``)."""
        msg = self._add_message(
            chat, from_bot=from_bot, sender=sender, kind="service", text="", service=service,
            thread_id=topic.message_thread_id,
        )
        self._topic_changed(chat, topic, msg)
        return msg

    def _delete_topic(self, chat: ChatInfo, topic: ForumTopic) -> None:
        """A deleted topic takes its messages with it, as in Telegram."""
        topic.deleted = True
        for msg in chat.messages.values():
            if msg.thread_id == topic.message_thread_id:
                msg.deleted = True
        self._topic_changed(chat, topic, None)

    def _topic_changed(self, chat: ChatInfo, topic: ForumTopic, msg: StoredMessage | None) -> None:
        if msg is not None:
            self._emit({"type": "message", "chat_id": chat.id, "message": msg.snapshot()})
        self._emit({"type": "topic", "chat_id": chat.id, "topic": topic.snapshot()})

    # ------------------------------------------------------------------ looking at what the bot did

    def messages(self, chat_id: int, *, include_users: bool = False, include_deleted: bool = False) -> list[StoredMessage]:
        """The bot's messages in a chat, oldest first (users' messages too with ``include_users``)."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [
            m for m in chat.messages.values()
            if (include_users or m.from_bot) and (include_deleted or not m.deleted)
        ]

    def message(self, chat_id: int, message_id: int) -> StoredMessage:
        return self._chats[chat_id].messages[message_id]

    def last_message(self, chat_id: int) -> StoredMessage | None:
        msgs = self.messages(chat_id)
        return msgs[-1] if msgs else None

    def all_messages(self) -> list[StoredMessage]:
        """Every message the bot sent, in sending order across chats."""
        out = [m for chat in self._chats.values() for m in chat.messages.values() if m.from_bot]
        order = {(r.chat_id, r.message_id): i for i, r in enumerate(self.sent_log) if r.method != "deleteMessage"}
        return sorted(out, key=lambda m: order.get((m.chat_id, m.message_id), 0))

    def topics(self, chat_id: int, *, include_deleted: bool = False) -> list[ForumTopic]:
        """The chat's forum topics, oldest first."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [t for t in chat.topics.values() if include_deleted or not t.deleted]

    def topic(self, chat_id: int, message_thread_id: int) -> ForumTopic:
        return self._chats[chat_id].topics[message_thread_id]

    def file(self, file_id: str) -> StoredFile:
        return self._files[file_id]

    def callback_answer(self, callback_query_id: str) -> dict[str, Any] | None:
        """The bot's answerCallbackQuery for this press, or None if not answered yet."""
        record = self._callbacks.get(callback_query_id)
        if record is None:
            raise KeyError(f"unknown callback query {callback_query_id!r}")
        return record.answer

    async def wait_callback_answer(self, callback_query_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """Wait until the bot answers this button press; TimeoutError otherwise."""
        record = self._callbacks.get(callback_query_id)
        if record is None:
            raise KeyError(f"unknown callback query {callback_query_id!r}")
        if not await self._wait_until(lambda: record.answer is not None, timeout):
            raise TimeoutError(
                f"callback query {callback_query_id} (data {record.data!r}) was not answered within {timeout}s\n"
                + self.describe()
            )
        assert record.answer is not None
        return record.answer

    @property
    def callback_queries(self) -> list[CallbackRecord]:
        return list(self._callbacks.values())

    async def wait_for(self, predicate: Callable[[Any], Any], timeout: float = 5.0) -> Any:
        """Wait (on change events, not by polling) until ``predicate(self)`` is truthy; return it.

        Raises TimeoutError listing what every chat holds, so a failing test says what the bot did
        instead of what it did not.
        """
        result: list[Any] = []

        def check() -> bool:
            value = predicate(self)
            if value:
                result.append(value)
                return True
            return False

        if not await self._wait_until(check, timeout):
            raise TimeoutError(f"condition not met within {timeout}s; the stand-in holds:\n{self.describe()}")
        return result[-1]

    async def wait_for_message(
        self,
        chat_id: int,
        contains: str | None = None,
        timeout: float = 5.0,
        *,
        after_id: int = 0,
        predicate: Callable[[StoredMessage], bool] | None = None,
        thread_id: int | None = None,
    ) -> StoredMessage:
        """The first bot message in ``chat_id`` (with id > ``after_id``) containing ``contains``
        (and, with ``thread_id``, inside that forum topic)."""

        def find(_: Any) -> StoredMessage | None:
            for msg in self.messages(chat_id):
                if msg.message_id <= after_id or msg.kind == "service":
                    continue
                if contains is not None and contains not in msg.text:
                    continue
                if thread_id is not None and msg.thread_id != thread_id:
                    continue
                if predicate is not None and not predicate(msg):
                    continue
                return msg
            return None

        try:
            return await self.wait_for(find, timeout)
        except TimeoutError:
            what = f"containing {contains!r}" if contains is not None else "at all"
            raise TimeoutError(
                f"no bot message {what} in chat {chat_id} (after id {after_id}) within {timeout}s; "
                f"the stand-in holds:\n{self.describe()}"
            ) from None

    def describe(self) -> str:
        """Human-readable dump of chats and messages, for failure messages."""
        lines: list[str] = []
        if not self._chats:
            lines.append("  (no chats)")
        for chat in self._chats.values():
            flags = []
            if not chat.bot.present:
                flags.append(f"bot {chat.bot.status}")
            if chat.migrated_to is not None:
                flags.append(f"migrated to {chat.migrated_to}")
            if chat.is_forum:
                flags.append("forum")
            extra = f" [{', '.join(flags)}]" if flags else ""
            lines.append(f"  chat {chat.id} {chat.title or chat.first_name or ''!r} ({chat.type}){extra}:")
            for topic in chat.topics.values():
                state = "deleted" if topic.deleted else "closed" if topic.closed else "open"
                lines.append(f"    topic {topic.message_thread_id} {topic.name!r} ({state})")
            if not chat.messages:
                lines.append("    (no messages)")
            for msg in chat.messages.values():
                who = "bot" if msg.from_bot else f"user {msg.sender.get('id')}"
                text = msg.text if len(msg.text) <= 120 else msg.text[:117] + "..."
                text = text.replace("\n", "\\n")
                if msg.kind == "service" and msg.service:
                    text = ",".join(msg.service)
                bits = [f"    #{msg.message_id} {who} {msg.kind}: {text!r}"]
                if msg.thread_id is not None:
                    bits.append(f"topic={msg.thread_id}")
                if msg.buttons:
                    bits.append("buttons=" + "|".join(b.get("text", "") for row in msg.buttons for b in row))
                if msg.edit_count:
                    bits.append(f"edited x{msg.edit_count}")
                if msg.deleted:
                    bits.append("deleted")
                if msg.file:
                    bits.append(f"file={msg.file.file_name}")
                lines.append(" ".join(bits))
        lines.append(f"  pending updates: {len(self._updates)}; 429s answered: {self.stats['429']}")
        return "\n".join(lines)

    def _chat_snapshot(self, chat: ChatInfo, *, with_messages: bool = True) -> dict[str, Any]:
        snap: dict[str, Any] = {
            "id": chat.id,
            "type": chat.type,
            "title": chat.title if chat.type != "private" else chat.first_name,
            "username": chat.username,
            "migrated_to": chat.migrated_to,
            "migrated_from": chat.migrated_from,
            "bot_kicked": chat.kicked,
            "bot_member": chat.bot.to_api(chat.type),
            "is_forum": chat.is_forum,
            "topics": [t.snapshot() for t in chat.topics.values() if not t.deleted],
        }
        if with_messages:
            snap["messages"] = [m.snapshot() for m in chat.messages.values() if not m.deleted]
        return snap

    def chat_snapshot(self, chat_id: int) -> dict[str, Any]:
        """One chat as :meth:`chats_snapshot` shows it (KeyError if unknown)."""
        return self._chat_snapshot(self._chats[chat_id])

    def chats_snapshot(self) -> dict[str, Any]:
        """JSON-able view of every chat with its messages (parsed text, entities, buttons).

        This is the user's view that the demo's web chat page renders; ``subscribe()`` gives the
        changes as they happen.
        """
        return {
            "bot": dict(BOT_USER),
            "chats": [self._chat_snapshot(chat) for chat in self._chats.values()],
            "users": [dict(u) for u in self._users.values()],
            "callback_answers": [
                {"callback_query_id": r.id, "chat_id": r.chat_id, "message_id": r.message_id,
                 "user_id": r.user_id, "data": r.data, "answer": r.answer}
                for r in self._callbacks.values()
            ],
        }

    user_view = chats_snapshot


def _default_membership(chat_type: str) -> BotMembership:
    return BotMembership("member") if chat_type == "private" else BotMembership("administrator")


def _membership(status: str, rights: dict[str, bool] | None) -> BotMembership:
    if status not in MEMBER_STATUSES:
        raise ValueError(f"unknown member status {status!r}; one of {', '.join(MEMBER_STATUSES)}")
    return BotMembership(status, {str(k): bool(v) for k, v in (rights or {}).items()})


def _check_forum(chat: ChatInfo, is_forum: bool) -> None:
    if is_forum and chat.type != "supergroup":
        raise ValueError(f"chat {chat.id} is a {chat.type}; only a supergroup can have topics (migrate it first)")
