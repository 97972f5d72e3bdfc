"""Row 4: officers' ``/claim`` and ``/reply`` at 200 updates a second, update to answer.

Officers in the 14 region groups claim items and then reply to them; the updates are injected at
the stand-in at a steady 200 a second and reach the bot by long polling, as from Telegram. Each is
timed from its injection to the arrival at the stand-in of the bot's answer to it (the message that
replies to the command). Telegram's limits are off on both sides here - the stand-in does not
enforce them and the service's delivery worker runs with its pacer opened wide - so what is
measured is the bot, not the 20-messages-a-minute group limit (which traffic of this rate hits at
once: each command costs its group two messages, the card's edit and the answer).
"""

from __future__ import annotations

import asyncio
import math
import time

from tests.bench.common import (
    REGIONS,
    BenchEnv,
    Row,
    batches,
    make_items,
    ms,
    officers_of,
    percentile,
    region_chat,
    split_by_sensitivity,
)

TARGET_P99 = 0.100
WAIT_AFTER = 60.0  # seconds after the last update before the unanswered count as lost


def _shown(seconds: float) -> str:
    return f"> {WAIT_AFTER:.0f} s" if math.isinf(seconds) else ms(seconds)
OK_MARKS = ("认领", "已回复")


async def bench_commands(rate: float = 200.0, seconds: float = 10.0, db: str | None = None,
                         delivery: str = "inline") -> Row:
    total = max(2, int(rate * seconds) // 2 * 2)
    count = total // 2
    groups = len(REGIONS)
    routine, _ = split_by_sensitivity(routine=count, sensitive=0)
    # one item more per chat, claimed and replied before the clock starts: a running service has
    # long since compiled its templates and warmed its caches, so the first commands of a fresh one
    # (~150 ms) are not what officers see
    items = make_items(count + groups, prefix="cmd", pool=routine, regions=range(groups))
    region_chats = {region_chat(i) for i in range(groups)}
    async with BenchEnv(db=db, enforce_limits=False, unpaced=True, name="commands", delivery=delivery) as env:
        queue = env.standin.subscribe()
        cards = 0
        all_cards = asyncio.Event()
        sent_at: dict[tuple[int, int], float] = {}
        answers: dict[tuple[int, int], tuple[float, str]] = {}
        all_answered = asyncio.Event()
        warm_keys: set[tuple[int, int]] = set()
        warm_answered: set[tuple[int, int]] = set()
        warm_done = asyncio.Event()

        async def watch() -> None:
            nonlocal cards
            while True:
                ev = await queue.get()
                if ev["type"] != "message" or not ev["message"]["from"]["is_bot"]:
                    continue
                msg = ev["message"]
                key = (ev["chat_id"], msg.get("reply_to_message_id") or 0)
                if key in warm_keys:
                    warm_answered.add(key)
                    if warm_answered >= warm_keys:
                        warm_done.set()
                elif key in sent_at:
                    answers.setdefault(key, (ev["t"], msg["text"] or ""))
                    if len(answers) >= total:
                        all_answered.set()
                elif ev["chat_id"] in region_chats and "📍" in (msg["text"] or ""):
                    cards += 1
                    if cards >= count + groups:
                        all_cards.set()

        watcher = asyncio.create_task(watch())
        ids: list[int] = []
        for chunk in batches(items, 100):
            ids += [it["id"] for it in (await env.post(chunk))["items"]]
        await asyncio.wait_for(all_cards.wait(), 60 + count / 20)  # the cards are out: a quiet bot
        warm, ids = ids[:groups], ids[groups:]
        for command in ("/claim {} ", "/reply {} 已收到，正在核实。"):
            warm_done.clear()
            for region, item_id in enumerate(warm):
                message = env.standin.inject_message(region_chat(region), officers_of(region)[0],
                                                     command.format(item_id).strip())
                warm_keys.add((region_chat(region), message["message_id"]))
            await asyncio.wait_for(warm_done.wait(), 60)

        # (chat, officer, text): claims in turn, each reply one round of 14 chats after its claim
        claims, replies = [], []
        for k, item_id in enumerate(ids):
            region = k % groups
            officer = officers_of(region)[(k // groups) % 2]
            claims.append((region_chat(region), officer, f"/claim {item_id}"))
            replies.append((region_chat(region), officer, f"/reply {item_id} 已转交住建部门核实，三个工作日内答复。"))
        schedule = []
        for j in range(count + groups):
            if j < count:
                schedule.append(claims[j])
            if j >= groups and j - groups < count:
                schedule.append(replies[j - groups])

        started = time.monotonic()
        for i, (chat, user, text) in enumerate(schedule):
            due = started + i / rate
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)  # pacing the load, not synchronising
            message = env.standin.inject_message(chat, user, text)
            sent_at[(chat, message["message_id"])] = time.monotonic()
        injected = time.monotonic() - started
        try:
            await asyncio.wait_for(all_answered.wait(), WAIT_AFTER)
        except TimeoutError:
            pass
        watcher.cancel()
        env.standin.unsubscribe(queue)
    latencies = [answers[k][0] - t for k, t in sent_at.items() if k in answers]
    refused = sum(1 for _, text in answers.values() if not any(m in text for m in OK_MARKS))
    missing = total - len(answers)
    # an update never answered counts as slower than any answered one, not as absent
    ranked = latencies + [math.inf] * missing
    p50, p99 = percentile(ranked, 50), percentile(ranked, 99)
    notes = []
    if missing:
        notes.append(f"{missing} unanswered")
    if refused:
        notes.append(f"{refused} refused")
    achieved = total / injected if injected > 0 else rate
    return Row(
        f"4. Commands: /claim and /reply at {rate:.0f} updates/s in {groups} chats, update → the bot's answer"
        + (" (sent by a child process: `delivery = \"process\"`)" if delivery == "process" else ""),
        f"p50 {_shown(p50)}, **p99 {_shown(p99)}** ({total:,} updates at {achieved:.0f}/s"
        + (f"; {', '.join(notes)}" if notes else "") + ")",
        f"p99 < {TARGET_P99 * 1000:.0f} ms",
        not missing and not refused and p99 < TARGET_P99,
        {"p50": p50, "p99": p99, "max_answered": max(latencies) if latencies else None, "updates": total,
         "rate": achieved, "missing": missing, "refused": refused, "delivery": delivery,
         "latencies_ms_in_order": [round(x * 1000, 1) for x in latencies]},
    )


async def highest_passing_rate(rates: tuple[float, ...] = (150.0, 100.0, 75.0, 50.0, 25.0), seconds: float = 5.0,
                               db: str | None = None, delivery: str = "inline") -> tuple[float, Row] | None:
    """The first of ``rates`` (highest first) at which p99 stays under the target: what a deployment
    on this machine can take with answers inside 100 ms. Each rate runs on a fresh service."""
    for rate in rates:
        row = await bench_commands(rate, seconds, db, delivery)
        if row.passed:
            return rate, row
    return None
