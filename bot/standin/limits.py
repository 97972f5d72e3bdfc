"""Telegram's flood limits as strict sliding windows, for the Bot API stand-in.

Telegram documents "no more than 20 messages per minute in the same group" and "about 30 messages
per second" overall. The stand-in enforces them as *strict* sliding windows ("at most N in any
window of W seconds"), which is stricter than a leaky bucket that allows a burst and then drips:
a client that passes here passes on Telegram, and the 429s it gets show where its own pacing is
wrong (PTB's ``AIORateLimiter``, a leaky bucket, is one such client).

Time comes from an injected callable so tests can move a fake clock instead of sleeping.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Hashable

__all__ = ["FakeClock", "RateLimiter", "SlidingWindow", "retry_after_seconds"]


def retry_after_seconds(wait: float) -> int:
    """Telegram's ``retry_after``: whole seconds until a slot frees, never less than 1."""
    return max(1, math.ceil(wait - 1e-9))


class SlidingWindow:
    """At most ``limit`` events in any ``window`` seconds.

    An event at time ``t`` occupies a slot while ``now - t < window``; the slot is free again at
    exactly ``t + window``.
    """

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._events: deque[float] = deque()

    def _purge(self, now: float) -> None:
        while self._events and now - self._events[0] >= self.window:
            self._events.popleft()

    def wait_time(self, now: float) -> float:
        """Seconds until one more event is allowed (0.0 when it is allowed now)."""
        self._purge(now)
        if len(self._events) < self.limit:
            return 0.0
        # The slot that frees first is the one taken by the (len - limit + 1)-th oldest event.
        return self._events[len(self._events) - self.limit] + self.window - now

    def record(self, now: float) -> None:
        self._events.append(now)

    def __len__(self) -> int:
        return len(self._events)


class RateLimiter:
    """Per-chat windows for group chats plus one global window.

    ``check`` does not record anything; call ``record`` once the request has been accepted, so that
    rejected calls (validation errors, 429s) do not use up slots, as on Telegram.
    """

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        per_chat: tuple[int, float] = (20, 60.0),
        overall: tuple[int, float] = (30, 1.0),
    ) -> None:
        self.clock = clock
        self.per_chat = per_chat
        self.overall = overall
        self._chats: dict[Hashable, SlidingWindow] = {}
        self._global = SlidingWindow(*overall)

    def _chat_window(self, chat_key: Hashable) -> SlidingWindow:
        window = self._chats.get(chat_key)
        if window is None:
            window = self._chats[chat_key] = SlidingWindow(*self.per_chat)
        return window

    def check(self, chat_key: Hashable | None, *, global_: bool) -> float:
        """Seconds to wait before this call would be allowed (0.0: allowed now)."""
        now = self.clock()
        wait = 0.0
        if chat_key is not None:
            wait = self._chat_window(chat_key).wait_time(now)
        if global_:
            wait = max(wait, self._global.wait_time(now))
        return wait

    def record(self, chat_key: Hashable | None, *, global_: bool) -> None:
        now = self.clock()
        if chat_key is not None:
            self._chat_window(chat_key).record(now)
        if global_:
            self._global.record(now)

    def reset(self) -> None:
        """Forget all past events (e.g. between phases of a benchmark)."""
        self._chats.clear()
        self._global = SlidingWindow(*self.overall)


class FakeClock:
    """A monotonic clock for tests: ``clock()`` returns ``now``; ``advance`` moves it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
