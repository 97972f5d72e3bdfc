"""What the people in the chats do: write, press buttons, add or remove the bot, run forum topics.

Each action changes the world and queues the Update Telegram would send the bot for it. These are
the calls a test or the demo makes to play the users; :mod:`bot.standin.driver` offers the same
over HTTP.
"""

from __future__ import annotations

import copy
from typing import Any

from .html import find_auto_entities
from .models import (
    BOT_USER,
    BOT_USERNAME,
    BotMembership,
    CallbackRecord,
    ChatInfo,
    ForumTopic,
    StoredMessage,
)
from .world import World, _check_forum, _membership

__all__ = ["People"]


class People(World):
    """The world plus the actions of its people (and of Telegram itself, e.g. a group upgrade)."""

    # ------------------------------------------------------------------ writing and pressing

    def _bot_would_see(self, chat: ChatInfo, msg: StoredMessage) -> bool:
        """Whether Telegram delivers this user message to the bot (not there; privacy mode)."""
        if not chat.bot.present:
            return False
        if not self.privacy_mode or not chat.is_group:
            return True
        if msg.reply_to is not None and msg.reply_to.from_bot:
            return True
        for ent in msg.entities:
            piece = _utf16_slice(msg.text, ent["offset"], ent["length"])
            if ent["type"] == "bot_command" and ent["offset"] == 0 and (
                "@" not in piece or piece.split("@", 1)[1].lower() == BOT_USERNAME
            ):
                return True
            if ent["type"] == "mention" and piece.lower() == "@" + BOT_USERNAME:
                return True
        return False

    def inject_message(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        reply_to_message_id: int | None = None,
        *,
        entities: list[dict[str, Any]] | None = None,
        message_thread_id: int | None = None,
    ) -> dict[str, Any]:
        """A user writes ``text`` in a chat; returns the ``Message`` dict and queues its Update.

        Entities (``bot_command`` for ``/claim 3`` or ``/claim@liuyan_bot 3``, mentions, hashtags,
        URLs) are detected as Telegram does unless given. In a forum, ``message_thread_id`` puts
        the message in that topic (a reply lands in the topic of the message it replies to). The
        message is stored (and shows in ``chats_snapshot``) even when the bot would not receive it
        (not in the chat, privacy mode).
        """
        chat = self._chat_for_update(chat_id)
        user = self._ensure_user(user_id)
        if chat.type == "private" and chat.id != user_id:
            raise ValueError(f"private chat {chat_id} belongs to user {chat_id}, not {user_id}")
        reply_to = None
        if reply_to_message_id is not None:
            reply_to = chat.messages.get(reply_to_message_id)
            if reply_to is None or reply_to.deleted:
                raise ValueError(f"no message {reply_to_message_id} in chat {chat_id} to reply to")
        thread_id = reply_to.thread_id if reply_to is not None else None
        if message_thread_id is not None:
            topic = self._writable_topic(chat, message_thread_id)
            if reply_to is not None and reply_to.thread_id != topic.message_thread_id:
                raise ValueError(f"message {reply_to_message_id} is not in topic {message_thread_id}")
            thread_id = topic.message_thread_id
        elif thread_id is not None:
            self._writable_topic(chat, thread_id)
        ents = [dict(e) for e in entities] if entities is not None else find_auto_entities(text)
        msg = self._add_message(
            chat, from_bot=False, sender=user, kind="text", text=text, entities=ents, reply_to=reply_to,
            thread_id=thread_id,
        )
        api = msg.to_api()
        if self._bot_would_see(chat, msg):
            self._queue_update({"message": api})
        self._emit({"type": "message", "chat_id": chat.id, "message": msg.snapshot()})
        return api

    def inject_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw Update payload (without ``update_id``) for anything the helpers lack."""
        return self._queue_update(copy.deepcopy(update))

    def press_button(self, chat_id: int, message_id: int, user_id: int, data: str, *, check: bool = True) -> str:
        """A user presses an inline button; returns the ``callback_query`` id.

        Telegram only forwards data that is on one of the message's buttons (``DATA_INVALID``
        otherwise), so by default pressing a button that is not there raises ValueError;
        ``check=False`` skips that to simulate stale or forged presses.
        """
        chat = self._chat_for_update(chat_id)
        msg = chat.messages.get(message_id)
        if msg is None or msg.deleted:
            raise ValueError(f"no message {message_id} in chat {chat_id}")
        if check and data not in msg.callback_data():
            raise ValueError(f"message {message_id} in chat {chat_id} has no button with data {data!r}; it has {msg.callback_data()}")
        user = self._ensure_user(user_id)
        query_id = str(next(self._callback_seq))
        self._callbacks[query_id] = CallbackRecord(query_id, chat_id, message_id, user_id, data, self.clock())
        if chat.bot.present:
            self._queue_update(
                {
                    "callback_query": {
                        "id": query_id,
                        "from": dict(user),
                        "message": msg.to_api(),
                        "chat_instance": str(abs(chat_id) * 31 + 7),
                        "data": data,
                    }
                }
            )
        return query_id

    # ------------------------------------------------------------------ the bot's membership

    def set_bot_member(
        self,
        chat_id: int,
        status: str,
        rights: dict[str, bool] | None = None,
        *,
        announce: bool = False,
        by_user_id: int | None = None,
    ) -> ChatInfo:
        """Set the bot's status in a chat (administrator, member, restricted, left, kicked) and its
        rights (``ChatMember`` fields such as ``can_manage_topics``, ``can_pin_messages``, or for a
        restricted bot ``can_send_messages``).

        With ``announce`` Telegram's ``my_chat_member`` update is queued, naming ``by_user_id`` as
        who did it; when the bot comes into a group it was not in, the group also gets the
        ``new_chat_members`` service message (and the bot its update), as when a person adds it.
        A left or kicked bot gets 403 for every call about the chat and no updates from it.
        """
        chat = self._known_chat(chat_id)
        old = chat.bot
        new = _membership(status, rights)
        if new.status == "kicked" and old.present:
            chat.bot_before_kick = old
        chat.bot = new
        if announce:
            actor = self._ensure_user(by_user_id) if by_user_id is not None else self._any_person()
            self._queue_update(
                {
                    "my_chat_member": {
                        "chat": chat.to_api(),
                        "from": dict(actor),
                        "date": int(self.wall_clock()),
                        "old_chat_member": old.to_api(chat.type),
                        "new_chat_member": new.to_api(chat.type),
                    }
                }
            )
            if new.present and not old.present and chat.is_group:
                msg = self._add_message(
                    chat, from_bot=False, sender=actor, kind="service", text="",
                    service={"new_chat_members": [dict(BOT_USER)]},
                )
                self._queue_update({"message": msg.to_api()})
                self._emit({"type": "message", "chat_id": chat.id, "message": msg.snapshot()})
        self._chat_changed(chat)
        return chat

    def add_bot(
        self, chat_id: int, by_user_id: int | None = None, *, status: str = "member",
        rights: dict[str, bool] | None = None,
    ) -> ChatInfo:
        """A person adds the bot to a group: ``my_chat_member`` and ``new_chat_members`` updates."""
        return self.set_bot_member(chat_id, status, rights, announce=True, by_user_id=by_user_id)

    def kick_bot(self, chat_id: int, *, announce: bool = False, by_user_id: int | None = None) -> None:
        """Calls for this chat answer 403 until :meth:`unkick_bot`; updates from it stop."""
        # A kicked bot still gets the one update about its own removal.
        self.set_bot_member(chat_id, "kicked", announce=announce, by_user_id=by_user_id)

    def unkick_bot(self, chat_id: int, *, announce: bool = False, by_user_id: int | None = None) -> None:
        """Bring the bot back with the status and rights it had before it was kicked."""
        chat = self._known_chat(chat_id)
        before = chat.bot_before_kick or BotMembership("member")
        chat.bot_before_kick = None
        self.set_bot_member(chat_id, before.status, before.rights, announce=announce, by_user_id=by_user_id)

    # ------------------------------------------------------------------ group upgrades and forums

    def migrate_chat(self, old_id: int, new_id: int, *, announce: bool = False) -> ChatInfo:
        """Upgrade a group: calls to ``old_id`` now answer 400 with ``migrate_to_chat_id``.

        The new supergroup gets the old title and the bot's membership. With ``announce`` the two
        service messages (``migrate_to_chat_id`` in the old chat, ``migrate_from_chat_id`` in the
        new one) are queued as updates, as Telegram sends them.
        """
        old = self._known_chat(old_id)
        new = self._chats.get(new_id)
        if new is None:
            new = ChatInfo(id=new_id, type="supergroup", title=old.title, username=old.username,
                           bot=copy.deepcopy(old.bot))
            self._chats[new_id] = new
        new.migrated_from = old_id
        if announce:
            actor = next(iter(self._users.values()), {"id": 777000, "is_bot": False, "first_name": "Telegram"})
            for chat, service in ((old, {"migrate_to_chat_id": new_id}), (new, {"migrate_from_chat_id": old_id})):
                msg = self._add_message(chat, from_bot=False, sender=actor, kind="service", text="", service=service)
                self._queue_update({"message": msg.to_api()})
        old.migrated_to = new_id
        self._chat_changed(old)
        self._chat_changed(new)
        return new

    def set_forum(self, chat_id: int, enabled: bool = True) -> ChatInfo:
        """An owner turns topics on (or off) in a supergroup; getChat then shows ``is_forum``.

        Telegram sends no update for this; a bot finds out from getChat or from the first topic
        message. Turning topics off keeps the topics' messages but new sends need no thread.
        """
        chat = self._chat_for_update(chat_id)
        _check_forum(chat, enabled)
        chat.is_forum = enabled
        self._chat_changed(chat)
        return chat

    def _person_topic(self, chat_id: int, message_thread_id: int) -> tuple[ChatInfo, ForumTopic]:
        chat = self._chat_for_update(chat_id)
        topic = chat.live_topic(message_thread_id)
        if topic is None:
            raise ValueError(f"no topic {message_thread_id} in chat {chat_id}")
        return chat, topic

    def _writable_topic(self, chat: ChatInfo, message_thread_id: int) -> ForumTopic:
        if not chat.is_forum:
            raise ValueError(f"chat {chat.id} is not a forum")
        topic = chat.live_topic(message_thread_id)
        if topic is None:
            raise ValueError(f"no topic {message_thread_id} in chat {chat.id}")
        if topic.closed:
            raise ValueError(f"topic {message_thread_id} in chat {chat.id} is closed")
        return topic

    def _announce(self, chat: ChatInfo, msg: StoredMessage) -> None:
        if chat.bot.present:
            self._queue_update({"message": msg.to_api()})

    def create_topic(self, chat_id: int, user_id: int, name: str, *, icon_color: int = 7322096) -> ForumTopic:
        """A person opens a topic; the bot gets its ``forum_topic_created`` message as an update."""
        chat = self._chat_for_update(chat_id)
        if not chat.is_forum:
            raise ValueError(f"chat {chat_id} is not a forum")
        if not 1 <= len(name) <= 128:
            raise ValueError("a topic name has 1 to 128 characters")
        topic, msg = self._open_topic(chat, name, self._ensure_user(user_id), from_bot=False, icon_color=icon_color)
        self._announce(chat, msg)
        return topic

    def rename_topic(self, chat_id: int, message_thread_id: int, user_id: int, name: str) -> ForumTopic:
        """A person renames a topic (``forum_topic_edited``)."""
        chat, topic = self._person_topic(chat_id, message_thread_id)
        if not 1 <= len(name) <= 128:
            raise ValueError("a topic name has 1 to 128 characters")
        topic.name = name
        self._announce(chat, self._topic_service(chat, topic, {"forum_topic_edited": {"name": name}},
                                                 self._ensure_user(user_id), from_bot=False))
        return topic

    def close_topic(self, chat_id: int, message_thread_id: int, user_id: int) -> ForumTopic:
        """A person closes a topic by hand (``forum_topic_closed``); the bot's sends there get TOPIC_CLOSED."""
        return self._person_sets_closed(chat_id, message_thread_id, user_id, closed=True)

    def reopen_topic(self, chat_id: int, message_thread_id: int, user_id: int) -> ForumTopic:
        """A person reopens a topic (``forum_topic_reopened``)."""
        return self._person_sets_closed(chat_id, message_thread_id, user_id, closed=False)

    def _person_sets_closed(self, chat_id: int, message_thread_id: int, user_id: int, *, closed: bool) -> ForumTopic:
        chat, topic = self._person_topic(chat_id, message_thread_id)
        if topic.closed == closed:
            raise ValueError(f"topic {message_thread_id} is already {'closed' if closed else 'open'}")
        topic.closed = closed
        service: dict[str, Any] = {"forum_topic_closed": {}} if closed else {"forum_topic_reopened": {}}
        self._announce(chat, self._topic_service(chat, topic, service, self._ensure_user(user_id), from_bot=False))
        return topic

    def delete_topic(self, chat_id: int, message_thread_id: int) -> ForumTopic:
        """A person deletes a topic with all its messages; Telegram sends no update for it, and the
        bot's next send there answers "message thread not found"."""
        chat, topic = self._person_topic(chat_id, message_thread_id)
        self._delete_topic(chat, topic)
        return topic


def _utf16_slice(text: str, offset: int, length: int) -> str:
    encoded = text.encode("utf-16-le")
    return encoded[offset * 2 : (offset + length) * 2].decode("utf-16-le", "replace")
