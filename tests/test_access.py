"""Access control: only officers in the roster act, only on their own region's items (supervisors on
all); a button press is checked like the command it stands for; a forwarded or replayed callback
changes nothing; the webhook verifies Telegram's secret token; tokens are compared in constant time;
personal numbers are masked everywhere but the holder's and supervisors' private chats."""

from __future__ import annotations

import hmac
import socket
from typing import Any

import aiohttp
import pytest

import bot.service
import bot.web.intake
from tests.conftest import (
    DESK_CHAT,
    LANZHOU,
    LANZHOU_CHAT,
    LEADERS_CHAT,
    LI,
    QIAN,
    STRANGER,
    TIANSHUI_CHAT,
    WANG,
    ZHANG,
    ZHAO,
    make_config,
    unique_id,
)
from tests.harness import Harness

PHONE, ID_CARD = "13912345678", "620102198001011234"


async def new_item(h: Harness, body: str = "城关区雁滩路夜间施工噪音扰民，请查处。", **fields: Any) -> dict:
    item = await h.post_message(external_id=unique_id(), body=body, **fields)
    await h.card(LANZHOU_CHAT if item["region"] == LANZHOU else (TIANSHUI_CHAT if item["region"] else DESK_CHAT),
                 item["id"])
    return item


async def refused(h: Harness, chat: int, user: int, text: str, reason: str) -> None:
    sent = h.standin.inject_message(chat, user, text)
    await h.standin.wait_for_message(chat, contains=reason, after_id=sent["message_id"])


# (who, command, the refusal they hear): each must leave the item exactly as it was
REFUSALS = [
    (STRANGER, "/claim {id}", "你不在联络员名单中"),
    (STRANGER, "/reply {id} 已处理", "你不在联络员名单中"),
    (STRANGER, "/route {id} 天水市", "你不在联络员名单中"),
    (STRANGER, "/supervise {id}", "你不在联络员名单中"),
    (STRANGER, "/show {id}", "你不在联络员名单中"),
    (WANG, "/claim {id}", "你不是兰州市的联络员"),
    (WANG, "/reply {id} 已处理", "你不是兰州市的联络员"),
    (WANG, "/show {id}", "你不是兰州市的联络员"),
    (WANG, "/route {id} 天水市", "只有督办人员"),
    (ZHANG, "/route {id} 天水市", "只有督办人员"),
    (ZHANG, "/supervise {id}", "只有领导或督办人员"),
    (QIAN, "/claim {id}", "领导可以阅读和督办"),
    (QIAN, "/reply {id} 已处理", "领导可以阅读和督办"),
]


async def test_every_command_refuses_who_may_not_act_and_changes_nothing(harness: Harness) -> None:
    item = await new_item(harness)
    before = await harness.get_item(item["id"])
    for user, command, reason in REFUSALS:
        await refused(harness, LANZHOU_CHAT, user, command.format(id=item["id"]), reason)
    assert await harness.get_item(item["id"]) == before
    # the holder's colleague may not reply for them
    await harness.say(LANZHOU_CHAT, ZHANG, f"/claim {item['id']}")
    await harness.answer_to(LANZHOU_CHAT, "已由 张三 认领")
    await refused(harness, LANZHOU_CHAT, LI, f"/reply {item['id']} 我来回", "只有办理人或督办人员可以回复")
    # and the supervisor acts on every region
    await harness.say(LANZHOU_CHAT, ZHAO, f"/reply {item['id']} 已协调城管处理。")
    await harness.answer_to(LANZHOU_CHAT, "已回复")
    assert (await harness.get_item(item["id"]))["status"] == "replied"


async def test_button_presses_are_checked_like_commands(harness: Harness) -> None:
    item = await new_item(harness)
    card = await harness.card(LANZHOU_CHAT, item["id"])
    for user, reason in ((STRANGER, "不在联络员名单"), (WANG, "不是兰州市的联络员"), (QIAN, "领导")):
        query = harness.standin.press_button(LANZHOU_CHAT, card.message_id, user, f"claim:{item['id']}")
        answer = await harness.standin.wait_callback_answer(query)
        assert answer["show_alert"] and reason in answer["text"], answer
    assert (await harness.get_item(item["id"]))["status"] == "new"
    # the sensitive alert's 督办 button: a plain officer may not press it
    alert_item = await harness.post_message(external_id=unique_id(), region=LANZHOU,
                                            body="今晚有人在兰州市政府门口聚集，扬言要跳楼，情况紧急。")
    alert = await harness.answer_to(LEADERS_CHAT, f"#{alert_item['id']}")
    await harness.drain()  # the alert's message id is recorded (see the report on _press_supervise)
    query = harness.standin.press_button(LEADERS_CHAT, alert.message_id, ZHANG, f"supervise:{alert_item['id']}")
    assert "督办" in (await harness.standin.wait_callback_answer(query))["text"]
    assert (await harness.get_item(alert_item["id"]))["supervised"] is False


async def test_forwarded_and_replayed_callbacks_change_nothing(harness: Harness) -> None:
    one = await new_item(harness)
    two = await new_item(harness)
    card_one = await harness.card(LANZHOU_CHAT, one["id"])
    st = harness.standin
    # forged: item two's callback data on item one's card
    query = st.press_button(LANZHOU_CHAT, card_one.message_id, ZHANG, f"claim:{two['id']}", check=False)
    assert "过期" in (await st.wait_callback_answer(query))["text"]
    # replayed in another chat: the Tianshui group never showed this card
    other = await new_item(harness, body="麦积区自来水浑浊发黄。", region="620500")
    other_card = await harness.card(TIANSHUI_CHAT, other["id"])
    query = st.press_button(TIANSHUI_CHAT, other_card.message_id, ZHAO, f"claim:{one['id']}", check=False)
    assert "过期" in (await st.wait_callback_answer(query))["text"]
    # made up: an action that does not exist, an id that is not a number
    for data in ("delete:1", f"claim:{one['id']};DROP", "claim:", "x" * 64):
        query = st.press_button(LANZHOU_CHAT, card_one.message_id, ZHANG, data, check=False)
        assert (await st.wait_callback_answer(query))["show_alert"]
    assert (await harness.get_item(one["id"]))["status"] == "new"
    assert (await harness.get_item(two["id"]))["status"] == "new"
    # replayed after it worked: the second press is refused with the holder, nothing changes
    query = st.press_button(LANZHOU_CHAT, card_one.message_id, ZHANG, f"claim:{one['id']}", check=False)
    await st.wait_callback_answer(query)
    await st.wait_for(lambda s: "张三" in s.message(LANZHOU_CHAT, card_one.message_id).text)
    claimed = await harness.get_item(one["id"])
    query = st.press_button(LANZHOU_CHAT, card_one.message_id, LI, f"claim:{one['id']}", check=False)
    answer = await st.wait_callback_answer(query)
    assert answer["show_alert"] and "张三" in answer["text"]
    assert await harness.get_item(one["id"]) == claimed


async def test_numbers_are_masked_on_cards_and_shown_only_to_holder_and_supervisors_in_private(harness: Harness) -> None:
    item = await new_item(harness, body=f"城关区，请回电{PHONE}，身份证{ID_CARD}。")
    card = await harness.card(LANZHOU_CHAT, item["id"])
    assert PHONE not in card.text and ID_CARD not in card.text
    await harness.say(LANZHOU_CHAT, ZHANG, f"/claim {item['id']}")
    await harness.answer_to(LANZHOU_CHAT, "已由 张三 认领")
    for user in (ZHANG, ZHAO):  # the holder and a supervisor, privately: everything
        await harness.say(user, user, f"/show {item['id']}")
        full = await harness.answer_to(user, PHONE)
        assert ID_CARD in full.text
    # a colleague privately, and anyone in the group: masked
    sent = harness.standin.inject_message(LI, LI, f"/show {item['id']}")
    masked = await harness.standin.wait_for_message(LI, contains=f"#{item['id']}", after_id=sent["message_id"])
    assert PHONE not in masked.text and ID_CARD not in masked.text
    sent = harness.standin.inject_message(LANZHOU_CHAT, ZHANG, f"/show {item['id']}")
    group = await harness.standin.wait_for_message(LANZHOU_CHAT, contains=f"#{item['id']}", after_id=sent["message_id"])
    assert PHONE not in group.text and ID_CARD not in group.text


# ---------------------------------------------------------------------- tokens


async def test_intake_token_is_compared_in_constant_time(harness: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(bot.web.intake.hmac, "compare_digest", spy)
    body = {"external_id": unique_id(), "body": "兰州的路灯坏了"}
    for token, status in (("wrong", 401), (harness.config.api.token[:-1], 401), (harness.config.api.token, 201)):
        async with harness.http.post("/api/v1/messages", json=body, headers={"Authorization": f"Bearer {token}"}) as resp:
            assert resp.status == status
            if status == 401:
                assert "token" in (await resp.json())["error"]
    assert len(calls) == 3
    async with harness.http.post("/api/v1/messages", json=body) as resp:
        assert resp.status == 401


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def webhook(db_url: str):  # type: ignore[no-untyped-def]
    port = free_port()
    config = make_config(db_url, api__port=port, telegram__mode="webhook",
                         telegram__webhook_url=f"http://127.0.0.1:{port}/telegram/webhook",
                         telegram__webhook_secret="s3cret-Token_42")
    async with Harness(config) as h:
        yield h


def update(update_id: int, user: int, chat: int, text: str) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": 900 + update_id, "date": 1_790_000_000, "text": text,
        "chat": {"id": chat, "type": "supergroup", "title": "兰州市联络群"},
        "from": {"id": user, "is_bot": False, "first_name": "张三"},
        "entities": [{"type": "bot_command", "offset": 0, "length": text.index(" ")}]}}


async def test_webhook_mode_handles_telegram_and_refuses_a_wrong_or_missing_secret(
        webhook: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    h = webhook
    assert h.standin.webhook_url == f"http://127.0.0.1:{h.service.port}/telegram/webhook"
    item = await new_item(h)
    # Telegram (the stand-in) posts with the secret: handled
    await h.say(LANZHOU_CHAT, STRANGER, f"/claim {item['id']}")
    await h.answer_to(LANZHOU_CHAT, "你不在联络员名单中")
    assert all(entry["error"] is None for entry in h.standin.webhook_log)

    calls: list[Any] = []
    real = hmac.compare_digest
    monkeypatch.setattr(bot.service.hmac, "compare_digest", lambda a, b: calls.append(1) or real(a, b))
    forged = update(5001, ZHANG, LANZHOU_CHAT, f"/claim {item['id']}")
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{h.service.port}/telegram/webhook"
        for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "guess"},
                        {"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token_4"}):
            async with http.post(url, json=forged, headers=headers) as resp:
                assert resp.status == 403 and "secret" in (await resp.json())["error"]
        assert (await h.get_item(item["id"]))["status"] == "new"  # nothing processed
        assert len(calls) >= 3  # each refusal went through compare_digest
        ok = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token_42"}
        async with http.post(url, data=b"{not json", headers=ok) as resp:
            assert resp.status == 400
        async with http.post(url, json=forged, headers=ok) as resp:
            assert resp.status == 200
        assert (await h.get_item(item["id"]))["status"] == "claimed"  # handled before the answer
        async with http.post(url, json=forged, headers=ok) as resp:  # Telegram resending it
            assert resp.status == 200 and (await resp.json()).get("duplicate")
    await h.answer_to(LANZHOU_CHAT, "已由 张三 认领")
    await h.drain()
    confirmations = [m for m in h.standin.messages(LANZHOU_CHAT) if m.text.startswith(f"🙋 #{item['id']} ")]
    assert len(confirmations) == 1  # the resent update was not handled twice
