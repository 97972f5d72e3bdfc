"""Pacing and the priority lane, as Telegram would see them.

The stand-in enforces Telegram's flood limits as strict sliding windows on a FakeClock that the
delivery worker shares: when the worker has nothing in flight and only waits for a window, it moves
the clock instead of sleeping, so minutes of Telegram time pass in seconds here, and every send is
still checked by the stand-in against the clock it was sent at.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import select
from telegram import Bot

from bot.app_context import AppContext, wall_clock
from bot.config import Config
from bot.delivery.outbox import ROUTINE_LANE, enqueue_message
from bot.delivery.pacing import GLOBAL_LIMIT, GROUP_LIMIT, Limit, Pacer
from bot.delivery.worker import DeliveryWorker
from bot.standin import BotApiStandin, FakeClock
from bot.workflow import Incoming
from bot.workflow.intake import intake
from storage.db import Database
from storage.models import Outbox
from tests.conftest import (
    BASE_CONFIG,
    DESK_CHAT,
    LANZHOU,
    LANZHOU_CHAT,
    LEADERS_CHAT,
    TIANSHUI,
    TIANSHUI_CHAT,
    make_config,
)
from tests.harness import Harness

# 14 regions: the two of the base config plus twelve more, each with its own group
REGIONS: list[dict[str, Any]] = [dict(r) for r in BASE_CONFIG["regions"]] + [
    {"code": f"62{n:02d}00", "name": f"测试{n}市", "chat_id": -1001000001000 - n, "aliases": [f"测试{n}"]}
    for n in range(10, 22)
]
REGION_CHATS = {r["code"]: r["chat_id"] for r in REGIONS}
assert len(REGIONS) == 14 and REGION_CHATS[LANZHOU] == LANZHOU_CHAT and REGION_CHATS[TIANSHUI] == TIANSHUI_CHAT

BLAND = "小区路灯坏了很久，晚上出行不便，希望尽快维修。"


def fourteen_regions(db_url: str) -> Config:
    return make_config(db_url, regions=REGIONS)


def window_violations(times: list[float], limit: Limit) -> list[tuple[float, float]]:
    """Pairs (t_i, t_{i+count}) closer than the period: a strict "N in any window" broken."""
    times = sorted(times)
    return [(times[i], times[i + limit.count]) for i in range(len(times) - limit.count)
            if times[i + limit.count] - times[i] < limit.period]


# ---------------------------------------------------------------------- the pacer alone


def test_pacer_holds_a_group_to_20_per_minute_counted_from_request_end() -> None:
    pacer = Pacer()
    now = 0.0
    starts = []
    for _ in range(45):
        now = max(now, pacer.ready_at(-100, now))
        starts.append(now)
        slots = pacer.start(-100)
        now += 0.2  # the request takes 0.2 s
        pacer.finish(slots, now)
    assert starts[19] < 5 and starts[20] >= 60.2 and starts[40] >= 120.4
    assert not window_violations([s + 0.2 for s in starts], GROUP_LIMIT)


def test_pacer_overall_window_survives_requests_that_end_out_of_order() -> None:
    """30 sends in flight to 30 chats finish in any order; the 31st waits for the second that
    really frees a slot, not for the oldest start."""
    pacer = Pacer()
    slots = [pacer.start(-i) for i in range(1, 31)]
    assert pacer.ready_at(-31, 0.0) == float("inf")  # all slots busy: nothing may start
    for i, s in enumerate(slots):  # the first to start ends last
        pacer.finish(s, 10.0 - i * 0.01)
    at = pacer.ready_at(-31, 9.8)
    assert at >= 9.71 + GLOBAL_LIMIT.period  # the earliest end (9.71) plus a second


def test_a_429_pauses_only_its_own_chat() -> None:
    pacer = Pacer()
    pacer.pause(-1, 30.0)
    assert pacer.ready_at(-1, 0.0) >= 30.0
    assert pacer.ready_at(-2, 0.0) == 0.0


# ---------------------------------------------------------------------- the whole service


@pytest.fixture
async def paced(db_url: str):  # type: ignore[no-untyped-def]
    """The service against a stand-in that enforces the limits on a shared FakeClock."""
    clock = FakeClock()
    standin = BotApiStandin(enforce_limits=True, clock=clock)
    await standin.start()
    try:
        async with Harness(fourteen_regions(db_url), standin=standin) as h:
            h.service.delivery.use_clock(clock, clock.advance)
            yield h, clock
    finally:
        await standin.stop()


async def test_burst_of_1000_items_across_14_groups_goes_out_at_the_allowed_rate_with_no_429(paced) -> None:  # type: ignore[no-untyped-def]
    h, clock = paced
    standin: BotApiStandin = h.standin
    codes = list(REGION_CHATS)
    batch = [{"external_id": f"burst-{i}", "body": f"{BLAND}（第{i}件）", "region": codes[i % 14]} for i in range(1000)]
    start_virtual, start_wall = clock(), time.monotonic()
    async with h.http.post("/api/v1/messages", json=batch, headers=h.auth()) as resp:
        assert resp.status == 201, await resp.text()
    chats = set(REGION_CHATS.values())

    def cards_sent(st: BotApiStandin) -> int:
        return sum(1 for r in st.sent_log if r.method == "sendMessage" and r.chat_id in chats)

    await standin.wait_for(lambda st: cards_sent(st) >= 1000, timeout=90)
    virtual, wall = clock() - start_virtual, time.monotonic() - start_wall

    assert standin.stats["429"] == 0, "the stand-in answered 429: pacing let a window overflow"
    per_chat: dict[int, list[float]] = defaultdict(list)
    for r in standin.sent_log:
        if r.method in ("sendMessage", "editMessageText", "sendPhoto", "sendDocument") and r.chat_id < 0:
            per_chat[r.chat_id].append(r.t)
    for chat, times in per_chat.items():
        assert not window_violations(times, GROUP_LIMIT), f"chat {chat}: more than 20 in a minute"
    sends = [r.t for r in standin.sent_log if r.method != "editMessageText"]
    assert not window_violations(sends, GLOBAL_LIMIT)
    for chat in chats:
        assert len(per_chat[chat]) in (71, 72)  # 1000 / 14, every item's card, once
    # the floor: 72 cards in one group need 3 full windows after the first 20 → ≥ 180 s; we
    # should not be much slower than that (a lazy pacer would be)
    assert 180 <= virtual < 240, virtual
    print(f"\nburst: 1000 cards to 14 groups in {virtual:.1f} s of Telegram time "
          f"({wall:.1f} s wall), 0 × 429, {standin.stats['requests']} requests")


async def test_priority_lane_alert_queued_behind_5000_routine_cards_goes_out_first(db_url: str) -> None:
    """Everything is queued while the service is down; the sensitive item comes last. When the
    service starts, its alert is the first message in the leaders' and the desk's chat and its card
    the first in its region's, ahead of 5,000 routine rows queued before it."""
    config = fourteen_regions(db_url)
    now = datetime.now(UTC)
    s = AppContext.create(config)
    try:
        def backlog(session) -> None:  # type: ignore[no-untyped-def]
            chats = [*REGION_CHATS.values(), LEADERS_CHAT, DESK_CHAT]
            for i in range(5000):
                enqueue_message(session, chats[i % len(chats)], f"例行消息 {i}", now=now, lane=ROUTINE_LANE,
                                purpose="card")

        s.db.call(backlog)
        (item, _), = s.db.call(intake, s.workflow, [Incoming(
            "alert-1", "明天上午十点，几十名村民准备去省政府门口集体上访，有人扬言要跳楼。", region=LANZHOU)], now)
        assert item.sensitive, "the test text must be triaged as sensitive"
    finally:
        s.db.dispose()

    clock = FakeClock()
    standin = BotApiStandin(enforce_limits=True, clock=clock)
    await standin.start()
    try:
        async with Harness(config, standin=standin) as h:
            h.service.delivery.use_clock(clock, clock.advance)
            for chat in (LEADERS_CHAT, DESK_CHAT):
                first = await standin.wait_for_message(chat, timeout=20)
                assert f"#{item.id}" in first.text and "例行消息" not in first.text, first.text
            first_card = await standin.wait_for_message(LANZHOU_CHAT, timeout=20)
            assert f"#{item.id}" in first_card.text
            pending = await h.services.db.run(
                lambda session: len(session.exec(select(Outbox.id).where(Outbox.status == "pending")).all()))
            assert pending > 4500  # the backlog is still there: the alert did not wait for it
    finally:
        await standin.stop()


async def test_alert_arriving_during_a_burst_overtakes_the_routine_backlog(paced) -> None:  # type: ignore[no-untyped-def]
    h, clock = paced
    standin: BotApiStandin = h.standin
    now = datetime.now(UTC)

    def backlog(session) -> None:  # type: ignore[no-untyped-def]
        for i in range(300):
            enqueue_message(session, LEADERS_CHAT, f"例行消息 {i}", now=now, lane=ROUTINE_LANE)

    await h.services.act(backlog)
    await standin.wait_for(lambda st: len(st.messages(LEADERS_CHAT)) >= 20, timeout=20)
    item = await h.post_message(external_id="alert-live", region=LANZHOU,
                                body="今晚有人在兰州市政府门口聚集，扬言要跳楼，情况紧急。")
    assert item["sensitive"]
    already = len(standin.messages(LEADERS_CHAT))
    alert = await standin.wait_for_message(LEADERS_CHAT, contains=f"#{item['id']}", timeout=30)
    position = [m.message_id for m in standin.messages(LEADERS_CHAT)].index(alert.message_id)
    assert position <= already + 1  # at most the one routine row that was in flight went before it
    assert "例行消息 299" not in "".join(m.text for m in standin.messages(LEADERS_CHAT))
    payloads = await h.services.db.run(lambda session: [json.loads(r.payload)["text"] for r in session.exec(
        select(Outbox).where(Outbox.chat_id == LEADERS_CHAT, Outbox.status == "pending"))])
    assert len(payloads) > 200


# ---------------------------------------------------------------------- a restart


async def test_a_restarted_worker_paces_from_what_was_sent_and_counts_rows_left_in_flight(db_url: str) -> None:
    """The last process posted 20 messages to a group within the minute, the 20th reached Telegram
    but its process died before writing that down (the row is still leased). A worker started
    afterwards sends that row again and the rest, but only once the minute has passed: the
    stand-in answers no 429, and the group never sees 21 messages in 60 s."""
    clock = FakeClock()
    standin = BotApiStandin(enforce_limits=True, clock=clock)
    await standin.start()
    standin.register_chat(LANZHOU_CHAT, "兰州市联络群", type="supergroup")
    db = Database(db_url)
    db.create_schema()
    now = wall_clock()

    def wall() -> datetime:  # wall time that runs with the fake clock, as real wall time runs with real time
        return now + timedelta(seconds=clock() - 1000.0)

    db.call(lambda s: [enqueue_message(s, LANZHOU_CHAT, f"第{i}条", now=now) for i in range(25)])
    try:
        async with Bot("123456:RESTART", base_url=standin.base_url) as bot:
            first = DeliveryWorker(db, bot, clock=clock, wall=wall, poll_seconds=0.05)  # no skip_time: stays at the limit
            await first.start()
            await standin.wait_for(lambda st: len(st.messages(LANZHOU_CHAT)) >= 20, timeout=20)
            await first.stop()
            assert len(standin.messages(LANZHOU_CHAT)) == 20

            def die_mid_send(session) -> None:  # type: ignore[no-untyped-def]
                last = session.exec(select(Outbox).where(Outbox.status == "sent").order_by(Outbox.id.desc())).first()  # type: ignore[union-attr]
                last.status, last.sent_at, last.not_before = "sending", None, wall() + timedelta(seconds=60)
                session.add(last)

            db.call(die_mid_send)
            second = DeliveryWorker(db, bot, clock=clock, wall=wall, skip_time=clock.advance, poll_seconds=0.05)
            await second.start()
            try:
                await second.drain(timeout=20)
            finally:
                await second.stop()
    finally:
        db.dispose()
        await standin.stop()
    sent = [r.t for r in standin.sent_log if r.chat_id == LANZHOU_CHAT]
    assert len(sent) == 26  # 25 rows, the one left in flight posted twice
    assert standin.stats["429"] == 0
    assert not window_violations(sent, GROUP_LIMIT)
    assert sent[20] >= sent[0] + GROUP_LIMIT.period
