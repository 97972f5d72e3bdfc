"""Fixtures for the stand-in's tests: a running stand-in with a forum and a plain group, and a PTB
``Bot`` talking to it over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot

from bot.standin import BotApiStandin

TOKEN = "123456789:AAF-stand_in-test-token"
FORUM = -1001000000300
GROUP = -1001000000100
BASIC = -4001
OFFICER = 1001
SUPERVISOR = 1002


@pytest.fixture
async def api() -> AsyncIterator[BotApiStandin]:
    async with BotApiStandin() as standin:
        standin.register_chat(FORUM, "兰州市联络群", type="supergroup", is_forum=True)
        standin.register_chat(GROUP, "天水市联络群", type="supergroup")
        standin.register_chat(BASIC, "老群", type="group")
        standin.register_user(OFFICER, "张三", username="zhangsan")
        standin.register_user(SUPERVISOR, "李四")
        yield standin


@pytest.fixture
async def bot(api: BotApiStandin) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=api.base_url) as client:
        yield client
