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
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    count: int
    period: float


GROUP_LIMIT = Limit(20, 60.0)
PRIVATE_LIMIT = Limit(1, 1.0)
GLOBAL_LIMIT = Limit(30, 1.0)


class _Window:
    def __init__(self, limit: Limit) -> None:
        self.limit = limit
        self.slots: deque[list[float]] = deque()

    def next_free(self, now: float) -> float:
        """Earliest time a new send may start (now if there is room)."""
        while self.slots and self.slots[0][0] + self.limit.period <= now:
            self.slots.popleft()
        if len(self.slots) < self.limit.count:
            return now
        return self.slots[-self.limit.count][0] + self.limit.period

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

    def start(self, chat_id: int) -> tuple[list[float], list[float]]:
        """Take a slot in the chat's and the overall window; pass the result to :meth:`finish`."""
        return self._chat(chat_id).take(), self.overall.take()

    def finish(self, slots: tuple[list[float], list[float]], ended: float) -> None:
        for slot in slots:
            slot[0] = ended

    def release(self, slots: tuple[list[float], list[float]], ended: float) -> None:
        """A request that never reached Telegram's counter (refused before sending) frees its slot
        at ``ended`` all the same: counting it is the safe side."""
        self.finish(slots, ended)

    def pause(self, chat_id: int, until: float) -> None:
        """After a 429 for one chat: that chat waits, the others go on."""
        self.paused_until[chat_id] = max(self.paused_until.get(chat_id, 0.0), until)

    def forget(self, chat_id: int) -> None:
        self.chats.pop(chat_id, None)
        self.paused_until.pop(chat_id, None)
