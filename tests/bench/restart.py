"""Row 7: a restart with a full outbox: how soon cards flow again, and that no flood follows.

5,000 routine cards go in through the intake API (the last day's messages, as in row 3, so no
early warnings join them); the stand-in enforces Telegram's limits, so they back up. Once every one
of the 14 region groups has had its 20 messages of the minute, the service is killed with SIGKILL
and ``python -m bot run`` is started again at once on the same config and database. Measured from
the new process's start: when the API answers, when the stand-in receives the first sendMessage
(against the earliest moment the limits allowed one, computed from what the stand-in itself
received), and the 429s the stand-in answers in the minute after the restart, which must be none:
the new process starts its pacing from what the old one sent and had in flight.

A second SIGKILL follows once the service has sent at the limits' pace for that minute (the
windows reopening one slot at a time): there the limits hold the first send back for a moment at
most, so its restart-to-first-send time is the start-up cost with a full outbox.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.bench.common import (
    REGIONS,
    BenchEnv,
    Row,
    ServiceProcess,
    batches,
    make_items,
    region_chat,
    split_by_sensitivity,
)

GROUP = (20, 60.0)
TARGET_FIRST_SEND = 5.0  # seconds from process start to the first send, when the limits allow one


@dataclass
class Restart:
    """One kill -9 and start, in seconds from the new process's start."""

    queued: int  # cards still queued when it was killed
    ready: float  # the API answered
    first_send: float  # the stand-in received the first sendMessage
    allowed: float  # the limits allowed a send from (≤ 0: already at the start)
    sent_in_minute: int
    rate_limited: int  # 429s answered in the minute after the start

    @property
    def startup(self) -> float:
        """How long after the limits allowed it the first send came: the process's own delay."""
        return self.first_send - max(0.0, self.allowed)


def allowed_from(sends: dict[int, list[float]], chats: set[int]) -> float:
    """The earliest moment (stand-in clock) one of ``chats`` may receive another message: when the
    oldest of its last 20 leaves the 60-s window."""
    count, period = GROUP
    return min((times[-count] + period if len(times) >= count else 0.0) for chat, times in sends.items()
               if chat in chats)


def sends_by_chat(env: BenchEnv, chats: set[int], before: float = float("inf")) -> dict[int, list[float]]:
    out: dict[int, list[float]] = {chat: [] for chat in chats}
    for r in env.standin.sent_log:
        if r.chat_id in out and r.t < before:
            out[r.chat_id].append(r.t)
    return out


async def kill_and_restart(env: BenchEnv, chats: set[int], cards: int, watch: float) -> Restart:
    """SIGKILL the service, start it again at once, and watch it for ``watch`` seconds."""
    old = env.service
    assert old is not None and old.proc is not None
    old.proc.kill()
    await old.proc.wait()
    await old.stop()
    queued = cards - sum(1 for r in env.standin.sent_log if r.chat_id in chats)
    limited_before = env.rate_limited()
    env.service = ServiceProcess(old.config_path, old.log_path)
    started = time.monotonic()
    await env.service.start()
    allowed = allowed_from(sends_by_chat(env, chats, before=started), chats) - started
    await env.wait_ready()
    ready = time.monotonic() - started

    def first_send(st: Any) -> float | None:
        """The new process's first sendMessage: the first after its first request (``getMe``, as
        PTB starts), so a request the killed process left in the stand-in's buffer is not taken
        for it."""
        hello = next((r.t for r in st.request_log if r.t >= started and r.method == "getMe"), None)
        if hello is None:
            return None
        return next((r.t for r in st.sent_log if r.t >= hello and r.method == "sendMessage"), None)

    first = await env.standin.wait_for(first_send, timeout=max(60.0, allowed + 60.0))
    if time.monotonic() < started + watch:
        # the minute after the restart is what is judged: a measurement window, not a sync
        await asyncio.sleep(started + watch - time.monotonic())
    sent = sum(1 for r in env.standin.sent_log if started <= r.t < started + watch and r.chat_id in chats)
    return Restart(queued, ready, first - started, allowed, sent, env.rate_limited() - limited_before)


async def bench_restart(backlog: int = 5000, db: str | None = None, watch: float = 60.0) -> Row:
    backlog = max(backlog, (GROUP[0] + 5) * len(REGIONS))  # or nothing would be left queued at the kill
    routine, _ = split_by_sensitivity(routine=backlog, sensitive=0)
    cards = make_items(backlog, prefix="restart", pool=routine)
    yesterday = (datetime.now(UTC) - timedelta(hours=25)).isoformat()
    for card in cards:
        card["received_at"] = yesterday
    chats = {region_chat(i) for i in range(len(REGIONS))}
    async with BenchEnv(db=db, enforce_limits=True, name="restart") as env:
        for chunk in batches(cards, 100):
            await env.post(chunk)
        await env.standin.wait_for(  # every group has had its minute's share
            lambda st: all(len(st.messages(c)) >= GROUP[0] for c in chats), timeout=120)
        at_limit = await kill_and_restart(env, chats, backlog, watch)
        steady = await kill_and_restart(env, chats, backlog, watch)
        before = env.rate_limited() - at_limit.rate_limited - steady.rate_limited
    runs = (at_limit, steady)
    no_flood = all(r.rate_limited == 0 for r in runs)
    return Row(
        f"7. Restart: kill -9 and `liuyan run` again with {at_limit.queued:,} cards queued",
        f"first send **{steady.first_send:.2f} s** after the start (API up at {steady.ready:.2f} s); right after "
        f"a minute at the limit the first send came {at_limit.first_send:.2f} s after the start, "
        f"{at_limit.startup:.2f} s after the limits allowed one ({at_limit.allowed:.2f} s); "
        f"**{at_limit.rate_limited} + {steady.rate_limited} × 429** in the minute after each restart "
        f"({at_limit.sent_in_minute} and {steady.sent_in_minute} cards sent in it)",
        f"first send < {TARGET_FIRST_SEND:g} s after the limits allow; 0 × 429",
        no_flood and max(r.startup for r in runs) < TARGET_FIRST_SEND,
        {"at_limit": vars(at_limit), "steady": vars(steady), "rate_limited_before": before},
    )
