"""The whole service against the local Bot API stand-in, for end-to-end tests and benchmarks.

Real python-telegram-bot HTTP on 127.0.0.1 both ways: long polling for updates, sendMessage and
friends for what the bot says. Officers are played through the stand-in's test API.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import aiohttp

from bot.config import Config
from bot.delivery.pacing import Pacer
from bot.service import Service
from bot.standin import BotApiStandin
from tests.conftest import (
    DESK_CHAT,
    LANZHOU_CHAT,
    LEADERS_CHAT,
    LI,
    QIAN,
    STRANGER,
    TIANSHUI_CHAT,
    WANG,
    ZHANG,
    ZHAO,
)

PEOPLE = {ZHANG: "张三", LI: "李四", WANG: "王五", ZHAO: "赵六", QIAN: "钱七", STRANGER: "路人甲"}


class Harness:
    """``async with Harness(config) as h``: stand-in + service, torn down in order."""

    def __init__(self, config: Config, *, enforce_limits: bool = False, pacer: Pacer | None = None,
                 scheduler: bool = False, standin: BotApiStandin | None = None) -> None:
        self.base_config = config
        self.enforce_limits = enforce_limits
        self.pacer = pacer
        self.use_scheduler = scheduler
        self.standin = standin or BotApiStandin(enforce_limits=enforce_limits)
        self._own_standin = standin is None
        self.service: Service | None = None
        self.http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Harness:
        if self._own_standin:
            await self.standin.start()
        for chat_id, title in ((LANZHOU_CHAT, "兰州市联络群"), (TIANSHUI_CHAT, "天水市联络群"),
                               (DESK_CHAT, "省委办公厅值班台"), (LEADERS_CHAT, "领导专报")):
            self.standin.register_chat(chat_id, title, type="supergroup")
        for user_id, name in PEOPLE.items():
            self.standin.register_user(user_id, name)
            self.standin.register_chat(user_id, name, type="private")
        telegram = dataclasses.replace(self.base_config.telegram, api_url=self.standin.base_url, poll_timeout=1)
        self.config = dataclasses.replace(self.base_config, telegram=telegram)
        self.service = Service.create(self.config, pacer=self.pacer, poll_seconds=0.2)
        await self.service.start(scheduler=self.use_scheduler)
        self.http = aiohttp.ClientSession(base_url=f"http://127.0.0.1:{self.service.port}")
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self.http is not None:
            await self.http.close()
        if self.service is not None:
            await self.service.stop()
            self.service.services.db.dispose()
        if self._own_standin:
            await self.standin.stop()

    # ------------------------------------------------------------------ shortcuts

    @property
    def services(self):  # type: ignore[no-untyped-def]
        assert self.service is not None
        return self.service.services

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.config.api.token}"}

    async def post_message(self, **fields: Any) -> dict[str, Any]:
        """Intake one message through the HTTP API; returns the stored item."""
        assert self.http is not None
        async with self.http.post("/api/v1/messages", json=fields, headers=self.auth()) as resp:
            body = await resp.json()
            assert resp.status in (200, 201), (resp.status, body)
            return body

    async def get_item(self, item_id: int) -> dict[str, Any]:
        assert self.http is not None
        async with self.http.get(f"/api/v1/messages/{item_id}", headers=self.auth()) as resp:
            assert resp.status == 200, await resp.text()
            return await resp.json()

    async def card(self, chat_id: int, item_id: int, timeout: float = 5.0):  # type: ignore[no-untyped-def]
        """The card of ``#item_id`` in ``chat_id`` once it arrived."""
        import re

        pattern = re.compile(rf"^\S+ #{item_id}(?!\d)")

        def find(standin: BotApiStandin) -> Any:
            for message in standin.messages(chat_id):
                if pattern.match(message.text or "") and "📍" in (message.text or ""):
                    return message
            return None

        await self.standin.wait_for(lambda st: find(st) is not None, timeout=timeout)
        return find(self.standin)

    async def say(self, chat_id: int, user_id: int, text: str, reply_to: int | None = None) -> dict[str, Any]:
        return self.standin.inject_message(chat_id, user_id, text, reply_to_message_id=reply_to)

    async def answer_to(self, chat_id: int, contains: str, timeout: float = 5.0):  # type: ignore[no-untyped-def]
        return await self.standin.wait_for_message(chat_id, contains=contains, timeout=timeout)

    async def drain(self, timeout: float = 10.0) -> None:
        assert self.service is not None
        await self.service.delivery.drain(timeout)
