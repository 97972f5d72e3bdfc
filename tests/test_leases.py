"""Claim leases end to end: a claim nobody acts on is nudged after the lease (working hours), and
lapses back to unclaimed after twice that; exactly once across sweeps and restarts; a lapse racing
a reply has one clean winner."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.app_context import AppContext
from bot.rules.leases import add_working_hours, lease_points
from bot.workflow import Actor
from bot.workflow.claims import reply
from bot.workflow.leases import sweep_leases
from scheduler.sweep import sweep
from storage.models import Event, Item
from tests.conftest import DESK_CHAT, LANZHOU_CHAT, ZHANG, make_config, unique_id
from tests.harness import Harness

LEASE = 16


@pytest.fixture
def lease_config(db_url: str):  # type: ignore[no-untyped-def]
    return make_config(db_url, claims__lease_hours=LEASE)


async def claimed_item(h: Harness) -> tuple[dict, object]:
    item = await h.post_message(external_id=unique_id(), title="路灯不亮", body="城关区雁滩路路灯不亮，请维修。")
    await h.card(LANZHOU_CHAT, item["id"])
    await h.say(LANZHOU_CHAT, ZHANG, f"/claim {item['id']}")
    await h.answer_to(LANZHOU_CHAT, f"#{item['id']} 已由 张三 认领")
    row = await h.services.db.read(lambda s: s.get(Item, item["id"]))
    return item, row.claimed_at


def lease_times(h: Harness, since):  # type: ignore[no-untyped-def]
    wf = h.services.workflow
    return lease_points(since, LEASE, wf.tz, wf.policy.hours)


async def test_a_claim_left_alone_is_nudged_once_then_lapses_and_the_desk_is_told(lease_config) -> None:  # type: ignore[no-untyped-def]
    async with Harness(lease_config) as h:
        item, claimed_at = await claimed_item(h)
        nudge_at, lapse_at = lease_times(h, claimed_at)
        wf = h.services.workflow
        assert (await h.services.act(sweep_leases, wf, nudge_at - timedelta(minutes=1))) == (0, 0)
        assert (await h.services.act(sweep_leases, wf, nudge_at)) == (1, 0)
        nudge = await h.answer_to(LANZHOU_CHAT, "⏰ 张三")
        assert f"#{item['id']}" in nudge.text
        assert (await h.services.act(sweep_leases, wf, nudge_at + timedelta(minutes=5))) == (0, 0)  # once
        # a restart: another process's context on the same database says nothing again
        other = AppContext.create(h.config)
        try:
            assert other.db.call(sweep_leases, other.workflow, nudge_at + timedelta(minutes=10)) == (0, 0)
            assert other.db.call(sweep_leases, other.workflow, lapse_at) == (0, 1)
            assert other.db.call(sweep_leases, other.workflow, lapse_at + timedelta(hours=1)) == (0, 0)
        finally:
            other.db.dispose()
        await h.answer_to(LANZHOU_CHAT, "已退回待认领")
        await h.answer_to(DESK_CHAT, "已退回待认领")
        stored = await h.get_item(item["id"])
        assert stored["status"] == "new" and stored["claimed_by"] is None
        card = await h.card(LANZHOU_CHAT, item["id"])
        await h.standin.wait_for(lambda st: "认领已超时退回" in st.message(LANZHOU_CHAT, card.message_id).text, timeout=6)
        events = await h.services.db.read(lambda s: [e.action for e in s.exec(
            select(Event).where(Event.item_id == item["id"]))])
        assert events.count("released") == 1
        # the lapsed item can be claimed again
        await h.say(LANZHOU_CHAT, ZHANG, f"/claim {item['id']}")
        await h.answer_to(LANZHOU_CHAT, f"#{item['id']} 已由 张三 认领")


async def test_a_note_renews_the_lease(lease_config) -> None:  # type: ignore[no-untyped-def]
    async with Harness(lease_config) as h:
        item, _claimed_at = await claimed_item(h)
        await h.say(LANZHOU_CHAT, ZHANG, f"/note {item['id']} 已联系供电所")
        await h.answer_to(LANZHOU_CHAT, "进展已记录")
        wf = h.services.workflow
        noted = await h.services.db.read(lambda s: s.exec(select(Event).where(
            Event.item_id == item["id"], Event.action == "note")).first())
        _new_nudge, new_lapse = lease_times(h, noted.at)
        assert (await h.services.act(sweep_leases, wf, new_lapse - timedelta(seconds=1)))[1] == 0
        assert (await h.services.act(sweep_leases, wf, new_lapse)) == (0, 1)


async def test_a_lapse_racing_a_reply_has_one_winner(lease_config) -> None:  # type: ignore[no-untyped-def]
    async with Harness(lease_config) as h:
        s = h.services
        for _ in range(4):
            item, claimed_at = await claimed_item(h)
            _, lapse_at = lease_times(h, claimed_at)
            actor = Actor(ZHANG, "张三", None, None, None, "telegram")
            outcomes = await asyncio.gather(
                s.act(sweep, s.workflow, lapse_at),
                s.act(reply, s.workflow, item["id"], actor, "已修复。", lapse_at),
                return_exceptions=True)
            stored = await h.get_item(item["id"])
            lapsed = await s.db.read(lambda x, i=item["id"]: x.exec(select(Event).where(
                Event.item_id == i, Event.action == "released")).all())
            if stored["status"] == "replied":
                assert not lapsed and not isinstance(outcomes[1], BaseException)
            else:  # the lapse won: the reply was refused (claim it first), nothing half-done
                assert stored["status"] == "new" and len(lapsed) == 1 and stored["reply"] is None
                assert isinstance(outcomes[1], Exception)


def test_leases_count_working_hours_only() -> None:
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    from bot.rules.deadlines import OfficeHours

    tz = ZoneInfo("Asia/Shanghai")
    office = OfficeHours(start=time(9), end=time(18))
    friday_evening = datetime(2026, 11, 27, 17, 0, tzinfo=tz)  # a Friday
    # 1 hour on Friday, then Monday 9:00 + 15 h = Monday 18:00 is 10 h, Tuesday 9:00 + 6 h = 15:00
    assert add_working_hours(friday_evening, 16, tz, office) == datetime(2026, 12, 1, 15, 0, tzinfo=tz)
