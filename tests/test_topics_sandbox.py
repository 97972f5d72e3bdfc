"""The sandbox web chat with forum topics: the training scenario's 兰州市 group has topics, the
page's state lists them as a Telegram client does, and a trainee writes inside an item's topic."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from bot.demo.runner import LANZHOU, TIANSHUI, DemoSandbox
from bot.demo.scenario import load_scenario
from tests.conftest import unique_id

ZHANG = 1001
THURSDAY = datetime(2026, 11, 12, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def test_the_training_scenario_uses_a_forum_group_for_one_region() -> None:
    scenario = load_scenario()
    assert scenario.forums == ("620100",) and "forum" in scenario.narrations()


@pytest.fixture
async def box(db_url: str, tmp_path: Path) -> AsyncIterator[DemoSandbox]:
    async with DemoSandbox(tmp_path / "demo", port=0, start=THURSDAY, enforce_limits=False, db_url=db_url,
                           scheduler=False) as sandbox:
        yield sandbox


async def test_a_forum_group_lists_its_topics_and_a_trainee_writes_inside_one(box: DemoSandbox) -> None:
    async with aiohttp.ClientSession() as client:
        async with client.post(f"{box.api_url}/api/v1/messages", headers={"Authorization": f"Bearer {box.config.api.token}"},
                               json={"external_id": unique_id(), "title": "雁滩路夜间施工",
                                     "body": "城关区雁滩路工地夜间施工噪音扰民。"}) as resp:
            item = await resp.json()
    topic = await box.standin.wait_for(
        lambda st: next((t for t in st.topics(LANZHOU) if t.name.startswith(f"#{item['id']} ")), None), timeout=10)
    async with aiohttp.ClientSession(base_url=box.web_url) as http:
        async with http.get("/api/sandbox/state") as resp:
            chats = {c["id"]: c for c in (await resp.json())["chats"]}
        assert chats[LANZHOU]["is_forum"] and not chats[TIANSHUI]["is_forum"]
        assert [t["name"] for t in chats[LANZHOU]["topics"]] == [f"#{item['id']} 待认领 雁滩路夜间施工"]
        async with http.post(f"/api/sandbox/chats/{LANZHOU}/messages",
                             json={"user_id": ZHANG, "text": "/claim", "message_thread_id": topic.message_thread_id}) as resp:
            assert resp.status == 201, await resp.text()
        async with http.post(f"/api/sandbox/chats/{LANZHOU}/messages",
                             json={"user_id": ZHANG, "text": "/claim", "message_thread_id": "x"}) as resp:
            assert resp.status == 400 and "message_thread_id" in (await resp.json())["error"]
    answer = await box.standin.wait_for_message(LANZHOU, contains="已由 张三 认领", thread_id=topic.message_thread_id,
                                                timeout=10)
    assert answer.thread_id == topic.message_thread_id
    await box.standin.wait_for(lambda st: "办理中·张三" in st.topic(LANZHOU, topic.message_thread_id).name, timeout=10)
