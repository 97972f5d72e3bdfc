"""The delivery worker: the one place that sends the outbox to Telegram.

Loop: read the head row of every chat with queued rows (priority lane first, then oldest), start
each one its chat's pacing allows, one request in flight per chat so a chat sees its messages in
order. A row is leased (``status = 'sending'``, ``not_before`` = lease expiry) with a conditional
UPDATE before it is sent, so two workers never send the same row; a chat with a leased row is left
alone by every other worker, which keeps its order across processes too; a crashed process's
leases expire (after longer than any request can take) and are taken over.

Faults: 429 pauses that chat for ``retry_after`` (others go on); 5xx, timeouts and network errors
retry with capped exponential backoff, forever (a card must not be lost) and in order (the chat
waits); a chat migrated to a supergroup has its new id stored everywhere and the send repeated; a
bot removed from a group (403, or "chat not found") keeps the chat's rows queued, tells the desk
once and probes the chat again now and then (at once when the bot is added back).

Time: pacing runs on ``clock`` (monotonic seconds); leases, backoff and the times written to the
outbox on ``wall`` (aware UTC). Tests pass the stand-in's ``FakeClock`` and
``skip_time=clock.advance``: when nothing is in flight and the worker only waits for a pacing window,
it moves the clock instead of sleeping, so a ten-minute burst is checked in seconds.

Restarts: a worker starts its pacing windows from the outbox (the sends of the last minute, with
the times they were recorded, and every row still leased, counted as sent at start), so a process
started again after a crash sends no faster than Telegram's limits allow across the restart.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    ReplyParameters,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.app_context import wall_clock
from bot.delivery import queue, topics, webhooks
from bot.delivery.pacing import Pacer
from bot.delivery.webhooks import WebhookSender
from storage.db import Database, DatabaseUnavailable
from storage.models import Outbox

log = logging.getLogger(__name__)

MAX_BACKOFF = 300.0
BLOCKED_PROBE_SECONDS = 300.0
BAD_REQUEST_ATTEMPTS = 5  # an unexplained 400 is tried this often, then the row is given up
DB_RETRY_SECONDS = 2.0
# Requests in flight at once. Telegram allows ~30 messages a second in all; at its ~100 ms round
# trip 8 requests carry 80 a second. More buys nothing and costs: httpx checks every pooled
# connection on each request, so 32 in flight cost twice the CPU per send of 8 (measured here).
MAX_IN_FLIGHT = 8
IN_FLIGHT_MARGIN = 2.0  # seconds: when a send left in flight by a dead process may still be counted
# Card edits and topic renames wait this long after the first change is seen, so that changes
# made in quick succession (claim, note and reply within a second) reach Telegram as one edit of
# the latest state: one request of the chat's twenty a minute instead of three.
COALESCE_SECONDS = 1.5
FORUM_PROBE_SECONDS = 600.0  # how often the region chats are asked whether they have topics
FIRST_PROBE_SECONDS = 10.0  # how long a start waits for the first answer


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
                 poll_seconds: float = 1.0, max_in_flight: int = MAX_IN_FLIGHT,
                 blocked_notice: Callable[[int, str], str] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], datetime] = wall_clock,
                 skip_time: Callable[[float], None] | None = None,
                 backoff_base: float = 0.5, max_backoff: float = MAX_BACKOFF,
                 probe_seconds: float = BLOCKED_PROBE_SECONDS,
                 coalesce_seconds: float = COALESCE_SECONDS,
                 forum_probe_seconds: float | None = FORUM_PROBE_SECONDS,
                 webhooks: WebhookSender | None = None) -> None:
        self.db = db
        self.bot = bot
        self.desk_chat_id = desk_chat_id
        self.pacer = pacer or Pacer()
        self.lease = timedelta(seconds=lease_seconds)
        self.poll_seconds = poll_seconds
        self.max_in_flight = max_in_flight
        self.blocked_notice = blocked_notice
        self.clock = clock
        self.wall = wall
        self.skip_time = skip_time
        self.backoff_base = backoff_base
        self.max_backoff = max_backoff
        self.probe_seconds = probe_seconds
        self.coalesce_seconds = coalesce_seconds
        self.forum_probe_seconds = forum_probe_seconds
        self._coalescing: dict[tuple[str, int], float] = {}  # card or topic -> when its first change was seen
        self._deferred: dict[int, tuple[str, int]] = {}  # row ids held back while their window lasts
        self._forum_task: asyncio.Task[None] | None = None
        self.webhooks = webhooks  # None: this worker leaves webhook rows to one that sends them
        self.worker_id = uuid.uuid4().hex[:12]
        self.stats = DeliveryStats()
        self._wake = asyncio.Event()
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._blocked_probe: dict[int, float] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._next_reclaim = 0.0
        self._next_states = 0.0
        self._resumed = False  # pacing windows rebuilt from the outbox (at start, or once it answers)
        self._unsettled: dict[int, datetime] = {}  # leases whose outcome a database outage kept unwritten
        self._blocked: set[int] = set()
        self._sole: Any = None  # storage.db.SoleLock while this is the only worker
        self._marks: list[tuple[int, int | None, datetime, asyncio.Future[None]]] = []
        self._mark_task: asyncio.Task[None] | None = None
        self.idle = asyncio.Event()  # set whenever nothing is pending and nothing in flight
        self.polled_at: float | None = None  # time.monotonic() of the last dispatch cycle that read the outbox
        self._db_down = False

    @property
    def rate_limited(self) -> int:
        """Flood-limit answers (429) this worker got since it started."""
        return self.stats.rate_limited

    def use_clock(self, clock: Callable[[], float], skip_time: Callable[[float], None] | None = None) -> None:
        """Switch to another clock (tests: the stand-in's FakeClock) before anything was sent."""
        self.clock, self.skip_time = clock, skip_time
        self.pacer.forget_all()
        self._blocked_probe.clear()

    # ------------------------------------------------------------------ lifecycle

    def wake(self) -> None:
        self._wake.set()

    def probe_now(self, chat_id: int) -> None:
        """The bot was added back to a chat it was removed from: try its queue at once."""
        self._blocked_probe[chat_id] = 0.0
        self.wake()

    async def chat_migrated(self, old: int, new: int) -> None:
        """Telegram said a group became a supergroup: queued rows and cards follow it now."""
        await self.db.run(queue.migrate, old, new, self.wall(), False)
        self.wake()

    async def start(self) -> None:
        try:
            # the only live worker on this database may take back every lease at once: rows left
            # 'sending' by a process that was killed go out now, not when their lease runs out
            self._sole = await self.db.run_sync(self.db.try_sole_lock, "delivery")
            await self._resume_pacing()
            taken = await self.db.run(queue.reclaim_leases, self.wall(), self._sole is not None)
            if taken:
                log.warning("delivery: %d row(s) were being sent when the last process stopped; "
                            "sending them again", len(taken))
        except DatabaseUnavailable as exc:  # the loop retries; the service still starts
            log.warning("delivery: database unavailable at start (%s)", exc)
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="liuyan-delivery")
        if self.forum_probe_seconds is None:  # a one-shot sender: what it sends has its topics decided
            return
        # the first items after a start already know which chats have topics (bounded: a slow
        # Telegram must not hold the start; the background probe goes on)
        first = asyncio.create_task(self._probe_forums_once(), name="liuyan-forums-first")
        try:
            await asyncio.wait_for(asyncio.shield(first), FIRST_PROBE_SECONDS)
        except TimeoutError:
            log.warning("delivery: asking the chats about topics takes long; going on meanwhile")
        self._forum_task = asyncio.create_task(self._probe_forums(first), name="liuyan-forums")

    async def _probe_forums_once(self) -> None:
        from bot.delivery.forums import probe_forums

        try:
            await probe_forums(self.db, self.bot, self.wall)
        except DatabaseUnavailable:
            pass
        except Exception:
            log.warning("delivery: could not ask the chats about topics", exc_info=True)

    async def _probe_forums(self, first: asyncio.Task[None]) -> None:
        """Ask now and then which target chats are forums where the bot may manage topics (a
        group that turns topics on later is picked up for the items that come after)."""
        await first
        while not self._stopping:
            await asyncio.sleep(self.forum_probe_seconds or FORUM_PROBE_SECONDS)  # cancelled by stop()
            await self._probe_forums_once()

    async def _resume_pacing(self) -> None:
        """Start the pacing windows from what Telegram has already counted: the sends of the last
        minute as the outbox recorded them, and every row still leased (its outcome unknown, it
        counts as sent now). A process started again after a crash thus sends no faster than the
        limits allow, measured across the restart. (A database down at start: done before the
        first send once it answers.)"""
        now_wall, mono = self.wall(), self.clock()
        since = now_wall - timedelta(seconds=self.pacer.horizon)
        for chat, at in await self.db.read(queue.recent_sends, since):
            if webhooks.is_key(chat):  # a webhook receiver: not Telegram, not paced
                continue
            if at is None:
                # left in flight by a process that died: its request may still reach Telegram a
                # moment after this start (a busy server reads its socket late), so it counts as
                # sent a little after now, not at now
                self.pacer.record(chat, mono + IN_FLIGHT_MARGIN)
                continue
            self.pacer.record(chat, mono - max(0.0, (now_wall - at).total_seconds()))
        self._resumed = True

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self._forum_task is not None:
            self._forum_task.cancel()
            await asyncio.gather(self._forum_task, return_exceptions=True)
            self._forum_task = None
        if self._in_flight:
            await asyncio.gather(*self._in_flight.values(), return_exceptions=True)
        if self._sole is not None:
            await self.db.run_sync(self._sole.release)
            self._sole = None
        if self.webhooks is not None:
            await self.webhooks.close()

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until nothing is pending (tests, ``sweep``, ``digest --send``)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self.wake()
            self.idle.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError("outbox not drained in time")
            try:
                await asyncio.wait_for(self.idle.wait(), remaining)
            except TimeoutError as exc:
                raise TimeoutError("outbox not drained in time") from exc
            if await self.db.run(queue.pending_count, self.webhooks is not None) == 0 and not self._in_flight:
                return

    # ------------------------------------------------------------------ loop

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()  # what happens from here on is seen by this dispatch or the next
            clock_wait: float | None = None
            failed = True
            try:
                delay, clock_wait = await self._dispatch_once()
                failed = False
                self.polled_at = time.monotonic()
                if self._db_down:
                    log.info("delivery: the database answers again")
                    self._db_down = False
            except DatabaseUnavailable as exc:
                if not self._db_down:  # one line per outage, not one per retry
                    log.warning("delivery: database unavailable (%s); retrying every %s s", exc, DB_RETRY_SECONDS)
                self._db_down = True
                delay = DB_RETRY_SECONDS
            except Exception:
                log.exception("delivery: dispatch cycle failed")
                delay = 1.0
            if self._stopping:
                break
            if self._wake.is_set() and not failed:
                continue  # a send finished or rows came while it looked: look again at once
            if self.skip_time is not None and clock_wait is not None and not self._in_flight:
                # virtual time (tests): the only thing to wait for is a pacing window
                self.skip_time(clock_wait)
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.0, min(delay, self.poll_seconds)))
            except TimeoutError:
                pass

    async def _dispatch_once(self) -> tuple[float, float | None]:
        """Start what may start; returns (seconds until worth looking again, and — when the
        soonest thing to wait for is the pacing clock rather than the wall clock — that wait)."""
        if not self._resumed:
            await self._resume_pacing()
        now_wall = self.wall()
        mono = self.clock()
        if self._unsettled:
            settled = dict(self._unsettled)
            await self.db.run(queue.release_leases, settled)
            for row_id in settled:
                self._unsettled.pop(row_id, None)
        if mono >= self._next_reclaim:
            self._next_reclaim = mono + max(1.0, self.lease.total_seconds() / 4)
            taken = await self.db.run(queue.reclaim_leases, now_wall)
            for chat in taken:  # the dead sender may have posted them: they count from now
                if not webhooks.is_key(chat):
                    self.pacer.record(chat, mono)
            if taken:
                log.warning("delivery: took over %d row(s) whose sender stopped", len(taken))
        # chat states (migrations, blocked chats) change rarely: read them once a second, not
        # every cycle (a busy bot runs hundreds of cycles a second). A row queued meanwhile for a
        # chat that has just migrated is answered "migrated" by Telegram and follows it then.
        states = mono >= self._next_states
        if states:
            self._next_states = mono + 1.0
        if states:
            self._blocked = await self.db.run(queue.chat_states)
        blocked = self._blocked
        # a read: polling the outbox never holds up the writers (commands, intake)
        held = self._held_back(mono)
        heads, repairs = await self.db.read(queue.chat_heads, now_wall, set(self._in_flight), held)
        if repairs:
            await self.db.run(queue.repair_heads, repairs)
            self._wake.set()  # the repaired rows are heads of the next cycle
        if self.webhooks is None:  # webhook rows wait for a worker that sends them
            heads = [h for h in heads if not webhooks.is_key(h.row.chat_id)]
        if not heads and not self._in_flight:
            self.idle.set()
            return self.poll_seconds, None
        next_wake = self.poll_seconds
        wall_wait: float | None = None
        clock_wait: float | None = None
        head_slots: dict[int, Any] = {}
        startable: list[queue.Head] = []
        for head in heads:
            if len(self._in_flight) + len(startable) >= self.max_in_flight:
                break
            row = head.row
            chat = row.chat_id
            if chat in self._in_flight:
                continue
            hold = self._coalesce(head, mono)
            if hold is not None:
                clock_wait = hold if clock_wait is None else min(clock_wait, hold)
                self._wake.set()  # the chat's other rows need not wait for this edit
                continue
            if head.due is not None and head.due > now_wall:
                wait = (head.due - now_wall).total_seconds()
                wall_wait = wait if wall_wait is None else min(wall_wait, wait)
                continue
            if webhooks.is_key(chat):  # a webhook receiver: not Telegram, so not paced
                startable.append(head)
                continue
            if chat in blocked:
                probe_at = self._blocked_probe.get(chat, 0.0)
                if mono < probe_at:
                    clock_wait = probe_at - mono if clock_wait is None else min(clock_wait, probe_at - mono)
                    continue
                self._blocked_probe[chat] = mono + self.probe_seconds
            ready = self.pacer.ready_at(chat, mono)
            if ready > mono:
                clock_wait = ready - mono if clock_wait is None else min(clock_wait, ready - mono)
                continue
            startable.append(head)
            # the pacer counts this send now, so the next head of another chat sees the overall
            # window as it will be; a head that loses its lease gives its slot back below
            head_slots[head.row.id] = self.pacer.start(chat)
        if startable:
            # one transaction leases every row this cycle starts: a busy bot starts dozens at once
            until = now_wall + self.lease
            try:
                leased = await self.db.run(queue.lease_many, [h.row.id for h in startable], until)
            except BaseException:
                for slots in head_slots.values():  # nothing was sent: the pacing windows are as they were
                    self.pacer.release(slots)
                raise
            for head in startable:
                slots = head_slots.pop(head.row.id, None)  # None: a webhook, which takes no slot
                if head.row.id not in leased:
                    if slots is not None:
                        self.pacer.release(slots)
                    continue
                head.row.payload = leased[head.row.id]
                self._in_flight[head.row.chat_id] = asyncio.create_task(
                    self._send(head.row, slots, head.card_message_id, until, head.thread_id),
                    name=f"send-{head.row.id}")
        for wait in (wall_wait, clock_wait):
            if wait is not None:
                next_wake = min(next_wake, wait)
        if clock_wait is not None and wall_wait is not None and wall_wait < clock_wait:
            clock_wait = None  # something is due on the wall clock first: wait for real
        return next_wake, clock_wait

    def _coalesce(self, head: queue.Head, mono: float) -> float | None:
        """Seconds a card edit or topic rename is held back (None: it may go): the first change
        of a card opens a window, and the newest edit when the window ends carries them all."""
        row = head.row
        if row.attempts or self.coalesce_seconds <= 0:
            return None
        if row.method == "editMessageText" and row.card_id is not None:
            key = ("card", row.card_id)
        elif row.method == "editForumTopic" and row.topic_id is not None:
            key = ("topic", row.topic_id)
        else:
            return None
        first = self._coalescing.setdefault(key, mono)
        if mono >= first + self.coalesce_seconds:
            self._coalescing.pop(key, None)
            return None
        self._deferred[row.id or 0] = key
        return first + self.coalesce_seconds - mono

    def _held_back(self, mono: float) -> set[int]:
        """The rows whose coalescing window is still open (the others are forgotten)."""
        held: set[int] = set()
        for row_id, key in list(self._deferred.items()):
            first = self._coalescing.get(key)
            if first is not None and mono < first + self.coalesce_seconds:
                held.add(row_id)
            else:
                del self._deferred[row_id]
        return held

    # ------------------------------------------------------------------ one send

    async def _send(self, row: Outbox, slots: Any, card_message_id: int | None = None,
                    leased_until: datetime | None = None, thread_id: int | None = None) -> None:
        try:
            if row.method == webhooks.METHOD:
                await self._send_webhook(row)
            else:
                await self._send_once(row, slots, card_message_id, thread_id)
        except DatabaseUnavailable as exc:
            # what became of the row could not be written: it keeps its lease, and is given back to
            # the queue as soon as the database answers again rather than when the lease runs out
            log.warning("delivery: database unavailable around row %s: %s", row.id, exc)
            if leased_until is not None:
                self._unsettled[row.id or 0] = leased_until
        except Exception:
            log.exception("delivery: could not settle row %s", row.id)
            if leased_until is not None:
                self._unsettled[row.id or 0] = leased_until
        finally:
            self._in_flight.pop(row.chat_id, None)
            self._wake.set()

    async def _send_once(self, row: Outbox, slots: Any, card_message_id: int | None,
                         thread_id: int | None = None) -> None:
        chat = row.chat_id
        try:
            try:
                outcome = await self._call(row, card_message_id, thread_id)
            except (RetryAfter, ChatMigrated, Forbidden, BadRequest):
                self.pacer.release(slots)  # refused: Telegram posted nothing and counts nothing
                raise
            except NetworkError as exc:
                if _answered(exc):
                    self.pacer.release(slots)
                else:  # a timeout or a broken connection: it may have been posted
                    self.pacer.finish(slots, self.clock())
                raise
            except BaseException:
                self.pacer.finish(slots, self.clock())
                raise
            self.pacer.finish(slots, self.clock())
            if row.method == topics.CREATE and outcome is not None:
                await self.db.run(queue.topic_created, row.id, outcome, self.wall())
            else:
                await self._record_sent(row.id, outcome)
            self.stats.sent += 1
            if chat in self._blocked_probe:
                self._blocked_probe.pop(chat, None)
                self._blocked.discard(chat)
                await self.db.run(queue.unblock, chat)
        except RetryAfter as exc:
            wait = _retry_after(exc)
            self.pacer.pause(chat, self.clock() + wait)
            self.stats.rate_limited += 1
            log.info("delivery: 429 for chat %s, waiting %ss", chat, wait)
            await self.db.run(queue.requeue, row.id, None, False, None)
        except ChatMigrated as exc:
            self.stats.migrated += 1
            log.warning("delivery: chat %s became supergroup %s", chat, exc.new_chat_id)
            await self.db.run(queue.migrate, chat, exc.new_chat_id, self.wall())
        except Forbidden as exc:
            await self._refused_by_chat(row, str(exc))
        except BadRequest as exc:
            message = str(exc).lower()
            if (row.topic_id is not None
                    and await self.db.run(queue.topic_trouble, row.id, str(exc), self.wall())):
                log.info("delivery: topic of row %s: %s", row.id, exc)
            elif "not modified" in message:
                await self.db.run(queue.mark_sent_many, [(row.id, None, self.wall())])
            elif row.method == "editMessageText" and row.card_id is not None and (
                    "message to edit not found" in message or "message can't be edited" in message):
                # the card is gone (deleted, or left behind in a group that became a supergroup):
                # post it again in its current state; later edits go to the new message
                log.warning("delivery: card %s cannot be edited (%s); posting it again", row.card_id, exc)
                await self.db.run(queue.repost_card, row.id)
            elif "chat not found" in message:
                await self._refused_by_chat(row, str(exc))
            elif ("not found" in message or "parse" in message or "too long" in message
                  or row.attempts + 1 >= BAD_REQUEST_ATTEMPTS):
                log.error("delivery: outbox row %s refused for good: %s", row.id, exc)
                self.stats.failed += 1
                await self.db.run(queue.mark_failed, row.id, str(exc))
            else:
                await self._backoff(row, str(exc))
        except (NetworkError, TelegramError) as exc:  # 5xx, timeouts, connection errors
            log.info("delivery: row %s to chat %s failed (%s); retrying", row.id, chat, exc)
            # a timeout or a broken connection may have been posted: Telegram may have counted it,
            # and a process started after a crash must count it too (see _resume_pacing)
            maybe_posted = isinstance(exc, NetworkError) and not _answered(exc)
            await self._backoff(row, str(exc), tried_at=self.wall() if maybe_posted else None)
        except (asyncio.CancelledError, DatabaseUnavailable):
            raise
        except Exception as exc:
            log.exception("delivery: unexpected error on row %s", row.id)
            await self._backoff(row, repr(exc))

    async def _send_webhook(self, row: Outbox) -> None:
        """POST one webhook row (see :mod:`bot.delivery.webhooks`): delivered, tried again after a
        growing pause, or set aside once its receiver has refused it often enough."""
        assert self.webhooks is not None
        answer = await self.webhooks.post(row.payload)
        if answer.delivered:
            await self._record_sent(row.id or 0, None)
            self.stats.sent += 1
            return
        refused = webhooks.refusals(row.payload) + answer.refused
        if refused >= webhooks.REFUSALS_ALLOWED or answer.give_up:
            log.error("delivery: webhook row %s set aside after %d refusals: %s", row.id, refused, answer.error)
            self.stats.failed += 1
            now = self.wall()
            await self.db.run(queue.set_aside_webhook, row.id, answer.error, now, self.desk_chat_id,
                              self.webhooks.set_aside_notice(row.payload, answer, now))
            return
        self.stats.retried += 1
        wait = webhooks.pause(row.attempts, self.backoff_base, self.max_backoff, answer.retry_after)
        log.info("delivery: webhook row %s failed (%s); again in %.1f s", row.id, answer.error, wait)
        await self.db.run(queue.requeue_webhook, row.id, self.wall() + timedelta(seconds=wait), answer.error,
                          webhooks.with_refusals(row.payload, refused))

    async def _record_sent(self, row_id: int, outcome: int | None) -> None:
        """Record a send Telegram accepted. Sends finishing together share one transaction (a
        busy bot finishes dozens at once); the chat's next row waits until this one is recorded,
        so order and the card's message id (which its edits need) are kept."""
        while True:
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._marks.append((row_id, outcome, self.wall(), done))
            if self._mark_task is None or self._mark_task.done():
                self._mark_task = asyncio.create_task(self._flush_marks(), name="liuyan-delivery-marks")
            try:
                await done
                return
            except Exception as exc:
                if self._stopping:
                    raise
                log.warning("delivery: cannot record a sent row yet (%s); retrying", exc)
                await asyncio.sleep(DB_RETRY_SECONDS)

    async def _flush_marks(self) -> None:
        while self._marks:
            batch, self._marks = self._marks, []
            try:
                await self.db.run(queue.mark_sent_many, [(row_id, outcome, at) for row_id, outcome, at, _ in batch])
            except BaseException as exc:
                for *_, done in batch:
                    if not done.done():
                        done.set_exception(exc if isinstance(exc, Exception) else DatabaseUnavailable(repr(exc)))
                if not isinstance(exc, Exception):
                    raise
                continue
            for *_, done in batch:
                if not done.done():
                    done.set_result(None)

    async def _refused_by_chat(self, row: Outbox, reason: str) -> None:
        """403 / chat not found. A group: the bot was removed; keep its queue, tell the desk once.
        A private chat: the officer blocked the bot or never started it; this row cannot go."""
        chat = row.chat_id
        if chat > 0:
            log.warning("delivery: private chat %s refused row %s: %s", chat, row.id, reason)
            self.stats.failed += 1
            await self.db.run(queue.mark_failed, row.id, reason)
            return
        self.stats.blocked += 1
        self._blocked.add(chat)  # at once: the cached set is read again only once a second
        if self._blocked_probe.get(chat, 0.0) <= self.clock():
            self._blocked_probe[chat] = self.clock() + self.probe_seconds
        log.warning("delivery: bot cannot post in chat %s (%s); its messages stay queued", chat, reason)
        await self.db.run(queue.block, chat, reason, self.wall(), self.desk_chat_id, self.blocked_notice)
        await self.db.run(queue.requeue, row.id, None, False, None)

    async def _backoff(self, row: Outbox, error: str, *, tried_at: datetime | None = None) -> None:
        self.stats.retried += 1
        delay = min(self.max_backoff, self.backoff_base * (2 ** min(row.attempts, 16)))
        await self.db.run(queue.requeue, row.id, self.wall() + timedelta(seconds=delay), True, error, tried_at)

    async def _call(self, row: Outbox, card_message_id: int | None = None,
                    thread_id: int | None = None) -> int | None:
        """Send one row; returns Telegram's message id (None for edits; a new topic's thread id)."""
        payload = json.loads(row.payload)
        markup = _markup(payload.get("buttons"))
        if row.method == "sendMessage":
            reply = payload.get("reply_to_message_id")
            msg = await self.bot.send_message(
                row.chat_id, payload["text"], parse_mode=ParseMode.HTML, reply_markup=markup,
                reply_parameters=ReplyParameters(reply, allow_sending_without_reply=True) if reply else None,
                disable_web_page_preview=True, message_thread_id=thread_id,
            )
            return msg.message_id
        if row.method in topics.TOPIC_METHODS:
            return await self._topic_call(row, payload, thread_id)
        if row.method == "editMessageText":
            message_id = card_message_id or await self.db.run(queue.card_message_id, row.card_id)
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


    async def _topic_call(self, row: Outbox, payload: dict[str, Any], thread_id: int | None) -> int | None:
        """A topic operation; one on a topic that could not be created (no forum) is moot."""
        if row.method == topics.CREATE:
            topic = await self.bot.create_forum_topic(row.chat_id, payload["name"])
            return topic.message_thread_id
        if thread_id is None:
            return None
        if row.method == topics.RENAME:
            await self.bot.edit_forum_topic(row.chat_id, thread_id, name=payload["name"])
        elif row.method == topics.CLOSE:
            await self.bot.close_forum_topic(row.chat_id, thread_id)
        else:
            await self.bot.reopen_forum_topic(row.chat_id, thread_id)
        return None


# ---------------------------------------------------------------------- Telegram's answers


def _answered(exc: NetworkError) -> bool:
    """Whether the Bot API answered with an HTTP error (PTB words these "Bad Gateway" or
    "<phrase> (<code>)"), as opposed to a timeout or a connection that broke."""
    if isinstance(exc, TimedOut):
        return False
    text = str(exc)
    return text == "Bad Gateway" or bool(re.search(r"\((5\d\d|4\d\d)\)$", text))


def _retry_after(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the type will become timedelta
        warnings.simplefilter("ignore")
        return _seconds(exc.retry_after)


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

