"""End to end: the real service, python-telegram-bot's own HTTP path, the local Bot API stand-in.

Officers type commands and press buttons in the stand-in's chats; the tests read what each chat
shows afterwards, as the officers would."""

from __future__ import annotations

import pytest

from tests.conftest import (
    DESK_CHAT,
    LANZHOU_CHAT,
    LEADERS_CHAT,
    LI,
    QIAN,
    STRANGER,
    TIANSHUI,
    TIANSHUI_CHAT,
    WANG,
    ZHANG,
    ZHAO,
    unique_id,
)
from tests.harness import Harness


async def new_item(h: Harness, body: str = "城关区雁滩路夜间施工噪音扰民，请查处。", **fields: object) -> dict:
    item = await h.post_message(external_id=unique_id(), body=body, **fields)
    return item


async def test_new_message_becomes_a_card_with_claim_button_in_its_region_chat(harness: Harness) -> None:
    item = await new_item(harness, title="夜间施工噪音")
    card = await harness.card(LANZHOU_CHAT, item["id"])
    assert "夜间施工噪音" in card.text and "兰州市" in card.text and "待认领" in card.text
    button = card.reply_markup["inline_keyboard"][0][0]
    assert button["callback_data"] == f"claim:{item['id']}"
    assert not [m for m in harness.standin.messages(TIANSHUI_CHAT) if f"#{item['id']}" in (m.text or "")]


async def test_claim_by_button_edits_card_and_answers_with_popup(harness: Harness) -> None:
    item = await new_item(harness)
    card = await harness.card(LANZHOU_CHAT, item["id"])
    query_id = harness.standin.press_button(LANZHOU_CHAT, card.message_id, ZHANG, f"claim:{item['id']}")
    answer = await harness.standin.wait_callback_answer(query_id)
    assert f"#{item['id']}" in answer["text"]
    await harness.standin.wait_for(lambda st: "张三" in (st.message(LANZHOU_CHAT, card.message_id).text or ""))
    edited = harness.standin.message(LANZHOU_CHAT, card.message_id)
    assert "已由 张三 认领" in edited.text
    assert not (edited.reply_markup or {}).get("inline_keyboard")
    assert (await harness.get_item(item["id"]))["status"] == "claimed"


async def test_refused_button_press_is_a_popup_and_changes_nothing(harness: Harness) -> None:
    item = await new_item(harness)
    card = await harness.card(LANZHOU_CHAT, item["id"])
    query_id = harness.standin.press_button(LANZHOU_CHAT, card.message_id, WANG, f"claim:{item['id']}")
    answer = await harness.standin.wait_callback_answer(query_id)
    assert answer["show_alert"] and "不是兰州市的联络员" in answer["text"]
    assert (await harness.get_item(item["id"]))["status"] == "new"


async def test_replayed_callback_naming_another_item_changes_nothing(harness: Harness) -> None:
    one = await new_item(harness)
    two = await new_item(harness)
    card_one = await harness.card(LANZHOU_CHAT, one["id"])
    await harness.card(LANZHOU_CHAT, two["id"])
    query_id = harness.standin.press_button(LANZHOU_CHAT, card_one.message_id, ZHANG, f"claim:{two['id']}", check=False)
    answer = await harness.standin.wait_callback_answer(query_id)
    assert answer["show_alert"]
    assert (await harness.get_item(two["id"]))["status"] == "new"
    assert (await harness.get_item(one["id"]))["status"] == "new"


async def test_claim_command_and_the_second_claim_is_refused_with_holder_and_time(harness: Harness) -> None:
    item = await new_item(harness)
    await harness.card(LANZHOU_CHAT, item["id"])
    await harness.say(LANZHOU_CHAT, ZHANG, f"/claim {item['id']}")
    await harness.answer_to(LANZHOU_CHAT, f"#{item['id']} 已由 张三 认领")
    await harness.say(LANZHOU_CHAT, LI, f"/claim {item['id']}")
    refusal = await harness.answer_to(LANZHOU_CHAT, "已由 张三 于")
    assert refusal.reply_to_message_id is not None


@pytest.mark.parametrize("text, expected", [
    ("/claim", "用法：/claim 编号"),
    ("/claim abc", "“abc”不是有效的留言编号"),
    ("/claim 999999", "没有编号为 #999999 的留言"),
    ("/reply", "用法：/reply 编号 回复内容"),
    ("/route 1", "用法：/route 编号 地区"),
    ("/show", "用法：/show 编号"),
])
async def test_bad_arguments_get_a_specific_answer(harness: Harness, text: str, expected: str) -> None:
    await harness.say(LANZHOU_CHAT, ZHANG, text)
    await harness.answer_to(LANZHOU_CHAT, expected)


async def test_stranger_and_leader_are_refused(harness: Harness) -> None:
    item = await new_item(harness)
    await harness.card(LANZHOU_CHAT, item["id"])
    await harness.say(LANZHOU_CHAT, STRANGER, f"/claim {item['id']}")
    await harness.answer_to(LANZHOU_CHAT, "你不在联络员名单中")
    await harness.say(LANZHOU_CHAT, QIAN, f"/claim {item['id']}")
    await harness.answer_to(LANZHOU_CHAT, "领导可以阅读和督办，但不认领或回复留言")


async def test_reply_by_command_and_as_reply_to_the_card(harness: Harness) -> None:
    one = await new_item(harness)
    two = await new_item(harness)
    card_two = await harness.card(LANZHOU_CHAT, two["id"])
    await harness.say(LANZHOU_CHAT, ZHANG, f"/reply {one['id']} 已处理")
    await harness.answer_to(LANZHOU_CHAT, f"#{one['id']} 尚未认领，请先发送 /claim {one['id']}")
    await harness.say(LANZHOU_CHAT, ZHANG, f"/claim {one['id']}")
    await harness.say(LANZHOU_CHAT, ZHANG, f"/reply {one['id']} 已协调城管部门，\n停止夜间施工。")
    await harness.answer_to(LANZHOU_CHAT, f"#{one['id']} 已回复")
    api = await harness.get_item(one["id"])
    assert api["status"] == "replied" and api["reply"] == "已协调城管部门，\n停止夜间施工。"
    await harness.say(LANZHOU_CHAT, LI, f"/claim {two['id']}")
    await harness.say(LANZHOU_CHAT, LI, "/reply 已转交住建局", reply_to=card_two.message_id)
    await harness.standin.wait_for(lambda st: "已由 李四 回复" in (st.message(LANZHOU_CHAT, card_two.message_id).text or ""))
    assert (await harness.get_item(two["id"]))["reply"] == "已转交住建局"


async def test_reply_to_a_message_that_is_not_a_card(harness: Harness) -> None:
    said = await harness.say(LANZHOU_CHAT, ZHANG, "随便说一句")
    await harness.say(LANZHOU_CHAT, ZHANG, "/reply 好的", reply_to=said["message_id"])
    await harness.answer_to(LANZHOU_CHAT, "这条消息不是留言卡片")


async def test_unrouted_item_goes_to_desk_and_supervisor_routes_it(harness: Harness) -> None:
    item = await new_item(harness, body="我们村的路很难走，下雨天出不了门。")
    assert item["status"] == "unrouted" and item["region"] is None
    await harness.card(DESK_CHAT, item["id"])
    await harness.say(DESK_CHAT, ZHANG, f"/route {item['id']} 天水市")
    await harness.answer_to(DESK_CHAT, "只有督办人员可以分派或改派地区")
    await harness.say(DESK_CHAT, ZHAO, f"/route {item['id']} 麦积区")
    await harness.answer_to(DESK_CHAT, f"#{item['id']} 已分派到天水市")
    await harness.card(TIANSHUI_CHAT, item["id"])
    assert (await harness.get_item(item["id"]))["region"] == TIANSHUI


async def test_reroute_edits_old_card_and_posts_new_one(harness: Harness) -> None:
    item = await new_item(harness)
    old = await harness.card(LANZHOU_CHAT, item["id"])
    await harness.say(DESK_CHAT, ZHAO, f"/route {item['id']} {TIANSHUI}")
    await harness.card(TIANSHUI_CHAT, item["id"])
    await harness.standin.wait_for(lambda st: "已转至 天水市" in (st.message(LANZHOU_CHAT, old.message_id).text or ""))
    await harness.say(DESK_CHAT, ZHAO, f"/route {item['id']} 火星")
    await harness.answer_to(DESK_CHAT, "找不到地区“火星”")


async def test_show_in_private_gives_holder_the_full_text(harness: Harness) -> None:
    item = await new_item(harness, body="城关区，请回电13912345678。")
    card = await harness.card(LANZHOU_CHAT, item["id"])
    assert "13912345678" not in card.text
    await harness.say(LANZHOU_CHAT, ZHANG, f"/claim {item['id']}")
    await harness.answer_to(LANZHOU_CHAT, "认领。")
    await harness.say(ZHANG, ZHANG, f"/show {item['id']}")
    full = await harness.answer_to(ZHANG, "13912345678")
    assert f"#{item['id']}" in full.text


async def test_mine_lists_what_i_hold(harness: Harness) -> None:
    item = await new_item(harness, title="我的那一条")
    await harness.say(LANZHOU_CHAT, ZHANG, f"/claim {item['id']}")
    await harness.answer_to(LANZHOU_CHAT, "认领。")
    await harness.say(ZHANG, ZHANG, "/mine")
    listing = await harness.answer_to(ZHANG, "我办理中的留言")
    assert f"#{item['id']}" in listing.text and "我的那一条" in listing.text


async def test_help_start_and_menu(harness: Harness) -> None:
    await harness.say(ZHANG, ZHANG, "/start")
    welcome = await harness.answer_to(ZHANG, "你好，张三")
    assert "/claim" in welcome.text and "/route" not in welcome.text
    await harness.say(DESK_CHAT, ZHAO, "/help")
    help_text = await harness.answer_to(DESK_CHAT, "/route 编号 地区")
    assert "督办人员" in help_text.text
    menu = harness.standin.commands()
    assert {c["command"] for c in menu} >= {"claim", "reply", "route", "show", "mine", "help", "start"}
    assert {c["command"] for c in harness.standin.commands(language_code="en")} >= {"claim"}


async def test_english_speaking_officer_gets_english_answers(harness: Harness) -> None:
    harness.standin.register_user(LI, "李四", language_code="en")
    await harness.say(LANZHOU_CHAT, LI, "/claim")
    await harness.answer_to(LANZHOU_CHAT, "Usage: /claim N")


async def test_hostile_text_renders_escaped_and_long_text_is_shortened(harness: Harness) -> None:
    body = "<script>alert('x')</script> & <b>未闭合 😀🚧 城关区 " + "很长的留言。" * 2000
    item = await new_item(harness, body=body, title="<i>标题 & 更多")
    card = await harness.card(LANZHOU_CHAT, item["id"])
    assert "<script>alert('x')</script>" in card.text  # shown literally, not as markup
    assert "<i>标题 & 更多" in card.text
    assert "全文过长" in card.text and len(card.text.encode("utf-16-le")) // 2 <= 4096


async def test_sensitive_item_alerts_leaders_and_desk_and_leader_supervises(harness: Harness) -> None:
    body = ("七里河区某工地拖欠二十多名农民工工资八个月，工友们说明天一起去市政府门口静坐讨薪，"
            "有人扬言要跳楼。请领导帮帮我们。")
    item = await new_item(harness, body=body, title="工地拖欠农民工工资，有人扬言跳楼")
    assert item["sensitive"] is True
    alert = await harness.answer_to(LEADERS_CHAT, f"敏感留言 #{item['id']}")
    await harness.answer_to(DESK_CHAT, f"敏感留言 #{item['id']}")
    query_id = harness.standin.press_button(LEADERS_CHAT, alert.message_id, QIAN, f"supervise:{item['id']}")
    answer = await harness.standin.wait_callback_answer(query_id)
    assert not answer.get("show_alert") and f"#{item['id']}" in answer["text"]
    await harness.answer_to(LANZHOU_CHAT, f"督办：#{item['id']}")
    assert (await harness.get_item(item["id"]))["supervised"] is True
