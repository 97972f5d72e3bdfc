"""The delivery worker: the one place that sends the outbox to Telegram.

Loop: read the head row of every chat with pending rows (priority lane first, then oldest), start
each one its chat's pacing allows, one request in flight per chat so a chat sees its messages in
order. A row is leased (``status = 'sending'``) with a conditional UPDATE before it is sent, so two
service processes never send the same row; a crashed process's leases expire and are taken over.

Faults: 429 pauses that chat for ``retry_after`` (others go on); 5xx, timeouts and network errors
retry with capped exponential backoff, forever (a card must not be lost); a chat migrated to a
supergroup has its new id stored everywhere and the send repeated; a bot removed from a group (403)
keeps the chat's rows queued, tells the desk once and probes the chat again now and then.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from sqlalchemy import func, or_, select as sa_select, update
from sqlmodel import Session, select
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.delivery.outbox import PRIORITY_LANE, enqueue_message
from bot.delivery.pacing import Pacer
from storage.db import Database, DatabaseUnavailable
from storage.models import Card, ChatState, Outbox, Region

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0
BLOCKED_PROBE_SECONDS = 300.0


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class DeliveryStats:
    sent: int = 0
    retried: int = 0
    rate_limited: int = 0
    migrated: int = 0
    blocked: int = 0
    failed: int = 0


class DeliveryWorker:
    """Sends outbox rows; ``wake()`` after a commit that queued rows makes it look at once."""

    def __init__(self, db: Database, bot: Bot, *, desk_chat_id: int | None = None,
                 pacer: Pacer | None = None, lease_seconds: float = 60.0,
                 poll_seconds: float = 1.0, max_in_flight: int = 32,
                 blocked_notice: Callable[[int, str], str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.db = db
        self.bot = bot
        self.desk_chat_id = desk_chat_id
        self.pacer = pacer or Pacer()
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self.max_in_flight = max_in_flight
        self.blocked_notice = blocked_notice
        self.clock = clock
        self.worker_id = uuid.uuid4().hex[:12]
        self.stats = DeliveryStats()
        self._wake = asyncio.Event()
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._blocked_probe: dict[int, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.idle = asyncio.Event()  # set whenever nothing is pending and nothing in flight

    # ------------------------------------------------------------------ lifecycle

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        await self.db.run(_reclaim_leases, all_sending=self.db.is_sqlite)
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="liuyan-delivery")

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self._in_flight:
            await asyncio.gather(*self._in_flight.values(), return_exceptions=True)

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until nothing is pending (tests, ``sweep``, ``digest --send``)."""
        deadline = self.clock() + timeout
        while True:
            self.wake()
            self.idle.clear()
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise TimeoutError("outbox not drained in time")
            try:
                await asyncio.wait_for(self.idle.wait(), remaining)
            except asyncio.TimeoutError as exc:
                raise TimeoutError("outbox not drained in time") from exc
            if await self.db.run(_pending_count) == 0 and not self._in_flight:
                return

    # ------------------------------------------------------------------ loop

    async def _run(self) -> None:
        while not self._stopping:
            try:
                delay = await self._dispatch_once()
            except DatabaseUnavailable as exc:
                log.warning("delivery: database unavailable (%s); retrying", exc)
                delay = 2.0
            except Exception:  # noqa: BLE001 - the worker must survive any single bad cycle
                log.exception("delivery: dispatch cycle failed")
                delay = 1.0
            if self._stopping:
                break
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, min(delay, self.poll_seconds)))
            except asyncio.TimeoutError:
                pass
            self._wake.clear()

    async def _dispatch_once(self) -> float:
        now_wall = utcnow()
        heads = await self.db.run(_chat_heads, now_wall, set(self._in_flight))
        blocked = await self.db.run(_blocked_chats)
        if not heads and not self._in_flight:
            self.idle.set()
            return self.poll_seconds
        mono = self.clock()
        next_wake = self.poll_seconds
        for row in heads:
            if len(self._in_flight) >= self.max_in_flight:
                break
            chat = row.chat_id
            if chat in self._in_flight:
                continue
            if chat in blocked:
                probe_at = self._blocked_probe.get(chat, 0.0)
                if mono < probe_at:
                    next_wake = min(next_wake, probe_at - mono)
                    continue
                self._blocked_probe[chat] = mono + BLOCKED_PROBE_SECONDS
            ready = self.pacer.ready_at(chat, mono)
            if ready > mono:
                next_wake = min(next_wake, ready - mono)
                continue
            leased = await self.db.run(_lease, row.id, self.worker_id, now_wall + self.lease)
            if not leased:
                continue
            slots = self.pacer.start(chat)
            self._in_flight[chat] = asyncio.create_task(self._send(row, slots), name=f"send-{row.id}")
        return next_wake

    # ------------------------------------------------------------------ one send

    async def _send(self, row: Outbox, slots: Any) -> None:
        chat = row.chat_id
        try:
            outcome = await self._call(row)
            ended = self.clock()
            self.pacer.finish(slots, ended)
            await self.db.run(_mark_sent, row.id, outcome, utcnow())
            self.stats.sent += 1
            if chat in self._blocked_probe:
                self._blocked_probe.pop(chat, None)
                await self.db.run(_unblock, chat)
        except RetryAfter as exc:
            ended = self.clock()
            self.pacer.finish(slots, ended)
            wait = _seconds(exc.retry_after)
            self.pacer.pause(chat, ended + wait)
            self.stats.rate_limited += 1
            await self.db.run(_requeue, row.id, None, False, None)
        except ChatMigrated as exc:
            self.pacer.finish(slots, self.clock())
            self.stats.migrated += 1
            await self.db.run(_migrate, chat, exc.new_chat_id, utcnow())
        except Forbidden as exc:
            self.pacer.finish(slots, self.clock())
            self.stats.blocked += 1
            self._blocked_probe[chat] = self.clock() + BLOCKED_PROBE_SECONDS
            await self.db.run(_block, chat, str(exc), utcnow(), self.desk_chat_id, self.blocked_notice)
            await self.db.run(_requeue, row.id, None, False, None)
        except BadRequest as exc:
            self.pacer.finish(slots, self.clock())
            message = str(exc).lower()
            if "not modified" in message:
                await self.db.run(_mark_sent, row.id, None, utcnow())
            elif "chat not found" in message or "not found" in message or "parse" in message or "too long" in message:
                log.error("delivery: outbox row %s refused for good: %s", row.id, exc)
                self.stats.failed += 1
                await self.db.run(_mark_failed, row.id, str(exc))
            else:
                await self._backoff(row, str(exc))
        except (TimedOut, NetworkError) as exc:
            self.pacer.finish(slots, self.clock())
            await self._backoff(row, str(exc))
        except TelegramError as exc:
            self.pacer.finish(slots, self.clock())
            await self._backoff(row, str(exc))
        except DatabaseUnavailable as exc:
            self.pacer.finish(slots, self.clock())
            log.warning("delivery: database unavailable after sending row %s: %s", row.id, exc)
        except Exception as exc:  # noqa: BLE001
            self.pacer.finish(slots, self.clock())
            log.exception("delivery: unexpected error on row %s", row.id)
            try:
                await self._backoff(row, repr(exc))
            except Exception:  # noqa: BLE001
                pass
        finally:
            self._in_flight.pop(chat, None)
            self._wake.set()

    async def _backoff(self, row: Outbox, error: str) -> None:
        self.stats.retried += 1
        delay = min(MAX_BACKOFF, 0.5 * (2 ** min(row.attempts, 12)))
        await self.db.run(_requeue, row.id, utcnow() + timedelta(seconds=delay), True, error)

    async def _call(self, row: Outbox) -> int | None:
        """Send one row; returns Telegram's message id (None for edits)."""
        payload = json.loads(row.payload)
        markup = _markup(payload.get("buttons"))
        if row.method == "sendMessage":
            reply = payload.get("reply_to_message_id")
            msg = await self.bot.send_message(
                row.chat_id, payload["text"], parse_mode=ParseMode.HTML, reply_markup=markup,
                reply_parameters=ReplyParameters(reply, allow_sending_without_reply=True) if reply else None,
                disable_web_page_preview=True,
            )
            return msg.message_id
        if row.method == "editMessageText":
            message_id = await self.db.run(_card_message_id, row.card_id)
            if message_id is None:
                raise BadRequest("card not found: message to edit not found")
            result = await self.bot.edit_message_text(
                payload["text"], chat_id=row.chat_id, message_id=message_id, parse_mode=ParseMode.HTML,
                reply_markup=markup,  # omitted: Telegram removes the inline keyboard
                disable_web_page_preview=True,
            )
            return message_id if result else None
        data = base64.b64decode(payload["data"])
        file = InputFile(data, filename=payload["filename"])
        if row.method == "sendPhoto":
            msg = await self.bot.send_photo(row.chat_id, file, caption=payload.get("caption"),
                                            parse_mode=ParseMode.HTML)
        else:
            msg = await self.bot.send_document(row.chat_id, file, caption=payload.get("caption"),
                                               parse_mode=ParseMode.HTML)
        return msg.message_id


# ---------------------------------------------------------------------- database steps


def _seconds(value: Any) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def _markup(buttons: list[list[dict[str, str]]] | None) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row] for row in buttons]
    )


def _pending_count(session: Session) -> int:
    return session.exec(
        sa_select(func.count()).select_from(Outbox).where(Outbox.status.in_(("pending", "sending")))  # type: ignore[attr-defined]
    ).one()[0]


def _chat_heads(session: Session, now: datetime, busy: set[int]) -> list[Outbox]:
    """The next row of every chat: priority lane first, then oldest; rows whose card is not yet
    sent wait behind it (edits need the card's message id)."""
    ranked = (
        sa_select(
            Outbox.id,
            func.row_number().over(partition_by=Outbox.chat_id, order_by=(Outbox.lane, Outbox.id)).label("rn"),
        )
        .where(Outbox.status == "pending", or_(Outbox.not_before.is_(None), Outbox.not_before <= now))  # type: ignore[union-attr]
        .subquery()
    )
    ids = [r[0] for r in session.exec(sa_select(ranked.c.id).where(ranked.c.rn == 1))]
    if not ids:
        return []
    rows = list(session.exec(select(Outbox).where(Outbox.id.in_(ids)).order_by(Outbox.lane, Outbox.id)))  # type: ignore[attr-defined]
    out = []
    for row in rows:
        if row.chat_id in busy:
            continue
        if row.method == "editMessageText" and row.card_id is not None:
            card = session.get(Card, row.card_id)
            if card is not None and card.message_id is None:
                card_row = session.get(Outbox, card.outbox_id) if card.outbox_id else None
                if card_row is not None and card_row.status == "failed":
                    row.status, row.error = "failed", "its card was never sent"
                    session.add(row)
                continue  # the card is still on its way (perhaps in another chat's lane order)
        out.append(row)
    return out


def _blocked_chats(session: Session) -> set[int]:
    return {c.chat_id for c in session.exec(select(ChatState).where(ChatState.blocked == True))}  # noqa: E712


def _lease(session: Session, row_id: int, worker_id: str, until: datetime) -> bool:
    result = session.exec(
        update(Outbox).where(Outbox.id == row_id, Outbox.status == "pending")
        .values(status="sending", not_before=until)
    )
    return result.rowcount == 1


def _reclaim_leases(session: Session, all_sending: bool = False) -> int:
    """Rows left 'sending' by a process that died go back to the queue."""
    stmt = update(Outbox).where(Outbox.status == "sending")
    if not all_sending:
        stmt = stmt.where(Outbox.not_before < utcnow())
    return session.exec(stmt.values(status="pending", not_before=None)).rowcount


def _mark_sent(session: Session, row_id: int, message_id: int | None, now: datetime) -> None:
    row = session.get(Outbox, row_id)
    if row is None:
        return
    row.status, row.sent_at, row.error, row.not_before = "sent", now, None, None
    row.attempts += 1
    if message_id is not None and row.method != "editMessageText":
        row.message_id = message_id
        card = session.exec(select(Card).where(Card.outbox_id == row_id)).first()
        if card is not None:
            card.message_id = message_id
            card.chat_id = row.chat_id
            session.add(card)
    session.add(row)


def _mark_failed(session: Session, row_id: int, error: str) -> None:
    session.exec(update(Outbox).where(Outbox.id == row_id).values(status="failed", error=error[:2000]))


def _requeue(session: Session, row_id: int, not_before: datetime | None, count_attempt: bool,
             error: str | None) -> None:
    row = session.get(Outbox, row_id)
    if row is None:
        return
    row.status, row.not_before = "pending", not_before
    if count_attempt:
        row.attempts += 1
    row.error = error[:2000] if error else None
    session.add(row)


def _card_message_id(session: Session, card_id: int | None) -> int | None:
    card = session.get(Card, card_id) if card_id is not None else None
    return card.message_id if card else None


def _migrate(session: Session, old: int, new: int, now: datetime) -> None:
    """A group became a supergroup: its new id replaces the old one everywhere, rows go again."""
    state = session.get(ChatState, old) or ChatState(chat_id=old)
    state.migrated_to = new
    session.add(state)
    session.exec(update(Outbox).where(Outbox.chat_id == old, Outbox.status.in_(("pending", "sending")))  # type: ignore[attr-defined]
                 .values(chat_id=new, status="pending", not_before=None))
    session.exec(update(Card).where(Card.chat_id == old).values(chat_id=new))
    session.exec(update(Region).where(Region.chat_id == old).values(chat_id=new))


def _block(session: Session, chat: int, reason: str, now: datetime, desk: int | None,
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


def _unblock(session: Session, chat: int) -> None:
    state = session.get(ChatState, chat)
    if state is not None and state.blocked:
        state.blocked, state.blocked_reason = False, None
        session.add(state)
