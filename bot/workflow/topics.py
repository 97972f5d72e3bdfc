"""An item's forum topic: where its chat is a forum the bot may manage, each item gets a topic
named ``#N <status> <title>``, with the card as its first message and every message about that
one item inside it. The name follows the status; the topic is closed when the item is closed,
and a re-routed item's old topic says where it went and is closed.

The outbox does the Telegram side (:mod:`bot.delivery.topics`): creating, renaming, closing and
reopening are queued rows, paced like sends; a topic closed or deleted by hand is reopened or made
again when the bot next says something there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.delivery import topics as outbox_topics
from bot.delivery.outbox import PRIORITY_LANE, ROUTINE_LANE
from bot.rules.masking import mask_personal_numbers
from bot.rules.states import Status
from bot.workflow.context import WorkflowContext
from storage.models import Item, Topic

NAME_LIMIT = 128  # Telegram's longest topic name


def _title(item: Item) -> str:
    title = mask_personal_numbers(item.title or "") or mask_personal_numbers(item.body or "")
    return " ".join(title.split())


def _cut(text: str) -> str:
    return text if len(text) <= NAME_LIMIT else text[:NAME_LIMIT - 1] + "…"


def status_mark(wf: WorkflowContext, item: Item) -> str:
    """The status as the topic's name shows it (待认领, 办理中·张三, 已回复, 已办结, 重办)."""
    if item.status == Status.CLAIMED and item.claimed_by_name:
        return wf.renderer.text("topics.mark_claimed_plain", None, holder=item.claimed_by_name)
    return wf.renderer.text(f"status.{item.status}", None)


def topic_name(wf: WorkflowContext, item: Item) -> str:
    """``#N <status> <title>``, cut to Telegram's 128 characters."""
    return _cut(wf.renderer.text("topics.name_plain", None, id=item.id, mark=status_mark(wf, item),
                                 title=_title(item)))


def open_topics(session: Session, wf: WorkflowContext, cards: Sequence[tuple[Item, int, Any, Any, int]],
                now: datetime) -> dict[int, Topic]:
    """Topics for the new cards ``(item, chat, text, buttons, lane)`` that go to a forum chat;
    item id → its topic (the card goes in as the topic's first message). A topic the item had in
    another chat (it was re-routed) says where it went and is closed."""
    forum: dict[int, bool] = {}
    opened: dict[int, Topic] = {}
    live = outbox_topics.active_topics_of(session, [item.id for item, *_ in cards if item.id is not None])
    for item, chat_id, _text, _buttons, lane in cards:
        assert item.id is not None
        mine = live.get(item.id, [])
        for old in mine:
            if old.chat_id != chat_id:
                target = wf.region_name(item.region) or item.region or ""
                name = _cut(wf.renderer.text("topics.moved_plain", None, id=item.id, target=target,
                                             title=_title(item)))
                outbox_topics.retire_topic(session, old, name, now, ROUTINE_LANE)
        if chat_id not in forum:
            forum[chat_id] = outbox_topics.may_open_topics(session, chat_id)
        if forum[chat_id] and not any(t.chat_id == chat_id for t in mine):
            opened[item.id] = outbox_topics.open_topic(session, item.id, chat_id, topic_name(wf, item), now, lane)
    return opened


def sync_topics(session: Session, wf: WorkflowContext, item: Item, now: datetime,
                lane: int = ROUTINE_LANE) -> None:
    """The item's topic as the item is now: its name, closed once the item is closed (and open
    again when it is reopened, or when something about it needs an answer)."""
    if item.id is None:
        return
    for topic in outbox_topics.active_topics(session, item.id):
        outbox_topics.rename_topic(session, topic, topic_name(wf, item), now, ROUTINE_LANE)
        # reopening goes ahead of what is said next; closing after what was said
        closed = item.status == Status.CLOSED
        outbox_topics.set_closed(session, topic, closed, now, ROUTINE_LANE if closed else PRIORITY_LANE)


def topic_item(session: Session, chat_id: int, thread_id: int | None) -> Topic | None:
    """The item topic a message was written in (None: General, or a topic people opened)."""
    if thread_id is None:
        return None
    return outbox_topics.topic_at(session, chat_id, thread_id)
