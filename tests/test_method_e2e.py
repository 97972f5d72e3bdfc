"""报前核查, 回头看 and 重办 end to end against the Bot API stand-in: people type commands and press
buttons in the chats, the citizen rates through the API, and time moves only through sweeps at
chosen instants — read back from the chats, the API and the event log.

The week: Mon 2026-11-23 .. Sun 11-29; its roundup is due Mon 11-30 09:00, the verification
Fri 11-27 17:00 (the default), its one reminder Fri 09:00.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.config import Config
from bot.reports.builder import build_report, render_full_html, weekly_period
from bot.standin import BotApiStandin
from scheduler.sweep import sweep
from storage.models import Event, Outbox, Selection
from tests.conftest import (
    DESK_CHAT,
    LANZHOU_CHAT,
    LEADERS_CHAT,
    LI,
    TIANSHUI_CHAT,
    WANG,
    ZHANG,
    ZHAO,
    make_config,
    unique_id,
)
from tests.harness import Harness

TZ = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    """Local wall-clock time in 2026, e.g. ``at("11-24 10:00")``."""
    return datetime.fromisoformat(f"2026-{text}").replace(tzinfo=TZ)


def frozen(h: Harness, now: datetime) -> None:
    h.services.clock = lambda: now


async def run_sweep(h: Harness, now: datetime) -> dict[str, int]:
    s = h.services
    report = await s.act(sweep, s.workflow, now)
    await h.drain()
    return report.queued


def mentions(message: Any) -> list[int]:
    return [e["user"]["id"] for e in message.entities if e["type"] == "text_mention"]


async def new_item(h: Harness, body: str, received: str = "2026-11-23T09:00:00+08:00") -> dict[str, Any]:
    item = await h.post_message(external_id=unique_id(), body=body, received_at=received)
    assert item["region"] is not None
    return item


async def press(h: Harness, chat_id: int, message_id: int, user_id: int, data: str, *,
                check: bool = True) -> dict[str, Any]:
    """``check=False``: a forged press, with data the message carries no button for."""
    query = h.standin.press_button(chat_id, message_id, user_id, data, check=check)
    return await h.standin.wait_callback_answer(query)


def texts(h: Harness, chat_id: int, contains: str) -> list[str]:
    return [m.text or "" for m in h.standin.messages(chat_id) if contains in (m.text or "")]


async def until_status(h: Harness, item_id: int, status: str, timeout: float = 5.0) -> dict[str, Any]:
    """The item once the API shows ``status`` (a command's effect, polled with a deadline)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        item = await h.get_item(item_id)
        if item["status"] == status or asyncio.get_running_loop().time() > deadline:
            assert item["status"] == status, item
            return item
        await asyncio.sleep(0.05)


def actions(h: Harness, item_id: int) -> list[str]:
    def q(session):  # type: ignore[no-untyped-def]
        return [e.action for e in session.exec(select(Event).where(Event.item_id == item_id).order_by(Event.id))]
    return h.services.db.call(q)


# ---------------------------------------------------------------------------- 报前核查


async def test_items_are_chosen_verified_reminded_once_and_listed_in_the_roundup(harness: Harness) -> None:
    h = harness
    frozen(h, at("11-24 10:00"))
    a = await new_item(h, "城关区雁滩路夜间施工噪音扰民，请查处。")
    b = await new_item(h, "七里河区某小区路灯坏了一个月。")
    c = await new_item(h, "麦积区某村道路塌陷，车辆无法通行。")
    card_b = await h.card(LANZHOU_CHAT, b["id"])
    await h.card(TIANSHUI_CHAT, c["id"])

    # only supervisors choose, by command in any chat or by the card's button
    await h.say(LANZHOU_CHAT, ZHANG, f"/select {a['id']}")
    await h.answer_to(LANZHOU_CHAT, "只有督办人员可以选送留言")
    await h.say(DESK_CHAT, ZHAO, f"/select {a['id']}")
    await h.answer_to(DESK_CHAT, f"#{a['id']} 已选入领导周报")
    ask_a = await h.answer_to(LANZHOU_CHAT, f"报前核查：#{a['id']}")
    assert "报前核查" in ask_a.text and "2026-11-27 17:00" in ask_a.text
    assert [b_["callback_data"] for b_ in ask_a.reply_markup["inline_keyboard"][0]] == [
        f"vf_t:{a['id']}", f"vf_p:{a['id']}", f"vf_f:{a['id']}"]
    await h.say(DESK_CHAT, ZHAO, f"/select {a['id']}")
    await h.answer_to(DESK_CHAT, f"#{a['id']} 已选入 2026-11-30 09:00 的领导周报")

    popup = await press(h, LANZHOU_CHAT, card_b.message_id, ZHANG, f"select:{b['id']}")
    assert popup["show_alert"] and "只有督办人员可以选送" in popup["text"]
    popup = await press(h, LANZHOU_CHAT, card_b.message_id, ZHAO, f"select:{b['id']}")
    assert popup["text"] == f"已选送 #{b['id']}，已请属地核查"
    await h.say(TIANSHUI_CHAT, ZHAO, f"/select {c['id']}")
    await h.answer_to(TIANSHUI_CHAT, f"报前核查：#{c['id']}")

    # verifying an item of another region is refused; the button and the command record a verdict
    await h.say(TIANSHUI_CHAT, WANG, f"/verify {a['id']} true")
    await h.answer_to(TIANSHUI_CHAT, f"你不是兰州市的联络员，不能办理 #{a['id']}")
    popup = await press(h, LANZHOU_CHAT, ask_a.message_id, WANG, f"vf_t:{a['id']}")
    assert popup["show_alert"] and "不是兰州市的联络员" in popup["text"]
    popup = await press(h, LANZHOU_CHAT, ask_a.message_id, ZHANG, f"vf_p:{a['id']}")
    assert popup["text"] == f"#{a['id']} 核查结果：部分属实"
    await h.say(LANZHOU_CHAT, LI, f"/verify {a['id']} false")
    await h.answer_to(LANZHOU_CHAT, f"#{a['id']} 已由 张三 核查：部分属实")
    await h.say(LANZHOU_CHAT, LI, f"/verify {b['id']} maybe")
    await h.answer_to(LANZHOU_CHAT, "“maybe”不是核查结果")
    await h.say(LANZHOU_CHAT, LI, f"/verify {b['id']}")
    await h.answer_to(LANZHOU_CHAT, "用法：/verify 编号")
    frozen(h, at("11-25 15:00"))
    await h.say(LANZHOU_CHAT, LI, f"/verify {b['id']} 属实 现场核实，路灯确已损坏")
    await h.answer_to(LANZHOU_CHAT, f"#{b['id']} 核查结果：属实")
    await h.say(LANZHOU_CHAT, LI, "/verify 99999 true")
    await h.answer_to(LANZHOU_CHAT, "没有编号为 #99999 的留言")

    # the one reminder goes to the chat of the item not verified, once
    assert "verification_reminders" not in await run_sweep(h, at("11-27 08:30"))
    assert (await run_sweep(h, at("11-27 09:00")))["verification_reminders"] == 1
    assert "verification_reminders" not in await run_sweep(h, at("11-27 09:30"))
    reminder = await h.answer_to(TIANSHUI_CHAT, "报前核查提醒")
    assert f"#{c['id']}" in reminder.text and len(texts(h, TIANSHUI_CHAT, "报前核查提醒")) == 1
    assert not texts(h, LANZHOU_CHAT, "报前核查提醒")

    # Monday's roundup lists each chosen item with its verdict and note, 未核查 for the rest
    queued = await run_sweep(h, at("11-30 09:00"))
    assert queued.get("weekly_report") == 1
    roundup = await h.answer_to(LEADERS_CHAT, "报前核查")
    section = roundup.text[roundup.text.index("报前核查"):]
    assert f"#{a['id']}" in section and "部分属实" in section
    assert "属实 — 现场核实，路灯确已损坏" in section
    assert f"#{c['id']}" in section and "未核查" in section
    assert "selected" in actions(h, a["id"]) and "verified" in actions(h, a["id"])
    assert "verify_reminded" in actions(h, c["id"])
    s = h.services
    report = s.db.call(lambda session: build_report(session, s.config, weekly_period(at("11-30 09:00"), TZ),
                                                    at("11-30 09:00")))
    document = render_full_html(report, s.renderer)
    assert "部分属实" in document and "现场核实，路灯确已损坏" in document and "未核查" in document

    # the monthly report counts verifications on time
    queued = await run_sweep(h, at("12-01 09:00"))
    monthly = await h.answer_to(LEADERS_CHAT, "月度留言办理通报")
    assert "报前核查 3 条：按时核查 2 条，逾期核查 0 条，未核查 1 条" in monthly.text


async def test_a_restart_between_selection_and_reminder_keeps_one_reminder_and_the_verdicts(config: Config) -> None:
    standin = BotApiStandin()
    await standin.start()
    try:
        async with Harness(config, standin=standin) as h:
            frozen(h, at("11-24 10:00"))
            a = await new_item(h, "城关区某小区电梯经常停运。")
            b = await new_item(h, "七里河区某路口红绿灯故障。")
            await h.say(DESK_CHAT, ZHAO, f"/select {a['id']}")
            await h.say(DESK_CHAT, ZHAO, f"/select {b['id']}")
            await h.answer_to(LANZHOU_CHAT, f"报前核查：#{b['id']}")
            await h.say(LANZHOU_CHAT, ZHANG, f"/verify {a['id']} true 电梯确实停运，已督促物业维修")
            await h.answer_to(LANZHOU_CHAT, f"#{a['id']} 核查结果：属实")
        # stopped; started again on Friday, then stopped and started again
        async with Harness(config, standin=standin) as h:
            assert (await run_sweep(h, at("11-27 09:10")))["verification_reminders"] == 1
            await h.answer_to(LANZHOU_CHAT, "报前核查提醒")
        async with Harness(config, standin=standin) as h:
            assert "verification_reminders" not in await run_sweep(h, at("11-27 09:40"))
            assert "verification_reminders" not in await run_sweep(h, at("11-27 16:00"))
            reminders = texts(h, LANZHOU_CHAT, "报前核查提醒")
            assert len(reminders) == 1 and f"#{b['id']}" in reminders[0] and f"#{a['id']}" not in reminders[0]
            rows = h.services.db.call(lambda s: list(s.exec(select(Outbox).where(Outbox.purpose == "verify_remind"))))
            assert len(rows) == 1
            await run_sweep(h, at("11-30 09:00"))
            roundup = await h.answer_to(LEADERS_CHAT, "报前核查")
            assert "属实 — 电梯确实停运，已督促物业维修" in roundup.text and "未核查" in roundup.text
    finally:
        await standin.stop()


async def test_the_roundups_key_items_are_proposed_to_the_desk(harness: Harness) -> None:
    h = harness
    frozen(h, at("11-24 10:00"))
    hot = await h.post_message(external_id=unique_id(), body="城关区某小区供暖不热，室温只有十二度。",
                               received_at="2026-11-24T09:00:00+08:00", likes=40)
    await new_item(h, "七里河区某小区门口垃圾无人清运。")  # no supporters: not key
    assert "verification_proposals" not in await run_sweep(h, at("11-26 16:00"))
    assert (await run_sweep(h, at("11-26 17:30")))["verification_proposals"] == 1
    assert "verification_proposals" not in await run_sweep(h, at("11-26 18:00"))
    proposal = await h.answer_to(DESK_CHAT, "本周重点留言")
    assert f"#{hot['id']}" in proposal.text and "👍40" in proposal.text
    assert [row[0]["callback_data"] for row in proposal.reply_markup["inline_keyboard"]] == [f"select:{hot['id']}"]
    popup = await press(h, DESK_CHAT, proposal.message_id, ZHAO, f"select:{hot['id']}")
    assert popup["text"] == f"已选送 #{hot['id']}，已请属地核查"
    ask = await h.answer_to(LANZHOU_CHAT, f"报前核查：#{hot['id']}")
    assert "2026-11-27 17:00" in ask.text
    # a button naming an item the proposal does not offer changes nothing
    popup = await press(h, DESK_CHAT, proposal.message_id, ZHAO, f"select:{hot['id'] + 1}", check=False)
    assert popup["show_alert"]
    assert h.services.db.call(lambda s: len(list(s.exec(select(Selection))))) == 1


# ---------------------------------------------------------------------------- 回头看


async def test_followup_is_asked_after_working_days_answered_by_the_holder_and_asked_again(config: Config) -> None:
    cfg = make_config(config.database.url, followup={"after_days": 2})
    async with Harness(cfg) as h:
        frozen(h, at("11-23 10:00"))
        a = await new_item(h, "城关区某小区楼道堆放杂物，存在消防隐患。")
        b = await new_item(h, "七里河区某路段下水道堵塞，污水外溢。")
        for item in (a, b):
            await h.say(LANZHOU_CHAT, ZHANG, f"/claim {item['id']}")
            await h.say(LANZHOU_CHAT, ZHANG, f"/reply {item['id']} 已协调物业和街道处理。")
            await h.answer_to(LANZHOU_CHAT, f"#{item['id']} 已回复")
        assert (await h.get_item(a["id"]))["followup"] is None
        await h.say(LANZHOU_CHAT, ZHANG, f"/followup {a['id']} maybe")
        await h.answer_to(LANZHOU_CHAT, "“maybe”不是回头看结果")

        # due at the end of the 2nd working day after the reply; asked at the first sweep in office hours
        for quiet in ("11-25 17:00", "11-25 19:00", "11-26 08:30"):
            assert "followups" not in await run_sweep(h, at(quiet))
        assert (await run_sweep(h, at("11-26 09:00")))["followups"] == 2
        assert "followups" not in await run_sweep(h, at("11-26 10:00"))
        asks = [m for m in h.standin.messages(LANZHOU_CHAT) if "回头看" in (m.text or "") and "问题是否已经解决" in (m.text or "")]
        assert len(asks) == 2 and all(mentions(m) == [ZHANG] for m in asks)
        ask_a = next(m for m in asks if f"#{a['id']}" in m.text)

        # someone who does not hold it and is no supervisor is refused
        popup = await press(h, LANZHOU_CHAT, ask_a.message_id, LI, f"fu_ok:{a['id']}")
        assert popup["show_alert"] and "只有办理人或督办人员可以回答回头看" in popup["text"]
        await h.say(LANZHOU_CHAT, LI, f"/followup {a['id']} solved")
        await h.answer_to(LANZHOU_CHAT, f"#{a['id']} 由 张三 办理，只有办理人或督办人员")
        assert (await h.get_item(a["id"]))["followup"] is None

        frozen(h, at("11-26 11:00"))
        popup = await press(h, LANZHOU_CHAT, ask_a.message_id, ZHANG, f"fu_on:{a['id']}")
        assert popup["text"] == f"#{a['id']} 回头看已记录"
        assert (await h.get_item(a["id"]))["followup"] == "ongoing"
        await h.say(LANZHOU_CHAT, ZHAO, f"/followup {b['id']} solved 已疏通")
        await h.answer_to(LANZHOU_CHAT, f"#{b['id']} 回头看：问题已解决")
        assert (await h.get_item(b["id"]))["followup"] == "solved"

        # "ongoing" comes back after_days working days after the answer: Mon 11-30 18:00
        assert "followups" not in await run_sweep(h, at("11-30 17:00"))
        queued = await run_sweep(h, at("12-01 09:00"))
        assert queued["followups"] == 1 and queued.get("monthly_report") == 1
        again = await h.answer_to(LANZHOU_CHAT, "上次回头看时仍在整改")
        assert f"#{a['id']}" in again.text
        monthly = await h.answer_to(LEADERS_CHAT, "月度留言办理通报")
        assert "仍在整改" in monthly.text and f"#{a['id']}" in monthly.text and f"#{b['id']}" not in monthly.text.split("仍在整改")[1]
        await h.say(LANZHOU_CHAT, ZHANG, f"/followup {a['id']} 已解决 物业已清理完毕")
        await h.answer_to(LANZHOU_CHAT, f"#{a['id']} 回头看：问题已解决")
        assert (await h.get_item(a["id"]))["followup"] == "solved"
        assert "followups" not in await run_sweep(h, at("12-10 10:00"))
        assert actions(h, a["id"]).count("followup_asked") == 2 and actions(h, a["id"]).count("followup") == 2


async def test_followup_is_off_without_its_section(harness: Harness) -> None:
    h = harness
    frozen(h, at("11-23 10:00"))
    a = await new_item(h, "城关区某小区楼道堆放杂物。")
    await h.say(LANZHOU_CHAT, ZHANG, f"/claim {a['id']}")
    await h.say(LANZHOU_CHAT, ZHANG, f"/reply {a['id']} 已处理。")
    await h.answer_to(LANZHOU_CHAT, f"#{a['id']} 已回复")
    assert "followups" not in await run_sweep(h, at("12-21 10:00"))
    await h.say(LANZHOU_CHAT, ZHANG, f"/followup {a['id']} solved")
    await h.answer_to(LANZHOU_CHAT, "本部署没有开启回头看")


# ---------------------------------------------------------------------------- 重办


async def test_an_unsatisfied_rating_reopens_the_item_for_its_holder(config: Config) -> None:
    cfg = make_config(config.database.url, followup={"after_days": 2})
    async with Harness(cfg) as h:
        frozen(h, at("11-23 10:00"))
        a = await new_item(h, "城关区某小区路灯不亮，晚上出行不便。")
        first_card = await h.card(LANZHOU_CHAT, a["id"])
        assert h.http is not None
        async with h.http.post(f"/api/v1/messages/{a['id']}/rating", json={"rating": "unsatisfied"},
                               headers=h.auth()) as resp:
            assert resp.status in (400, 409) and "not been replied" in (await resp.json())["error"]
        await h.say(LANZHOU_CHAT, ZHANG, f"/claim {a['id']}")
        await h.say(DESK_CHAT, ZHAO, f"/supervise {a['id']}")
        await h.answer_to(DESK_CHAT, f"#{a['id']}")
        await h.say(LANZHOU_CHAT, ZHANG, f"/reply {a['id']} 已联系供电所维修。")
        await h.answer_to(LANZHOU_CHAT, f"#{a['id']} 已回复")
        await run_sweep(h, at("11-26 09:00"))  # the look-back is asked ...
        async with h.http.post(f"/api/v1/messages/{a['id']}/rating", json={"rating": "satisfied"},
                               headers=h.auth()) as resp:
            assert resp.status == 200
        frozen(h, at("11-26 10:00"))
        await h.say(LANZHOU_CHAT, ZHANG, f"/followup {a['id']} ongoing 等待配件")
        await h.answer_to(LANZHOU_CHAT, f"#{a['id']} 回头看：仍在整改")

        # ... then the citizen, unsatisfied after all: reopened, a new card, a new deadline
        frozen(h, at("11-26 10:30"))
        async with h.http.post(f"/api/v1/messages/{a['id']}/rating",
                               json={"rating": "unsatisfied", "comment": "路灯还是不亮"}, headers=h.auth()) as resp:
            body = await resp.json()
            assert resp.status == 200, body
        assert body["status"] == "reopened" and body["rating"] == "unsatisfied" and body["followup"] is None
        assert body["supervised"] is True and body["claimed_by"] == ZHANG
        # ordinary: 5 working days from the rating (Thu 12-03 18:00); supervision halves the 52.5 office
        # hours left from the reopening (Thu 11-26 10:30) to 26.25: Tue 12-01 09:45, inside office hours
        assert body["deadline"] == "2026-12-01T09:45:00+08:00"
        def reopened_card(st: BotApiStandin) -> Any:
            return next((m for m in st.messages(LANZHOU_CHAT)
                         if m.message_id > first_card.message_id and "路灯还是不亮" in (m.text or "")), None)

        await h.standin.wait_for(lambda st: reopened_card(st) is not None)
        new_card = reopened_card(h.standin)
        assert new_card.text.startswith(f"🔁 #{a['id']}") and "重办" in new_card.text
        assert mentions(new_card) == [ZHANG]
        await h.standin.wait_for(lambda st: "重办" in (st.message(LANZHOU_CHAT, first_card.message_id).text or ""))
        await h.say(LANZHOU_CHAT, ZHANG, "/mine")
        mine = await h.answer_to(LANZHOU_CHAT, "我办理中的留言")
        assert f"#{a['id']}" in mine.text and "🔁重办" in mine.text
        async with h.http.post(f"/api/v1/messages/{a['id']}/rating", json={"rating": "satisfied"},
                               headers=h.auth()) as resp:
            assert resp.status in (400, 409)  # a reopened item has no reply to rate yet

        # an open item again: the reminders and the overdue escalation see it; its holder is named
        assert "followups" not in await run_sweep(h, at("11-30 09:00"))
        roundup = await h.answer_to(LEADERS_CHAT, "重办 1 条")  # Monday's roundup of the week it was reopened
        assert "每周留言办理综述" in roundup.text
        await run_sweep(h, at("12-01 10:00"))  # past the supervised deadline, 12-01 09:45
        escalation = await h.answer_to(DESK_CHAT, "督办：以下留言已超过办理时限")
        assert f"#{a['id']}" in escalation.text
        frozen(h, at("12-01 10:10"))
        await h.say(LANZHOU_CHAT, ZHANG, "/overdue")
        listing = await h.answer_to(LANZHOU_CHAT, "已超期的留言（兰州市）")
        assert f"#{a['id']}" in listing.text

        # replied again by its holder (not by another officer), then rated: the latest rating counts
        frozen(h, at("12-01 10:20"))
        await h.say(LANZHOU_CHAT, LI, f"/reply {a['id']} 已修好。")
        await h.answer_to(LANZHOU_CHAT, f"#{a['id']} 由 张三 办理")
        await h.say(LANZHOU_CHAT, ZHANG, f"/reply {a['id']} 已更换灯具，路灯恢复正常。")
        await until_status(h, a["id"], "replied")
        frozen(h, at("12-01 11:00"))
        async with h.http.post(f"/api/v1/messages/{a['id']}/rating", json={"rating": "satisfied"},
                               headers=h.auth()) as resp:
            assert (await resp.json())["rating"] == "satisfied"
        got = await h.get_item(a["id"])
        assert got["status"] == "replied" and got["followup"] is None
        assert ["rated", "reopened"] == [x for x in actions(h, a["id"]) if x in ("rated", "reopened")][1:3]

        # the next roundup counts the satisfaction after 重办
        await run_sweep(h, at("12-07 09:00"))
        roundup = await h.answer_to(LEADERS_CHAT, "重办后满意率")
        assert "重办 0 条，重办后满意率 100.0%（评价 1 条）" in roundup.text
        # the rating and the reopening are in the event log, for the changes feed
        payload = h.services.db.call(lambda session: [json.loads(e.detail) for e in session.exec(
            select(Event).where(Event.item_id == a["id"], Event.action == "reopened"))])
        assert payload[0]["comment"] == "路灯还是不亮" and payload[0]["holder"] == "张三"


async def test_the_configured_verification_deadline_reminder_and_proposal_are_used(config: Config) -> None:
    cfg = make_config(config.database.url, verification={"due": "Thu 16:30", "remind_before_hours": 2,
                                                          "propose_before_hours": 3})
    async with Harness(cfg) as h:
        frozen(h, at("11-24 10:00"))
        a = await new_item(h, "城关区某小区供暖不热。")
        await h.post_message(external_id=unique_id(), body="七里河区某路段积水严重，行人无法通过。",
                             received_at="2026-11-24T09:00:00+08:00", likes=12)
        await h.say(DESK_CHAT, ZHAO, f"/select {a['id']}")
        ask = await h.answer_to(LANZHOU_CHAT, f"报前核查：#{a['id']}")
        assert "2026-11-26 16:30" in ask.text
        assert "verification_proposals" not in await run_sweep(h, at("11-26 13:00"))
        queued = await run_sweep(h, at("11-26 14:00"))
        assert queued.get("verification_proposals") == 1 and "verification_reminders" not in queued
        assert (await run_sweep(h, at("11-26 14:30")))["verification_reminders"] == 1
        await h.answer_to(LANZHOU_CHAT, "报前核查提醒")
        assert "verification_reminders" not in await run_sweep(h, at("11-26 16:00"))
