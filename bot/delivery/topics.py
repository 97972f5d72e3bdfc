"""Forum topics in the outbox: creating, renaming, closing and reopening an item's topic are rows
like any message, paced and ordered with the chat's other rows.

An item's topic is a :class:`~storage.models.Topic`. Rows said inside it carry its id
(``Outbox.topic_id``); the worker learns the topic's ``message_thread_id`` when it sends them, so
a message can be queued before the topic exists: the topic's creation and its first message (the
card) go first (see :func:`bot.delivery.queue.chat_heads`). Renames are coalesced like card edits:
an unsent rename is replaced by the newer one, and a topic not created yet is simply created
under its newest name.

Nothing here talks to Telegram or knows what an item is about; :mod:`bot.workflow.topics` decides
names and when a topic opens or closes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, select

from storage.models import Card, ForumChat, Outbox, Topic

CREATE = "createForumTopic"
RENAME = "editForumTopic"
CLOSE = "closeForumTopic"
REOPEN = "reopenForumTopic"
TOPIC_METHODS = frozenset({CREATE, RENAME, CLOSE, REOPEN})
OPEN_CLOSE = (CLOSE, REOPEN)


def may_open_topics(session: Session, chat_id: int) -> bool:
    """Whether items posted to ``chat_id`` get a topic: a forum where the bot may manage topics."""
    row = session.get(ForumChat, chat_id)
    return row is not None and row.is_forum and row.manage_topics


def note_forum(session: Session, chat_id: int, now: datetime, *, is_forum: bool | None = None,
               manage_topics: bool | None = None) -> bool:
    """Record what was learned of a chat (from getChat, the bot's membership or an update);
    returns whether anything changed."""
    row = session.get(ForumChat, chat_id)
    if row is None:
        row = ForumChat(chat_id=chat_id)
    before = (row.is_forum, row.manage_topics)
    if is_forum is not None:
        row.is_forum = is_forum
    if manage_topics is not None:
        row.manage_topics = manage_topics
    row.checked_at = now
    session.add(row)
    return before != (row.is_forum, row.manage_topics)


def _row(session: Session, topic: Topic, method: str, payload: dict, now: datetime, lane: int) -> Outbox:
    from bot.delivery.outbox import insert_plain

    return insert_plain(session, Outbox(
        chat_id=topic.chat_id, method=method, lane=lane, payload=json.dumps(payload, ensure_ascii=False),
        item_id=topic.item_id, topic_id=topic.id, purpose="topic", created_at=now))


def queue_op(session: Session, topic: Topic, method: str, now: datetime, lane: int) -> Outbox:
    """Queue one topic operation as it stands (no coalescing): e.g. reopening a topic a person closed."""
    return _row(session, topic, method, {"name": topic.name} if method in (CREATE, RENAME) else {}, now, lane)


def open_topic(session: Session, item_id: int, chat_id: int, name: str, now: datetime, lane: int) -> Topic:
    """A new topic for an item in a forum chat, its creation queued (the card goes in next)."""
    topic = Topic(item_id=item_id, chat_id=chat_id, name=name, created_at=now)
    session.add(topic)
    session.flush()
    topic.create_row = _row(session, topic, CREATE, {"name": name}, now, lane).id
    session.add(topic)
    return topic


def active_topics(session: Session, item_id: int) -> list[Topic]:
    return active_topics_of(session, [item_id]).get(item_id, [])


def active_topics_of(session: Session, item_ids: Sequence[int]) -> dict[int, list[Topic]]:
    """The live topics of many items, in one query: item id → its topics."""
    found: dict[int, list[Topic]] = {}
    if item_ids:
        for topic in session.exec(select(Topic).where(Topic.item_id.in_(item_ids), Topic.active == True)):  # type: ignore[attr-defined]  # noqa: E712
            found.setdefault(topic.item_id, []).append(topic)
    return found


def topic_in(session: Session, item_id: int, chat_id: int) -> Topic | None:
    """The item's live topic in ``chat_id``, if it has one."""
    return session.exec(select(Topic).where(Topic.item_id == item_id, Topic.chat_id == chat_id,
                                            Topic.active == True)).first()  # noqa: E712


def topic_at(session: Session, chat_id: int, thread_id: int) -> Topic | None:
    """The item topic a message in ``thread_id`` of ``chat_id`` was written in (None: General, or a
    topic people opened themselves)."""
    return session.exec(select(Topic).where(Topic.chat_id == chat_id, Topic.thread_id == thread_id)
                        .order_by(Topic.id.desc())).first()  # type: ignore[union-attr]


def rename_topic(session: Session, topic: Topic, name: str, now: datetime, lane: int) -> None:
    """Queue a rename; an unsent one is replaced (only the newest name goes out), a topic not
    created yet is created under the new name."""
    if name == topic.name:
        return
    topic.name = name
    session.add(topic)
    if topic.thread_id is None and topic.create_row is not None:
        rewritten = session.exec(update(Outbox).where(Outbox.id == topic.create_row, Outbox.status == "pending")
                                 .values(payload=json.dumps({"name": name}, ensure_ascii=False)))
        if rewritten.rowcount == 1:
            return
    session.exec(update(Outbox).where(Outbox.topic_id == topic.id, Outbox.method == RENAME,
                                      Outbox.status == "pending").values(status="superseded"))
    _row(session, topic, RENAME, {"name": name}, now, lane)


def set_closed(session: Session, topic: Topic, closed: bool, now: datetime, lane: int) -> None:
    """Queue closing or reopening the topic, unless that is already what the bot asked for last
    (an unsent opposite request is withdrawn instead: the two would cancel out)."""
    if topic.closed == closed:
        return
    topic.closed = closed
    session.add(topic)
    withdrawn = session.exec(update(Outbox).where(
        Outbox.topic_id == topic.id, Outbox.method.in_(OPEN_CLOSE), Outbox.status == "pending")  # type: ignore[attr-defined]
        .values(status="superseded"))
    if withdrawn.rowcount:
        return
    _row(session, topic, CLOSE if closed else REOPEN, {}, now, lane)


def retire_topic(session: Session, topic: Topic, name: str, now: datetime, lane: int) -> None:
    """The item left this chat: its topic says where it went and is closed; nothing more goes in."""
    rename_topic(session, topic, name, now, lane)
    set_closed(session, topic, True, now, lane)
    topic.active = False
    session.add(topic)


def topic_for_message(session: Session, item_id: int, chat_id: int, now: datetime) -> int | None:
    """The topic a message about ``item_id`` sent to ``chat_id`` goes into (None: the chat has no
    topic for it). A topic the bot closed (the item was closed) is reopened first: whatever is
    said there now may want an answer."""
    topic = topic_in(session, item_id, chat_id)
    if topic is None:
        return None
    if topic.closed:
        from bot.delivery.outbox import PRIORITY_LANE

        set_closed(session, topic, False, now, PRIORITY_LANE)
    return topic.id


def pending_reopen(session: Session, topic_id: int) -> Outbox | None:
    return session.exec(select(Outbox).where(Outbox.topic_id == topic_id, Outbox.method == REOPEN,
                                             Outbox.status == "pending").order_by(Outbox.id)).first()  # type: ignore[arg-type]


def latest_card_payload(session: Session, card: Card) -> dict:
    """The card as last queued (its newest edit, else the card itself), to post it again."""
    rows = session.exec(select(Outbox).where(
        ((Outbox.card_id == card.id) & (Outbox.method == "editMessageText"))
        | (Outbox.id == (card.outbox_id or -1))).where(Outbox.status != "superseded")
        .order_by(Outbox.id.desc())).first()  # type: ignore[union-attr]
    payload = json.loads(rows.payload) if rows is not None else {"text": ""}
    if not payload.get("buttons"):
        payload.pop("buttons", None)
    return payload
