"""The HTTP driver: a script plays the users over plain JSON while the bot talks PTB."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, InvalidToken, RetryAfter

from bot.standin import BotApiStandin

from .conftest import FORUM, GROUP, OFFICER

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:DeprecationWarning")


async def _call(session: aiohttp.ClientSession, api: BotApiStandin, verb: str, path: str,
                body: Any = None, status: int = 200) -> Any:
    async with session.request(verb, api.driver_url + path, json=body) as resp:
        answer = await resp.json()
        assert resp.status == status, answer
        return answer["result"] if status == 200 else answer["error"]


async def test_script_plays_a_user_and_reads_the_chat(api: BotApiStandin, bot: Bot) -> None:
    async with aiohttp.ClientSession() as s:
        await _call(s, api, "POST", "/users", {"user_id": 2001, "first_name": "王五"})
        chat = await _call(s, api, "POST", "/chats", {"chat_id": -1001000000900, "title": "新区", "is_forum": True})
        assert chat["is_forum"] and chat["bot_member"]["status"] == "administrator"

        sent = await _call(s, api, "POST", f"/chats/{GROUP}/messages", {"user_id": 2001, "text": "/claim 3"})
        assert sent["entities"][0]["type"] == "bot_command"
        update = (await bot.get_updates(timeout=0))[0]
        assert update.message.text == "/claim 3" and update.message.from_user.first_name == "王五"

        card = await bot.send_message(GROUP, "#3 待认领", reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton("认领", callback_data="claim:3")]]))
        waited = await _call(s, api, "POST", f"/chats/{GROUP}/wait", {"contains": "待认领", "after_id": sent["message_id"]})
        assert waited["message_id"] == card.message_id and waited["buttons"][0][0]["callback_data"] == "claim:3"

        pressed = await _call(s, api, "POST", f"/chats/{GROUP}/buttons",
                              {"user_id": 2001, "message_id": card.message_id, "data": "claim:3"})
        assert pressed["answer"] is None
        query = (await bot.get_updates(offset=update.update_id + 1, timeout=0))[0].callback_query
        await query.answer("已认领")
        answer = await _call(s, api, "GET", f"/callbacks/{pressed['callback_query_id']}")
        assert answer["answer"]["text"] == "已认领"

        shown = await _call(s, api, "GET", f"/chats/{GROUP}?after_id={sent['message_id']}")
        assert [m["text"] for m in shown["messages"]] == ["#3 待认领"]
        assert (await _call(s, api, "GET", "/sent"))[0]["method"] == "sendMessage"
        assert (await _call(s, api, "GET", "/stats"))["method:sendMessage"] == 1


async def test_script_runs_topics_by_hand(api: BotApiStandin, bot: Bot) -> None:
    async with aiohttp.ClientSession() as s:
        await _call(s, api, "POST", f"/chats/{GROUP}/forum", {"enabled": True})
        assert (await bot.get_chat(GROUP)).is_forum
        thread = (await bot.create_forum_topic(FORUM, "#8 待认领")).message_thread_id
        closed = await _call(s, api, "POST", f"/chats/{FORUM}/topics/{thread}/close", {"user_id": OFFICER})
        assert closed["closed"] is True
        with pytest.raises(BadRequest, match="(?i)^topic_closed$"):
            await bot.send_message(FORUM, "x", message_thread_id=thread)
        await _call(s, api, "POST", f"/chats/{FORUM}/topics/{thread}/reopen", {"user_id": OFFICER})
        msg = await _call(s, api, "POST", f"/chats/{FORUM}/messages",
                          {"user_id": OFFICER, "text": "进展", "message_thread_id": thread})
        assert msg["is_topic_message"] and msg["reply_to_message"]["message_id"] == thread
        own = await _call(s, api, "POST", f"/chats/{FORUM}/topics", {"user_id": OFFICER, "name": "闲聊"})
        await _call(s, api, "POST", f"/chats/{FORUM}/topics/{own['message_thread_id']}/edit",
                    {"user_id": OFFICER, "name": "闲聊区"})
        await _call(s, api, "POST", f"/chats/{FORUM}/topics/{thread}/delete")
        names = [t["name"] for t in (await _call(s, api, "GET", f"/chats/{FORUM}"))["topics"]]
        assert names == ["闲聊区"]
        with pytest.raises(BadRequest, match="(?i)message thread not found"):
            await bot.send_message(FORUM, "x", message_thread_id=thread)

        rights = await _call(s, api, "POST", f"/chats/{FORUM}/bot",
                             {"status": "administrator", "rights": {"can_manage_topics": False}})
        assert rights["can_manage_topics"] is False
        with pytest.raises(BadRequest, match="(?i)not enough rights to manage topics"):
            await bot.create_forum_topic(FORUM, "#9")
        await _call(s, api, "POST", f"/chats/{GROUP}/bot",
                    {"status": "left"})
        await _call(s, api, "POST", f"/chats/{GROUP}/bot",
                    {"status": "member", "announce": True, "by_user_id": OFFICER})
        kinds = [next(k for k in u if k != "update_id") for u in await _call(s, api, "GET", "/updates")]
        assert kinds[-2:] == ["my_chat_member", "message"]


async def test_script_injects_faults_and_revokes_tokens(api: BotApiStandin, bot: Bot) -> None:
    async with aiohttp.ClientSession() as s:
        await _call(s, api, "POST", "/faults", {"method": "sendMessage", "status": 429, "retry_after": 5, "chat_id": GROUP})
        assert len((await _call(s, api, "GET", "/faults"))["faults"]) == 1
        with pytest.raises(RetryAfter):
            await bot.send_message(GROUP, "x")
        await bot.send_message(GROUP, "once only")
        await _call(s, api, "POST", "/faults", {"method": "*", "status": 502, "times": None})
        assert (await _call(s, api, "DELETE", "/faults"))["faults"] == []
        await _call(s, api, "POST", "/tokens", {"tokens": ["1:other"]})
        with pytest.raises(InvalidToken):
            await bot.get_me()
        await _call(s, api, "POST", "/tokens", {"tokens": None})
        assert (await bot.get_me()).username == "liuyan_bot"


async def test_driver_refuses_bad_requests_plainly(api: BotApiStandin) -> None:
    async with aiohttp.ClientSession() as s:
        assert "user_id" in await _call(s, api, "POST", f"/chats/{GROUP}/messages", {"text": "x"}, status=400)
        assert "must be int" in await _call(s, api, "POST", f"/chats/{GROUP}/messages",
                                            {"user_id": "x", "text": "y"}, status=400)
        async with s.post(f"{api.driver_url}/chats/{GROUP}/messages", data=b"[1]") as resp:
            assert resp.status == 400 and (await resp.json())["error"] == "the body must be a JSON object"
        assert "not found" in await _call(s, api, "GET", "/chats/-999", status=404)
        assert "not a forum" in await _call(s, api, "POST", f"/chats/{GROUP}/topics",
                                            {"user_id": OFFICER, "name": "x"}, status=400)
        assert "unknown member status" in await _call(s, api, "POST", f"/chats/{GROUP}/bot", {"status": "boss"}, status=400)
        timeout = await _call(s, api, "POST", f"/chats/{GROUP}/wait", {"contains": "never", "timeout": 0.05}, status=504)
        assert "no bot message containing 'never'" in timeout
        async with s.get(f"{api.url}/driver/nothing-here") as resp:
            assert resp.status == 404
