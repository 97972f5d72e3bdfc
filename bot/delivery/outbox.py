"""Writing to the outbox: every message to Telegram becomes a row first, in the caller's transaction.

Nothing here talks to Telegram; :mod:`bot.delivery.worker` sends the rows. Because a row is written
in the same transaction as the change it reports, a crash can never leave a change unannounced or
announce a change that did not happen.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.delivery.topics import topic_for_message
from bot.delivery.webhooks import METHOD as WEBHOOK
from storage.models import Card, Outbox, Topic

PRIORITY_LANE = 0
ROUTINE_LANE = 1


@dataclass(frozen=True)
class Button:
    """An inline button: label and callback data (≤ 64 bytes, checked when built)."""

    text: str
    data: str

    def __post_init__(self) -> None:
        size = len(self.data.encode("utf-8"))
        if not 1 <= size <= 64:
            raise ValueError(f"callback data must be 1..64 bytes, got {size}: {self.data!r}")


Keyboard = Sequence[Sequence[Button]]


def keyboard_json(buttons: Keyboard | None) -> list[list[dict[str, str]]] | None:
    if not buttons:
        return None
    return [[{"text": b.text, "callback_data": b.data} for b in row] for row in buttons]


def _exists(session: Session, dedupe_key: str) -> bool:
    return session.exec(select(Outbox.id).where(Outbox.dedupe_key == dedupe_key)).first() is not None


_OUTBOX_COLUMNS = tuple(c.name for c in Outbox.__table__.columns if c.name != "id")  # type: ignore[attr-defined]
# a Core statement built once: its compiled form is cached, and no ORM bookkeeping runs per row
_INSERT_ROW = Outbox.__table__.insert().returning(Outbox.__table__.c.id)  # type: ignore[attr-defined]


def insert_plain(session: Session, row: Outbox) -> Outbox:
    """Insert ``row`` with one INSERT … RETURNING id and hand it back (not attached to the session):
    callers want its id, and the unit of work's flush costs several times the statement itself,
    which a command pays twice (the answer and the card's edit)."""
    values = {name: getattr(row, name) for name in _OUTBOX_COLUMNS}
    row.id = session.connection().execute(_INSERT_ROW, values).scalar_one()
    return row


def _insert(session: Session, row: Outbox) -> Outbox | None:
    """Insert a row; one with a ``dedupe_key`` inside a savepoint, so that when another process
    committed the same key a moment ago (two sweeps racing) this is a quiet no-op instead of
    failing the caller's whole transaction."""
    if row.dedupe_key is None:
        return insert_plain(session, row)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        if not _exists(session, row.dedupe_key):
            raise  # some other constraint: a real error
        return None
    return row


def _message_payload(text: str, buttons: Keyboard | None, reply_to_message_id: int | None = None) -> str:
    payload: dict[str, Any] = {"text": text}
    markup = keyboard_json(buttons)
    if markup:
        payload["buttons"] = markup
    if reply_to_message_id:
        payload["reply_to_message_id"] = reply_to_message_id
    return json.dumps(payload, ensure_ascii=False)


def enqueue_message(
    session: Session,
    chat_id: int,
    text: str,
    *,
    now: datetime,
    buttons: Keyboard | None = None,
    lane: int = ROUTINE_LANE,
    item_id: int | None = None,
    purpose: str = "message",
    dedupe_key: str | None = None,
    reply_to_message_id: int | None = None,
    not_before: datetime | None = None,
) -> Outbox | None:
    """Queue a sendMessage (HTML). With ``dedupe_key``, a second call with the same key queues nothing."""
    if dedupe_key is not None and _exists(session, dedupe_key):
        return None
    # a message about one item goes into the item's topic where its chat has one; an answer to a
    # person goes where they wrote (a reply lands in the replied message's topic)
    topic_id = (topic_for_message(session, item_id, chat_id, now)
                if item_id is not None and reply_to_message_id is None else None)
    row = Outbox(
        chat_id=chat_id,
        method="sendMessage",
        lane=lane,
        payload=_message_payload(text, buttons, reply_to_message_id),
        item_id=item_id,
        topic_id=topic_id,
        purpose=purpose,
        dedupe_key=dedupe_key,
        created_at=now,
        not_before=not_before,
    )
    return _insert(session, row)


def enqueue_cards(
    session: Session,
    cards: Sequence[tuple[Any, int, str, Keyboard | None, int]],
    *,
    now: datetime,
    topics: dict[int, Topic] | None = None,
) -> None:
    """Queue the cards of new items, ``(item, chat_id, text, buttons, lane)`` each, with one
    multi-row INSERT into the outbox and one into cards; each :class:`Card` learns its Telegram
    message id once sent. ``topics`` (item id → its new topic): the card is the topic's first
    message."""
    if not cards:
        return
    topics = topics or {}
    # (one card per item: the returned rows are matched by item, which keeps this one INSERT)
    outbox_ids = dict(session.execute(
        insert(Outbox).returning(Outbox.item_id, Outbox.id),
        [{"chat_id": chat_id, "method": "sendMessage", "lane": lane, "item_id": item.id, "purpose": "card",
          "payload": _message_payload(text, buttons), "created_at": now, "status": "pending", "attempts": 0,
          "topic_id": topics[item.id].id if item.id in topics else None}
         for item, chat_id, text, buttons, lane in cards],
    ).all())
    for item_id, topic in topics.items():
        topic.card_row = outbox_ids[item_id]
        session.add(topic)
    session.execute(insert(Card), [
        {"item_id": item.id, "chat_id": chat_id, "outbox_id": outbox_ids[item.id], "created_at": now, "active": True}
        for item, chat_id, _, _, _ in cards])


def enqueue_webhooks(session: Session, calls: Sequence[tuple[int, str, int | None]], *, now: datetime) -> None:
    """Queue webhook calls, ``(receiver key, payload, item id)`` each, in the order given (which is
    the order a receiver gets them in), with one multi-row INSERT; see :mod:`bot.delivery.webhooks`."""
    if not calls:
        return
    session.execute(insert(Outbox), [
        {"chat_id": key, "method": WEBHOOK, "lane": ROUTINE_LANE, "item_id": item_id, "purpose": "webhook",
         "payload": payload, "created_at": now, "status": "pending", "attempts": 0}
        for key, payload, item_id in calls])


def enqueue_card_edit(
    session: Session,
    card: Card,
    text: str,
    *,
    now: datetime,
    buttons: Keyboard | None = None,
    lane: int = ROUTINE_LANE,
) -> Outbox:
    """Queue an edit of ``card``. Older unsent edits of the same card are superseded: only the
    newest state needs to reach Telegram. A card not yet sent simply goes out in its new state."""
    payload: dict[str, Any] = {"text": text, "buttons": keyboard_json(buttons) or []}
    if card.message_id is None and card.outbox_id is not None:
        rewritten = session.exec(
            update(Outbox)
            .where(Outbox.id == card.outbox_id, Outbox.status == "pending")
            .values(payload=json.dumps({"text": text, "buttons": keyboard_json(buttons)}, ensure_ascii=False),
                    lane=min(lane, ROUTINE_LANE))
        )
        if rewritten.rowcount == 1:
            row = session.get(Outbox, card.outbox_id)
            assert row is not None
            return row
    session.exec(
        update(Outbox)
        .where(Outbox.card_id == card.id, Outbox.status == "pending", Outbox.method == "editMessageText")
        .values(status="superseded")
    )
    row = Outbox(
        chat_id=card.chat_id,
        method="editMessageText",
        lane=lane,
        payload=json.dumps(payload, ensure_ascii=False),
        item_id=card.item_id,
        card_id=card.id,
        purpose="card_edit",
        created_at=now,
    )
    return insert_plain(session, row)


def enqueue_file(
    session: Session,
    chat_id: int,
    method: str,
    filename: str,
    data: bytes,
    *,
    now: datetime,
    caption: str | None = None,
    lane: int = ROUTINE_LANE,
    purpose: str = "report",
    dedupe_key: str | None = None,
) -> Outbox | None:
    """Queue a sendPhoto or sendDocument; the file travels inside the row, so a restart keeps it."""
    if method not in ("sendPhoto", "sendDocument"):
        raise ValueError(method)
    if dedupe_key is not None and _exists(session, dedupe_key):
        return None
    payload = {
        "filename": filename,
        "data": base64.b64encode(data).decode("ascii"),
        "caption": caption,
    }
    row = Outbox(
        chat_id=chat_id,
        method=method,
        lane=lane,
        payload=json.dumps(payload, ensure_ascii=False),
        purpose=purpose,
        dedupe_key=dedupe_key,
        created_at=now,
    )
    return _insert(session, row)


def active_cards(session: Session, item_id: int) -> list[Card]:
    return list(session.exec(select(Card).where(Card.item_id == item_id, Card.active == True)))  # noqa: E712


def card_at(session: Session, chat_id: int, message_id: int) -> Card | None:
    """The card a Telegram message is (for ``/reply`` sent as a reply to it)."""
    return session.exec(
        select(Card).where(Card.chat_id == chat_id, Card.message_id == message_id)
    ).first()
