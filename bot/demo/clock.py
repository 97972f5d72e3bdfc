"""The sandbox clock: time for ``liuyan demo`` and training, never for a real deployment.

A trainee should see a day of items, reminders, escalation and Monday's weekly roundup in minutes,
so the demo hands :class:`SandboxClock` to ``AppContext.create(config, clock=...)``: it starts at a
chosen instant, runs ``rate`` times faster than real time, can pause, and can jump forward (never
back: deadlines, reminders and the event log assume time only moves on). Everything that reads
``AppContext.now()`` — the scheduler's sweep, handlers, the intake API — then lives in sandbox time.

``liuyan run`` never builds one; :func:`ensure_offline` refuses a config whose Bot API is anything
but a stand-in on this machine, so a sandbox clock cannot end up driving real Telegram chats.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

Listener = Callable[["SandboxClock"], None]


class SandboxClock:
    """A callable returning an aware UTC ``datetime``, as ``AppContext.clock`` expects."""

    def __init__(self, start: datetime, rate: float = 1.0, *,
                 real: Callable[[], float] = time.monotonic) -> None:
        if start.tzinfo is None:
            raise ValueError("the sandbox clock needs an aware start time (with a UTC offset)")
        if rate < 0:
            raise ValueError(f"rate must be 0 or more, got {rate}")
        self._real = real
        self._anchor_sandbox = start.astimezone(UTC)
        self._anchor_real = real()
        self._rate = float(rate)
        self._paused_rate: float | None = None
        self._listeners: list[Listener] = []
        self._changed: asyncio.Event | None = None

    # ------------------------------------------------------------------ reading

    def __call__(self) -> datetime:
        elapsed = (self._real() - self._anchor_real) * self._rate
        return self._anchor_sandbox + timedelta(seconds=elapsed)

    now = __call__

    @property
    def rate(self) -> float:
        """Sandbox seconds per real second (0 while paused)."""
        return self._rate

    @property
    def paused(self) -> bool:
        return self._paused_rate is not None

    def real_seconds_until(self, when: datetime) -> float:
        """Real seconds until the sandbox reaches ``when`` at the current rate (inf while paused)."""
        ahead = (when - self()).total_seconds()
        if ahead <= 0:
            return 0.0
        return float("inf") if self._rate == 0 else ahead / self._rate

    def snapshot(self) -> dict[str, Any]:
        """What the web page needs to run its own display between changes."""
        return {"now": self().isoformat(), "rate": self._rate if not self.paused else 0.0,
                "paused": self.paused, "resume_rate": self._paused_rate or self._rate}

    # ------------------------------------------------------------------ changing

    def _reanchor(self) -> None:
        self._anchor_sandbox = self()
        self._anchor_real = self._real()

    def set_rate(self, rate: float) -> None:
        """Run ``rate`` times faster than real time from now on (resumes a paused clock)."""
        if not rate > 0:
            raise ValueError(f"rate must be above 0 (use pause() to stop the clock), got {rate}")
        self._reanchor()
        self._rate, self._paused_rate = float(rate), None
        self._notify()

    def pause(self) -> None:
        if self.paused:
            return
        self._reanchor()
        self._paused_rate, self._rate = self._rate, 0.0
        self._notify()

    def resume(self) -> None:
        if not self.paused:
            return
        assert self._paused_rate is not None
        self._reanchor()
        self._rate, self._paused_rate = self._paused_rate, None
        self._notify()

    def jump_to(self, when: datetime) -> None:
        """Move the sandbox forward to ``when``; moving back is refused."""
        if when.tzinfo is None:
            raise ValueError("jump_to needs an aware time (with a UTC offset)")
        current = self()
        if when < current:
            raise ValueError(f"the sandbox clock never goes back: it is {current.isoformat()}, "
                             f"asked for {when.isoformat()}")
        self._anchor_sandbox = when.astimezone(UTC)
        self._anchor_real = self._real()
        self._notify()

    def advance(self, delta: timedelta) -> None:
        if delta < timedelta(0):
            raise ValueError("the sandbox clock never goes back")
        self.jump_to(self() + delta)

    # ------------------------------------------------------------------ waiting and listening

    def add_listener(self, fn: Listener) -> None:
        """``fn(clock)`` after every change of rate, pause or jump (not on its steady running)."""
        self._listeners.append(fn)

    def remove_listener(self, fn: Listener) -> None:
        if fn in self._listeners:
            self._listeners.remove(fn)

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None
        for fn in list(self._listeners):
            fn(self)

    async def sleep_until(self, when: datetime) -> None:
        """Return once the sandbox reaches ``when``; a jump or a change of rate re-plans the wait."""
        while True:
            wait = self.real_seconds_until(when)
            if wait <= 0:
                return
            if self._changed is None:
                self._changed = asyncio.Event()
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), None if wait == float("inf") else wait)
            except TimeoutError:
                pass


def ensure_offline(config: Any) -> None:
    """Refuse to run sandbox time against anything but a Bot API on this machine (a stand-in).

    A real deployment talks to api.telegram.org or its own Bot API server; sandbox time there
    would send reminders and reports to real people at the wrong moments.
    """
    host = urlsplit(config.telegram.api_url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise RuntimeError(f"sandbox time is only for the offline demo; telegram.api_url points at {host!r}, "
                           "not at a stand-in on 127.0.0.1")
