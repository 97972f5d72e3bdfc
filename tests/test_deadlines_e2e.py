"""End to end against the Bot API stand-in: officers type /priority, /complex, /extend, /due and
/overdue, a supervisor presses approve/refuse, and a sweep's reminder mentions the holder — read
back from the chats as the officers would see them."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from scheduler.sweep import sweep
from tests.conftest import DESK_CHAT, LANZHOU_CHAT, LI, ZHANG, ZHAO, unique_id
from tests.harness import Harness

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)  # Monday morning


def frozen(h: Harness, now: datetime = NOW) -> None:
    """Officers act at a known moment (the handlers read ``AppContext.clock``)."""
    h.services.clock = lambda: now


async def claimed_item(h: Harness, body: str = "城关区某小区楼道堆放杂物，存在消防隐患。",
                       received: str = "2026-11-23T09:00:00+08:00", holder: int = ZHANG) -> dict[str, Any]:
    item = await h.post_message(external_id=unique_id(), body=body, received_at=received)
    await h.card(LANZHOU_CHAT, item["id"])
    await h.say(LANZHOU_CHAT, holder, f"/claim {item['id']}")
    await h.answer_to(LANZHOU_CHAT, f"#{item['id']} 已由")
    return item


def mentions(message: Any) -> list[int]:
    return [e["user"]["id"] for e in message.entities if e["type"] == "text_mention"]


async def test_supervisor_changes_priority_and_the_card_follows(harness: Harness) -> None:
    frozen(harness)
    item = await claimed_item(harness)
    card = await harness.card(LANZHOU_CHAT, item["id"])
    await harness.say(LANZHOU_CHAT, ZHANG, f"/priority {item['id']} urgent")
    await harness.answer_to(LANZHOU_CHAT, "只有督办人员可以调整办理类别")
    await harness.say(DESK_CHAT, ZHAO, f"/priority {item['id']} 紧急 涉及消防安全")
    await harness.answer_to(DESK_CHAT, f"#{item['id']} 已改为【紧急】，新时限：2026-11-23 18:00")
    notice = await harness.answer_to(LANZHOU_CHAT, "涉及消防安全")
    assert mentions(notice) == [ZHANG]
    await harness.standin.wait_for(lambda st: "【紧急】" in (st.message(LANZHOU_CHAT, card.message_id).text or ""))
    api = await harness.get_item(item["id"])
    assert api["priority"] == "urgent" and api["deadline"] == "2026-11-23T18:00:00+08:00"
    await harness.say(DESK_CHAT, ZHAO, f"/priority {item['id']} soon")
    await harness.answer_to(DESK_CHAT, "“soon”不是办理类别")
    await harness.say(DESK_CHAT, ZHAO, "/priority")
    await harness.answer_to(DESK_CHAT, "用法：/priority 编号")


async def test_holder_marks_complex(harness: Harness) -> None:
    frozen(harness)
    item = await claimed_item(harness)
    await harness.say(LANZHOU_CHAT, ZHANG, f"/complex {item['id']}")
    await harness.answer_to(LANZHOU_CHAT, f"列为复杂件需要说明理由：/complex {item['id']} 理由")
    await harness.say(LANZHOU_CHAT, ZHANG, f"/complex {item['id']} 涉及住建和消防两个部门")
    await harness.answer_to(LANZHOU_CHAT, f"#{item['id']} 已改为【复杂】，新时限：2026-12-07 18:00")
    assert (await harness.get_item(item["id"]))["priority"] == "complex"


async def test_extension_requested_approved_and_refused_with_buttons(harness: Harness) -> None:
    frozen(harness)
    item = await claimed_item(harness)
    card = await harness.card(LANZHOU_CHAT, item["id"])
    await harness.say(LANZHOU_CHAT, LI, f"/extend {item['id']} 3 需要现场核实")
    await harness.answer_to(LANZHOU_CHAT, "只有办理人可以申请延期")
    await harness.say(LANZHOU_CHAT, ZHANG, f"/extend {item['id']} 三天 需要现场核实")
    await harness.answer_to(LANZHOU_CHAT, "“三天”不是有效的工作日天数")
    await harness.say(LANZHOU_CHAT, ZHANG, f"/extend {item['id']} 3 需要现场核实")
    await harness.answer_to(LANZHOU_CHAT, "已提交，等待督办人员审批")
    request = await harness.answer_to(DESK_CHAT, f"延期申请：#{item['id']}")
    assert "需要现场核实" in request.text and mentions(request) == [ZHAO]

    query = harness.standin.press_button(DESK_CHAT, request.message_id, ZHAO, f"ext_ok:{item['id']}")
    popup = await harness.standin.wait_callback_answer(query)
    assert popup["text"] == f"已批准 #{item['id']} 延期 3 个工作日" and not popup.get("show_alert")
    told = await harness.answer_to(LANZHOU_CHAT, "已由 赵六 批准")
    assert mentions(told) == [ZHANG] and "新时限：2026-12-03 18:00" in told.text
    await harness.standin.wait_for(
        lambda st: "已延期 3 个工作日" in (st.message(LANZHOU_CHAT, card.message_id).text or ""))
    api = await harness.get_item(item["id"])
    assert api["extended_by"] == 3 and api["deadline"] == "2026-12-03T18:00:00+08:00"

    # pressing the decided request again is refused with a pop-up
    query = harness.standin.press_button(DESK_CHAT, request.message_id, ZHAO, f"ext_no:{item['id']}")
    popup = await harness.standin.wait_callback_answer(query)
    assert popup["show_alert"] and "没有待审批的延期申请" in popup["text"]

    # a second request, refused
    await harness.say(LANZHOU_CHAT, ZHANG, f"/extend {item['id']} 13 还需要更多时间")
    await harness.answer_to(LANZHOU_CHAT, "将超过上限 15 个工作日（最多还可延 12 个工作日）")
    await harness.say(LANZHOU_CHAT, ZHANG, f"/extend {item['id']} 2 还需要更多时间")
    second = await harness.answer_to(DESK_CHAT, "还需要更多时间")
    query = harness.standin.press_button(DESK_CHAT, second.message_id, ZHAO, f"ext_no:{item['id']}")
    assert (await harness.standin.wait_callback_answer(query))["text"] == f"已驳回 #{item['id']} 的延期申请"
    await harness.answer_to(LANZHOU_CHAT, "未获 赵六 批准")
    assert (await harness.get_item(item["id"]))["extended_by"] == 3


async def test_due_and_overdue_in_the_region_chat(harness: Harness) -> None:
    frozen(harness)
    late = await claimed_item(harness, body="城关区某路段井盖缺失。", received="2026-11-09T10:00:00+08:00")
    soon = await claimed_item(harness, body="城关区某小区停水两天了，没水用。", received="2026-11-23T09:00:00+08:00")
    assert soon["priority"] == "urgent"
    await harness.say(LANZHOU_CHAT, ZHANG, "/overdue")
    listing = await harness.answer_to(LANZHOU_CHAT, "已超期的留言（兰州市）")
    assert f"#{late['id']}" in listing.text and f"#{soon['id']}" not in listing.text
    assert (await harness.get_item(late["id"]))["overdue"] is True
    await harness.say(LANZHOU_CHAT, ZHANG, "/due")
    listing = await harness.answer_to(LANZHOU_CHAT, "即将到期的留言（兰州市）")
    assert f"#{soon['id']}" in listing.text and f"#{late['id']}" not in listing.text
    assert {"priority", "extend", "complex", "due", "overdue"} <= {c["command"] for c in harness.standin.commands()}


async def test_a_reminder_mentions_the_holder_in_the_region_chat(harness: Harness) -> None:
    frozen(harness)
    item = await claimed_item(harness, received="2026-11-16T10:00:00+08:00")  # due Mon 11-23 18:00
    s = harness.services
    report = await s.act(sweep, s.workflow, datetime(2026, 11, 23, 16, 0, tzinfo=TZ))
    assert report.queued.get("before") == 1
    reminder = await harness.answer_to(LANZHOU_CHAT, "以下留言临近办理时限")
    assert f"#{item['id']}" in reminder.text and "还剩约 2 小时" in reminder.text
    assert mentions(reminder) == [ZHANG]
    await s.act(sweep, s.workflow, datetime(2026, 11, 23, 18, 0, tzinfo=TZ))
    escalation = await harness.answer_to(DESK_CHAT, "督办：以下留言已超过办理时限")
    assert mentions(escalation) == [ZHAO] and f"#{item['id']}" in escalation.text
