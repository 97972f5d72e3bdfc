"""Row 2: delivery pacing against the least time Telegram's limits allow.

1,000 routine cards over the 14 region groups go in through the intake API; the service's one
delivery worker sends them with python-telegram-bot over HTTP to the stand-in, which enforces
Telegram's limits strictly (at most 20 messages to a group in any 60 s, 30 sends in any 1 s) and
answers 429 past them. Time runs for real: from the first intake request to the last card's arrival.

The least time (:func:`least_time`) follows from the per-group counts alone: within a group the
m-th and (m+20)-th messages are at least 60 s apart, so a group of n cards needs 60·k s after its
(n−20k)-th card; those first cards of all groups together need the overall limit's time to go out.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import time
from collections import Counter, deque
from collections.abc import Sequence

from tests.bench.common import (
    REGIONS,
    BenchEnv,
    Row,
    batches,
    make_items,
    region_chat,
    split_by_sensitivity,
)

TARGET_RATIO = 1.05
GROUP = (20, 60.0)
OVERALL = (30, 1.0)


def least_time(counts: Sequence[int], group: tuple[int, float] = GROUP,
               overall: tuple[int, float] = OVERALL) -> float:
    """Seconds from the first send to the last that strict sliding windows allow at best.

    For each k ≥ 0 the cards a group sends with at least 20k still behind them, S_k, must all be
    out by T − 60k; the j-th send overall comes no earlier than ⌊(j−1)/30⌋ s. So
    T ≥ max_k (⌊(|S_k|−1)/30⌋·1 s + 60k s), and :func:`simulate` shows a schedule that meets it.
    """
    g_count, g_period = group
    o_count, o_period = overall
    best = 0.0
    k = 0
    while True:
        size = sum(max(0, n - g_count * k) for n in counts)
        if size <= 0:
            return best
        best = max(best, (size - 1) // o_count * o_period + k * g_period)
        k += 1


def simulate(counts: Sequence[int], group: tuple[int, float] = GROUP,
             overall: tuple[int, float] = OVERALL) -> float:
    """A schedule under both windows that sends, whenever allowed, the group with the longest
    chain of 60 s waits still ahead of it: its makespan (equals :func:`least_time`)."""
    g_count, g_period = group
    o_count, o_period = overall
    left = list(counts)
    sent: list[deque[float]] = [deque() for _ in counts]
    overall_sent: deque[float] = deque()
    now, last = 0.0, 0.0
    total = sum(left)
    while total:
        while overall_sent and overall_sent[0] + o_period <= now:
            overall_sent.popleft()
        ready = []
        for g, n in enumerate(left):
            if n == 0:
                continue
            while sent[g] and sent[g][0] + g_period <= now:
                sent[g].popleft()
            if len(sent[g]) < g_count:
                heapq.heappush(ready, (-((n - 1) // g_count), -n, g))
        while ready and len(overall_sent) < o_count:
            _, _, g = heapq.heappop(ready)
            sent[g].append(now)
            overall_sent.append(now)
            left[g] -= 1
            total -= 1
            last = now
            if left[g] and len(sent[g]) < g_count:
                heapq.heappush(ready, (-((left[g] - 1) // g_count), -left[g], g))
        if not total:
            break
        # the next instant a window frees a slot
        if ready:  # groups could send but the overall window is full
            now = overall_sent[0] + o_period
        else:
            now = min(sent[g][0] + g_period for g in range(len(left)) if left[g])
    return last


async def bench_delivery(n: int = 1000, db: str | None = None, *, groups: int = len(REGIONS)) -> Row:
    routine, _ = split_by_sensitivity(routine=n, sensitive=0)
    items = make_items(n, prefix="deliver", pool=routine, regions=range(groups))
    chats = {region_chat(i) for i in range(groups)}
    async with BenchEnv(db=db, enforce_limits=True, name="delivery") as env:
        queue = env.standin.subscribe()
        arrivals: list[float] = []
        per_chat: Counter[int] = Counter()
        done = asyncio.Event()

        async def watch() -> None:
            while True:
                ev = await queue.get()
                if ev["type"] == "message" and ev["chat_id"] in chats and ev["message"]["from"]["is_bot"]:
                    arrivals.append(ev["t"])
                    per_chat[ev["chat_id"]] += 1
                    if len(arrivals) >= n:
                        done.set()

        watcher = asyncio.create_task(watch())
        started = time.monotonic()
        for chunk in batches(items, 100):
            await env.post(chunk)
        intake_done = time.monotonic()
        budget = least_time([n // groups + 1] * groups) * 2 + 60
        try:
            await asyncio.wait_for(done.wait(), budget)
        except TimeoutError:
            pass
        watcher.cancel()
        env.standin.unsubscribe(queue)
        rate_limited = env.rate_limited()
    delivered = len(arrivals)
    counts = sorted(per_chat.values(), reverse=True)
    least = least_time(counts) if counts else math.nan
    took = (max(arrivals) - started) if arrivals else math.inf
    ratio = took / least if least > 0 else math.inf
    ok = delivered == n and ratio <= TARGET_RATIO and rate_limited == 0
    lost = "" if delivered == n else f", only {delivered:,} of {n:,} delivered"
    return Row(
        f"2. Delivery pacing: {n:,} cards over {groups} region groups, real time, stand-in enforcing "
        "20/group/60 s and 30/s",
        f"{took:.1f} s vs least {least:.1f} s: **{ratio:.3f}×**, {rate_limited} × 429{lost}",
        f"≤ {TARGET_RATIO}×, zero 429s",
        ok,
        {"seconds": took, "least": least, "ratio": ratio, "rate_limited": rate_limited, "delivered": delivered,
         "per_group": counts, "intake_seconds": intake_done - started,
         "first_card": (min(arrivals) - started) if arrivals else None},
    )
