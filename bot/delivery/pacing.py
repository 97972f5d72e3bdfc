"""Pacing under Telegram's flood limits (pure: the caller passes monotonic seconds).

Telegram allows about 20 messages a minute in one group and 30 a second overall. Unlike
PTB's ``AIORateLimiter`` (a leaky bucket that bursts), this is a strict sliding window: the n-th send
to a group starts no earlier than 60 s after the (n-20)-th send *finished*. Counting from the end of
the earlier request makes the window hold at Telegram's side whatever the network latency, so a
burst goes out at the full allowed rate with no 429 at all.

A send in flight occupies its slot with time +inf until it completes, so concurrency can never
overrun a window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    count: int
    period: float


GROUP_LIMIT = Limit(20, 60.0)
PRIVATE_LIMIT = Limit(1, 1.0)
GLOBAL_LIMIT = Limit(30, 1.0)


class _Window:
    """At most ``limit.count`` sends ending in any ``limit.period`` seconds.

    Requests to different chats overlap and end out of order, so the slots are not kept sorted:
    the earliest free moment is found among all slots still inside the window.
    """

    def __init__(self, limit: Limit) -> None:
        self.limit = limit
        self.slots: list[list[float]] = []

    def next_free(self, now: float) -> float:
        """Earliest time a new send may start (now if there is room)."""
        period, count = self.limit.period, self.limit.count
        if len(self.slots) >= count:
            self.slots = [s for s in self.slots if s[0] + period > now]
        if len(self.slots) < count:
            return now
        ends = sorted(s[0] for s in self.slots)
        # len - count + 1 of them must leave the window; the last of those decides
        return ends[len(ends) - count] + period

    def take(self) -> list[float]:
        slot = [math.inf]
        self.slots.append(slot)
        return slot


class Pacer:
    """Per-chat and overall sliding windows, plus per-chat pauses after a 429."""

    def __init__(self, group: Limit = GROUP_LIMIT, private: Limit = PRIVATE_LIMIT,
                 overall: Limit = GLOBAL_LIMIT, margin: float = 0.05) -> None:
        self.group, self.private, self.margin = group, private, margin
        self.overall = _Window(overall)
        self.chats: dict[int, _Window] = {}
        self.paused_until: dict[int, float] = {}

    def _chat(self, chat_id: int) -> _Window:
        win = self.chats.get(chat_id)
        if win is None:
            win = self.chats[chat_id] = _Window(self.group if chat_id < 0 else self.private)
        return win

    def chat_ready_at(self, chat_id: int, now: float) -> float:
        """When this chat alone would allow the next send (ignoring the overall limit)."""
        at = self._chat(chat_id).next_free(now)
        paused = self.paused_until.get(chat_id, 0.0)
        at = max(at, paused)
        return at if at <= now else at + self.margin

    def overall_ready_at(self, now: float) -> float:
        at = self.overall.next_free(now)
        return at if at <= now else at + self.margin

    def ready_at(self, chat_id: int, now: float) -> float:
        return max(self.chat_ready_at(chat_id, now), self.overall_ready_at(now))

    @property
    def horizon(self) -> float:
        """How far back a send still matters to some window (seconds)."""
        return max(self.group.period, self.private.period, self.overall.limit.period)

    def record(self, chat_id: int, ended: float) -> None:
        """Count a send that ended at ``ended`` (one made before this pacer existed: by the
        process that ran before a restart, or by a worker that died holding a lease)."""
        for window in (self._chat(chat_id), self.overall):
            window.slots.append([ended])

    def start(self, chat_id: int) -> tuple[list[float], list[float]]:
        """Take a slot in the chat's and the overall window; pass the result to :meth:`finish`."""
        return self._chat(chat_id).take(), self.overall.take()

    def finish(self, slots: tuple[list[float], list[float]], ended: float) -> None:
        for slot in slots:
            slot[0] = ended

    def release(self, slots: tuple[list[float], list[float]]) -> None:
        """A request Telegram answered with an error (429, 4xx, 5xx) posted nothing and is not
        counted there: free its slots. (A timeout may have posted; that one is ``finish``ed.)"""
        for window, slot in ((self._chat_for_slot(slots[0]), slots[0]), (self.overall, slots[1])):
            if window is not None:
                for i, s in enumerate(window.slots):
                    if s is slot:
                        del window.slots[i]
                        break

    def _chat_for_slot(self, slot: list[float]) -> _Window | None:
        for window in self.chats.values():
            if any(s is slot for s in window.slots):
                return window
        return None

    def pause(self, chat_id: int, until: float) -> None:
        """After a 429 for one chat: that chat waits, the others go on."""
        self.paused_until[chat_id] = max(self.paused_until.get(chat_id, 0.0), until)

    def forget_all(self) -> None:
        """Drop every window and pause (when the clock is replaced)."""
        self.overall = _Window(self.overall.limit)
        self.chats.clear()
        self.paused_until.clear()

    def forget(self, chat_id: int) -> None:
        self.chats.pop(chat_id, None)
        self.paused_until.pop(chat_id, None)
