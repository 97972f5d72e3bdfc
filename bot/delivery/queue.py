"""The delivery worker's side of the outbox: every read and update it makes, as plain functions.

:mod:`bot.delivery.outbox` writes rows inside the caller's transaction; this module is what the
sender does with them afterwards: find the next row of each chat, lease it, mark it sent (with
Telegram's message id and the time), queue it again after an error, follow a chat that migrated,
note a chat that removed the bot. Each function takes a session and runs inside one transaction
(``Database.run``); none talks to Telegram, so the worker's send loop and the service's handlers
(a migration announced in an update, the bot added back to a group) share them.

Leases: a row being sent has ``status = 'sending'`` and ``not_before`` = when its lease expires.
The rows of the last minute, sent or leased, are what :func:`recent_sends` gives a starting
worker, so pacing resumes where the last process stopped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, bindparam, case, func, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from bot.delivery import topics
from bot.delivery.outbox import PRIORITY_LANE, enqueue_message
from bot.delivery.webhooks import METHOD as WEBHOOK
from storage.models import Card, ChatState, Outbox, Region, Topic


@dataclass
class Head:
    """The next row of one chat, as the dispatcher needs it."""

    row: Outbox
    due: datetime | None  # not before this wall time (a retry's backoff); None: now
    card_message_id: int | None = None  # an edit: the message it edits, read with the head
    thread_id: int | None = None  # said inside a forum topic: its message_thread_id



def pending_count(session: Session, webhooks: bool = True) -> int:
    """Rows still to send (``webhooks`` False: Telegram's only, for a worker that sends no webhooks)."""
    stmt = sa_select(func.count()).select_from(Outbox).where(Outbox.status.in_(("pending", "sending")))  # type: ignore[attr-defined]
    if not webhooks:
        stmt = stmt.where(Outbox.method != WEBHOOK)
    return session.exec(stmt).one()[0]


def follow_migrations(session: Session) -> None:
    """Rows queued for a chat that has since become a supergroup go to its new id straight away
    (the leaders' and desk chats are named in the config, so their rows keep using the old id)."""
    moved = {s.chat_id: s.migrated_to for s in session.exec(select(ChatState).where(ChatState.migrated_to != None))}  # noqa: E711
    for old, new in moved.items():
        target = new
        seen = {old}
        while target in moved and target not in seen:  # a chain of migrations
            seen.add(target)
            target = moved[target]
        session.exec(update(Outbox).where(Outbox.chat_id == old, Outbox.status == "pending")
                     .values(chat_id=target))


def chat_states(session: Session) -> set[int]:
    """Follow chat migrations (a write) and read which chats have blocked the bot."""
    follow_migrations(session)
    return {c.chat_id for c in session.exec(select(ChatState).where(ChatState.blocked == True))}  # noqa: E712


def chat_heads(session: Session, now: datetime, busy: set[int],
               held: set[int] | frozenset[int] = frozenset()) -> tuple[list[Head], list[tuple[str, int]]]:
    """The next row of every chat (priority lane first, then oldest), read only; and the repairs
    some heads need first, as ``("repost" | "fail", row id)`` for :func:`repair_heads`.

    A chat whose row is leased (here or by another process) has no head: one request at a time
    per chat keeps its order. A head backing off after an error holds its chat back (``due``), so
    later rows never overtake it. An edit waits for its card's message id. Rows in ``held`` (card
    edits gathering changes) are passed over: the chat's later rows go meanwhile.
    """
    sending = {r[0] for r in session.exec(
        sa_select(Outbox.chat_id).where(Outbox.status == "sending").distinct())}
    ranked = (
        sa_select(
            Outbox.id,
            func.row_number().over(partition_by=Outbox.chat_id, order_by=(Outbox.lane, Outbox.id)).label("rn"),
        )
        .where(Outbox.status == "pending", *((Outbox.id.notin_(held),) if held else ()))  # type: ignore[union-attr]
        .subquery()
    )
    heads = sa_select(ranked.c.id).where(ranked.c.rn == 1)
    rows = list(session.exec(select(Outbox).where(Outbox.id.in_(heads)).order_by(Outbox.lane, Outbox.id)))  # type: ignore[attr-defined]
    out: list[Head] = []
    repairs: list[tuple[str, int]] = []
    for row in rows:
        if row.chat_id in busy or row.chat_id in sending:
            continue
        message_id = None
        if row.method == "editMessageText" and row.card_id is not None:
            card = session.get(Card, row.card_id)
            if card is not None and card.message_id is None and card.outbox_id is None:
                repairs.append(("repost", row.id))  # its message was left behind (chat migration)
                continue
            if card is not None and card.message_id is None:
                card_row = session.get(Outbox, card.outbox_id)
                if card_row is None or card_row.status == "failed":
                    repairs.append(("fail", row.id))
                    continue
                if card_row.status != "pending":
                    continue  # the card is on its way
                row = card_row  # the card itself goes first
            elif card is not None:
                message_id = card.message_id
        thread_id = None
        if row.topic_id is not None:
            first = topic_first(session, row)
            if first is None:
                continue  # what must go first is on its way
            row, thread_id = first
        out.append(Head(row, row.not_before if row.not_before and row.not_before > now else None, message_id,
                        thread_id))
    out.sort(key=lambda h: (h.row.lane, h.row.id))
    return out, repairs


def topic_first(session: Session, row: Outbox) -> tuple[Outbox, int | None] | None:
    """What goes first for a row said in (or done to) a topic, and the topic's thread id: the
    topic's creation, then its card, then a reopening, then the row itself. None: one of those is
    being sent now. A topic whose creation failed (the chat is no forum after all) has no thread:
    its rows go to the chat's General topic."""
    topic = session.get(Topic, row.topic_id)
    if topic is None:
        return row, None
    if row.method == topics.CREATE:
        return row, None
    for first_id in ((topic.create_row,) if topic.thread_id is None else ()) + (topic.card_row,):
        if first_id is None or first_id == row.id:
            continue
        first = session.get(Outbox, first_id)
        if first is None or first.status in ("sent", "failed", "superseded"):
            continue
        if first.status != "pending":
            return None
        return (first, None) if first.method == topics.CREATE else (first, topic.thread_id)
    if topic.thread_id is not None and row.method != topics.REOPEN:
        reopen = topics.pending_reopen(session, topic.id or 0)
        if reopen is not None and reopen.id != row.id:
            return reopen, topic.thread_id
    return row, topic.thread_id


def topic_created(session: Session, row_id: int, thread_id: int, at: datetime) -> None:
    """Telegram created a topic: the row is sent, the topic knows its thread id."""
    mark_sent_many(session, [(row_id, None, at)])
    session.exec(update(Topic).where(Topic.create_row == row_id).values(thread_id=thread_id))


def topic_trouble(session: Session, row_id: int, error: str, now: datetime) -> bool:
    """Telegram refused a row said in or done to a topic; returns whether this handled it.

    - not modified (a rename to the same name, closing a closed topic): done;
    - a creation refused (no forum, no rights): the chat gets no more topics until it is seen to
      allow them again, and what waited for this one goes to General;
    - TOPIC_CLOSED (closed by hand while its item is open): the topic is reopened first;
    - thread not found (deleted by hand): the topic is created again, the card posted in it anew.
    """
    row = session.get(Outbox, row_id)
    if row is None or row.topic_id is None:
        return False
    topic = session.get(Topic, row.topic_id)
    message = error.lower()
    if topic is None:
        return False
    if "topic_not_modified" in message or "not modified" in message:
        mark_sent_many(session, [(row_id, None, now)])
        return True
    if row.method == topics.CREATE:
        if "not a forum" in message or "rights" in message:
            mark_failed(session, row_id, error)
            topics.note_forum(session, row.chat_id, now, **(
                {"is_forum": False} if "not a forum" in message else {"manage_topics": False}))
            return True
        return False
    if "topic_closed" in message:
        if topics.pending_reopen(session, topic.id or 0) is None:
            topics.queue_op(session, topic, topics.REOPEN, now, PRIORITY_LANE)
        requeue(session, row_id, None, False, None)
        return True
    if "thread not found" in message:
        _recreate_topic(session, topic, row, now)
        return True
    return False


def _recreate_topic(session: Session, topic: Topic, row: Outbox, now: datetime) -> None:
    """A topic deleted by hand is made again under its current name, the item's card posted in it
    anew; the row that found it gone follows (a rename or a reopening is moot now)."""
    create = Outbox(chat_id=topic.chat_id, method=topics.CREATE, lane=PRIORITY_LANE, item_id=topic.item_id,
                    topic_id=topic.id, purpose="topic", created_at=now,
                    payload=json.dumps({"name": topic.name}, ensure_ascii=False))
    session.add(create)
    session.flush()
    topic.thread_id, topic.create_row = None, create.id
    if row.purpose == "card" and row.method == "sendMessage":
        topic.card_row = row.id
        requeue(session, row.id, None, False, None)
    else:
        card = session.exec(select(Card).where(Card.item_id == topic.item_id, Card.chat_id == topic.chat_id,
                                               Card.active == True)).first()  # noqa: E712
        if card is not None:
            repost = Outbox(chat_id=topic.chat_id, method="sendMessage", lane=PRIORITY_LANE, item_id=topic.item_id,
                            topic_id=topic.id, purpose="card", created_at=now,
                            payload=json.dumps(topics.latest_card_payload(session, card), ensure_ascii=False))
            session.add(repost)
            session.flush()
            card.outbox_id, card.message_id = repost.id, None
            session.add(card)
            topic.card_row = repost.id
        if row.method in (topics.RENAME, topics.REOPEN):
            mark_sent_many(session, [(row.id, None, now)])
        else:
            requeue(session, row.id, None, False, None)
    if topic.closed and row.method != topics.CLOSE:
        topic.closed = False  # a new topic is open; close it again after its card
        topics.set_closed(session, topic, True, now, PRIORITY_LANE + 1)
    session.add(topic)


def repair_heads(session: Session, repairs: list[tuple[str, int]]) -> None:
    """Apply :func:`chat_heads`' repairs, each only if what it was decided on still holds."""
    for action, row_id in repairs:
        if action == "repost":
            row = session.get(Outbox, row_id)
            card = session.get(Card, row.card_id) if row is not None and row.card_id is not None else None
            if (row is not None and row.status == "pending" and row.method == "editMessageText"
                    and card is not None and card.message_id is None and card.outbox_id is None):
                repost_card(session, row_id)
        else:
            session.exec(update(Outbox).where(Outbox.id == row_id, Outbox.status == "pending")
                         .values(status="failed", error="its card was never sent"))


def lease_many(session: Session, row_ids: list[int], until: datetime) -> dict[int, str]:
    """Lease the rows still pending; returns those leased with their payload as it is now (a card
    not yet sent may have been rewritten since its row was read). One conditional UPDATE: on
    PostgreSQL a row another worker leased meanwhile fails the re-checked condition and is not
    returned."""
    result = session.execute(
        update(Outbox).where(Outbox.id.in_(row_ids), Outbox.status == "pending")  # type: ignore[union-attr]
        .values(status="sending", not_before=until).returning(Outbox.id, Outbox.payload))
    return {r[0]: r[1] for r in result}


def release_leases(session: Session, leases: dict[int, datetime]) -> None:
    """This worker's leases end (row id → lease expiry): the rows are queued again as they were.
    A row whose lease ran out and that another worker took since keeps its new lease."""
    for row_id, until in leases.items():
        session.exec(update(Outbox).where(Outbox.id == row_id, Outbox.status == "sending",
                                          Outbox.not_before == until).values(status="pending", not_before=None))


def reclaim_leases(session: Session, now: datetime, all_leases: bool = False) -> list[int]:
    """Rows left 'sending' by a process that died (its lease expired by ``now``; with
    ``all_leases``, every lease) go back to the queue. Returns their chats, one entry per row:
    Telegram may have posted each of them, so pacing counts them as sent."""
    stmt = update(Outbox).where(Outbox.status == "sending")
    if not all_leases:
        stmt = stmt.where(Outbox.not_before < now)
    result = session.execute(stmt.values(status="pending", not_before=None).returning(Outbox.chat_id))
    return [r[0] for r in result]


def recent_sends(session: Session, since: datetime) -> list[tuple[int, datetime | None]]:
    """What Telegram may have counted since ``since``, as ``(chat id, when)``: rows marked sent
    then (``when`` is the time the answer was recorded, just after Telegram counted it; or a try
    that timed out, which Telegram may have counted all the same), and rows
    leased now (``when`` is None: a send in flight, or one whose process died before its outcome
    was written, may have been posted at any moment up to now)."""
    sent = session.execute(
        sa_select(Outbox.chat_id, Outbox.sent_at).where(Outbox.sent_at >= since))  # type: ignore[arg-type,operator]
    leased = session.execute(sa_select(Outbox.chat_id).where(Outbox.status == "sending"))
    return [(chat, at) for chat, at in sent] + [(r[0], None) for r in leased]


_OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
_CARDS = Card.__table__  # type: ignore[attr-defined]
_MARK_SENT = (
    _OUTBOX.update().where(_OUTBOX.c.id == bindparam("row_id"))
    .values(status="sent", sent_at=bindparam("at"), error=None, not_before=None,
            attempts=_OUTBOX.c.attempts + 1,
            message_id=case((_OUTBOX.c.method == "editMessageText", _OUTBOX.c.message_id),
                            else_=func.coalesce(bindparam("mid", type_=BigInteger), _OUTBOX.c.message_id)))
)
_CARD_POSTED = (
    _CARDS.update().where(_CARDS.c.outbox_id == bindparam("row_id"))
    .values(message_id=bindparam("mid", type_=BigInteger),
            chat_id=sa_select(_OUTBOX.c.chat_id).where(_OUTBOX.c.id == bindparam("row_id")).scalar_subquery())
)


def mark_sent_many(session: Session, entries: list[tuple[int, int | None, datetime]]) -> None:
    """Rows Telegram accepted, ``(row id, message id or None, when)`` each, as two executemany
    UPDATEs: the row is sent (one attempt more), a posted message's card learns its message id,
    and an edit's row keeps the id it had."""
    if not entries:
        return
    entries = sorted(entries)  # row locks in one order (PostgreSQL), whatever order the sends ended in
    conn = session.connection()
    conn.execute(_MARK_SENT, [{"row_id": row_id, "mid": mid, "at": at} for row_id, mid, at in entries])
    posted = [{"row_id": row_id, "mid": mid} for row_id, mid, _ in entries if mid is not None]
    if posted:
        conn.execute(_CARD_POSTED.where(
            sa_select(_OUTBOX.c.method).where(_OUTBOX.c.id == bindparam("row_id")).scalar_subquery()
            != "editMessageText"), posted)


def mark_failed(session: Session, row_id: int, error: str) -> None:
    session.exec(update(Outbox).where(Outbox.id == row_id).values(status="failed", error=error[:2000]))


def requeue(session: Session, row_id: int, not_before: datetime | None, count_attempt: bool,
             error: str | None, tried_at: datetime | None = None) -> None:
    """Back to the queue. ``tried_at``: a send that may have been posted all the same (a timeout);
    kept in ``sent_at`` so that a restart's pacing counts it (:func:`recent_sends`) — the row stays
    pending, and its real send overwrites it."""
    row = session.get(Outbox, row_id)
    if row is None:
        return
    row.status, row.not_before = "pending", not_before
    if tried_at is not None:
        row.sent_at = tried_at
    if count_attempt:
        row.attempts += 1
    row.error = error[:2000] if error else None
    session.add(row)


def requeue_webhook(session: Session, row_id: int, not_before: datetime, error: str, payload: str) -> None:
    """A webhook row goes back to the queue after a failed try, with the same body (``payload``
    differs from the row's only in its count of refusals)."""
    session.exec(update(Outbox).where(Outbox.id == row_id).values(
        status="pending", not_before=not_before, attempts=Outbox.attempts + 1, error=error[:2000], payload=payload))


def set_aside_webhook(session: Session, row_id: int, error: str, now: datetime, desk: int | None,
                      notice: tuple[str, str] | None) -> None:
    """A webhook row its receiver keeps refusing is set aside, and the desk told (the notice's
    dedupe key makes that once a day per receiver)."""
    session.exec(update(Outbox).where(Outbox.id == row_id).values(
        status="failed", attempts=Outbox.attempts + 1, error=error[:2000], not_before=None))
    if desk is not None and notice is not None:
        text, key = notice
        enqueue_message(session, desk, text, now=now, purpose="webhook_set_aside", dedupe_key=key)


def repost_card(session: Session, row_id: int) -> None:
    row = session.get(Outbox, row_id)
    if row is None or row.card_id is None:
        return
    card = session.get(Card, row.card_id)
    payload = json.loads(row.payload)
    if not payload.get("buttons"):
        payload.pop("buttons", None)
    row.method, row.status, row.not_before, row.purpose = "sendMessage", "pending", None, "card"
    row.payload = json.dumps(payload, ensure_ascii=False)
    if card is not None:  # posted again inside the item's topic, where it has one
        topic = topics.topic_in(session, card.item_id, row.chat_id)
        if topic is not None:
            row.topic_id = topic.id
    session.add(row)
    if card is not None:
        card.outbox_id, card.message_id, card.chat_id = row.id, None, row.chat_id
        session.add(card)


def card_message_id(session: Session, card_id: int | None) -> int | None:
    card = session.get(Card, card_id) if card_id is not None else None
    return card.message_id if card else None


def migrate(session: Session, old: int, new: int, now: datetime, with_leased: bool = True) -> None:
    """A group became a supergroup: its new id replaces the old one everywhere, rows go again."""
    state = session.get(ChatState, old) or ChatState(chat_id=old)
    state.migrated_to = new
    session.add(state)
    statuses = ("pending", "sending") if with_leased else ("pending",)
    session.exec(update(Outbox).where(Outbox.chat_id == old, Outbox.status.in_(statuses))  # type: ignore[attr-defined]
                 .values(chat_id=new, status="pending", not_before=None))
    # cards already posted stay behind in the old group: the new supergroup numbers its messages
    # afresh, so their ids mean nothing there. They are posted again when next edited.
    session.exec(update(Card).where(Card.chat_id == old, Card.message_id != None)  # noqa: E711
                 .values(chat_id=new, message_id=None, outbox_id=None))
    session.exec(update(Card).where(Card.chat_id == old).values(chat_id=new))
    session.exec(update(Region).where(Region.chat_id == old).values(chat_id=new))


def block(session: Session, chat: int, reason: str, now: datetime, desk: int | None,
           notice: Callable[[int, str], str] | None) -> None:
    state = session.get(ChatState, chat) or ChatState(chat_id=chat)
    first = not state.blocked
    state.blocked, state.blocked_reason = True, reason
    if first:
        state.blocked_at = now
    session.add(state)
    if first and desk is not None and desk != chat and notice is not None:
        region = session.exec(select(Region).where(Region.chat_id == chat)).first()
        text = notice(chat, region.name if region else str(chat))
        enqueue_message(session, desk, text, now=now, lane=PRIORITY_LANE, purpose="blocked",
                        dedupe_key=f"blocked:{chat}:{now.isoformat()}")


def unblock(session: Session, chat: int) -> None:
    state = session.get(ChatState, chat)
    if state is not None and state.blocked:
        state.blocked, state.blocked_reason = False, None
        session.add(state)
