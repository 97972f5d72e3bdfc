"""Webhooks end to end: the real service, a real receiver on 127.0.0.1 (aiohttp), the Bot API stand-in.

A receiver checks what an integrator's would: the signature over the raw body, the event names it
asked for, the item as it stood after each event, the same bytes on every retry, one item's events
in the order they happened, nothing lost across a receiver outage or a kill -9 of the service.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlmodel import select

from bot.config import ConfigError
from bot.delivery import webhooks
from bot.standin import BotApiStandin
from bot.workflow.history import PastMessage, import_history
from bot.workflow.intake import Incoming
from storage.db import Database
from storage.models import Event, Outbox
from tests.conftest import DESK_CHAT, LANZHOU, LANZHOU_CHAT, ZHANG, make_config, unique_id
from tests.harness import Harness
from tests.test_faults import Process, free_port, toml_config

SECRET = "s3cret-for-tests"
NOISE = "城关区雁滩路夜间施工噪音扰民，请查处。"
SENSITIVE = "明天上午十点，几十名村民准备去省政府门口集体上访，有人扬言要跳楼。"


class Receiver:
    """A webhook receiver: records every call (raw body, headers, time) and answers from a script
    (statuses to answer next; 200 once it is empty). ``stop()`` makes it refuse connections."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.script: list[int] = []
        self.answer: Callable[[dict[str, Any]], int] | None = None
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/liuyan"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/liuyan", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        call = {"t": time.monotonic(), "raw": raw, "signature": request.headers.get(webhooks.SIGNATURE_HEADER),
                "json": json.loads(raw)}
        status = self.script.pop(0) if self.script else (self.answer(call) if self.answer else 200)
        call["status"] = status
        self.calls.append(call)
        return web.Response(status=status)

    def delivered(self) -> list[dict[str, Any]]:
        """The bodies answered 2xx, each event id once, in arrival order."""
        seen: set[str] = set()
        out = []
        for c in self.calls:
            if c["status"] == 200 and c["json"]["id"] not in seen:
                seen.add(c["json"]["id"])
                out.append(c["json"])
        return out

    def events(self, item_id: int) -> list[str]:
        return [b["event"] for b in self.delivered() if b["item"]["id"] == item_id]


async def poll(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} not met in time"
        await asyncio.sleep(0.02)  # polling another party's state, with a deadline


def verifies(call: dict[str, Any], secret: str = SECRET) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), call["raw"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, call["signature"] or "")


def hooked(db_url: str, *hooks: dict[str, Any]):  # type: ignore[no-untyped-def]
    return make_config(db_url, webhooks=list(hooks))


@pytest.fixture
async def receiver():  # type: ignore[no-untyped-def]
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


async def rows_of(h: Harness) -> list[Outbox]:
    return await h.services.db.run(lambda s: list(s.exec(
        select(Outbox).where(Outbox.method == webhooks.METHOD).order_by(Outbox.id))))


# ---------------------------------------------------------------------- config


def test_config_names_the_key_at_fault() -> None:
    good = {"url": "https://example.org/hook", "secret": "x"}
    assert make_config("sqlite://", webhooks=[good]).webhooks[0].events is None
    for bad, key in [({"url": "ftp://example.org", "secret": "x"}, "webhooks[0].url"),
                     ({"url": "http://example.org"}, "webhooks[0].secret"),
                     ({"url": "http://example.org", "secret": ""}, "webhooks[0].secret"),
                     ({**good, "events": ["replied", "answered"]}, "webhooks[0].events[1]"),
                     ({**good, "events": []}, "webhooks[0].events")]:
        with pytest.raises(ConfigError) as err:
            make_config("sqlite://", webhooks=[bad])
        assert err.value.key == key, (bad, err.value)
    with pytest.raises(ConfigError) as err:
        make_config("sqlite://", webhooks=[good, good])
    assert err.value.key == "webhooks[1].url"


# ---------------------------------------------------------------------- what a receiver gets


async def test_signed_filtered_and_each_item_as_it_stood_after_the_event(db_url: str, receiver: Receiver) -> None:
    picky = Receiver()
    await picky.start()
    config = hooked(db_url, {"url": receiver.url, "secret": SECRET},
                    {"url": picky.url, "secret": "other-secret", "events": ["replied", "closed"]})
    try:
        async with Harness(config) as h:
            item = await h.post_message(external_id=unique_id(), body=NOISE, region=LANZHOU)
            n = item["id"]
            await h.card(LANZHOU_CHAT, n)
            await h.say(LANZHOU_CHAT, ZHANG, f"/claim {n}")  # from Telegram
            await h.answer_to(LANZHOU_CHAT, "认领")
            await h.say(LANZHOU_CHAT, ZHANG, f"/reply {n} 已责令施工单位夜间停工。")
            await poll(lambda: "replied" in receiver.events(n), what="replied")
            assert h.http is not None
            async with h.http.post(f"/api/v1/messages/{n}/rating", json={"rating": "satisfied"},
                                   headers=h.auth()) as resp:  # from the API
                assert resp.status == 200
            async with h.http.post(f"/api/v1/messages/{n}/close", headers=h.auth()) as resp:
                assert resp.status == 200
            await poll(lambda: receiver.events(n) == ["created", "claimed", "replied", "rated", "closed"]
                       and len(picky.delivered()) == 2, what="all events")
            final = await h.get_item(n)
            alarm = await h.post_message(external_id=unique_id(), body=SENSITIVE, region=LANZHOU)
            await poll(lambda: receiver.events(alarm["id"]) == ["created", "sensitive"], what="sensitive")
    finally:
        await picky.stop()
    assert all(verifies(c) for c in receiver.calls)
    assert all(verifies(c, "other-secret") and not verifies(c) for c in picky.calls)
    assert [b["event"] for b in picky.delivered()] == ["replied", "closed"]
    by_event = {b["event"]: b for b in receiver.delivered() if b["item"]["id"] == n}
    assert by_event["created"]["item"]["status"] == "new" and by_event["created"]["item"]["region"] == LANZHOU
    assert by_event["claimed"]["item"]["status"] == "claimed" and by_event["claimed"]["item"]["claimed_by"] == ZHANG
    assert by_event["replied"]["item"]["reply"] == "已责令施工单位夜间停工。"
    assert by_event["replied"]["item"]["rating"] is None
    assert by_event["rated"]["item"]["rating"] == "satisfied" and by_event["rated"]["item"]["status"] == "replied"
    assert by_event["closed"]["item"] == final  # exactly what GET shows
    ids = [b["id"] for b in receiver.delivered() + picky.delivered()]
    assert len(ids) == len(set(ids))
    at = by_event["closed"]["at"]
    assert at.endswith("+08:00")


async def test_every_retry_sends_the_same_bytes_after_growing_pauses(db_url: str, receiver: Receiver) -> None:
    config = hooked(db_url, {"url": receiver.url, "secret": SECRET})
    receiver.script = [500, 503, 500, 502]
    async with Harness(config) as h:
        h.service.delivery.backoff_base = 0.05
        item = await h.post_message(external_id=unique_id(), body=NOISE, region=LANZHOU)
        await poll(lambda: receiver.events(item["id"]) == ["created"], what="delivered after 5xx")
        rows = await rows_of(h)
    assert len(receiver.calls) == 5 and len({c["raw"] for c in receiver.calls}) == 1
    assert all(verifies(c) for c in receiver.calls)
    gaps = [b["t"] - a["t"] for a, b in zip(receiver.calls, receiver.calls[1:], strict=False)]
    assert gaps[0] >= 0.05 and gaps[-1] >= 0.4 and gaps[-1] > gaps[0], gaps  # 0.05, 0.1, 0.2, 0.4 s
    assert [r.status for r in rows] == ["sent"] and rows[0].attempts == 5
    assert webhooks.pause(30, 0.5, 300.0) == webhooks.MAX_PAUSE  # never more than a minute apart


async def test_receiver_down_then_back_loses_nothing_and_keeps_each_items_order(db_url: str, receiver: Receiver) -> None:
    config = hooked(db_url, {"url": receiver.url, "secret": SECRET})
    await receiver.stop()  # connection refused
    async with Harness(config) as h:
        h.service.delivery.backoff_base = 0.05
        h.service.delivery.max_backoff = 0.3
        items = [await h.post_message(external_id=unique_id(), body=NOISE, region=LANZHOU) for _ in range(3)]
        for it in items[:2]:
            await h.card(LANZHOU_CHAT, it["id"])
            await h.say(LANZHOU_CHAT, ZHANG, f"/claim {it['id']}")
        await h.say(LANZHOU_CHAT, ZHANG, f"/reply {items[0]['id']} 已处理。")
        await poll_rows(h, lambda rows: len(rows) == 6 and rows[0].attempts >= 3, what="tries while down")
        assert receiver.calls == []
        await receiver.start()
        await poll(lambda: len(receiver.delivered()) == 6, what="backlog after the receiver is back")
        await h.drain()
        rows = await rows_of(h)
        log = await h.services.db.run(lambda s: [(e.item_id, e.action) for e in s.exec(select(Event).order_by(Event.id))])
    assert all(r.status == "sent" for r in rows)
    expected: dict[int, list[str]] = defaultdict(list)
    for item_id, action in log:
        if action in ("received", "claimed", "replied"):
            expected[item_id].append({"received": "created"}.get(action, action))
    for it in items:
        assert receiver.events(it["id"]) == expected[it["id"]]
    assert receiver.events(items[0]["id"]) == ["created", "claimed", "replied"]


async def poll_rows(h: Harness, condition: Callable[[list[Outbox]], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition(await rows_of(h)):
        assert time.monotonic() < deadline, f"{what} not met in time"
        await asyncio.sleep(0.05)  # polling the outbox, with a deadline


async def test_a_refusing_receiver_is_tried_a_few_times_set_aside_and_the_desk_told_once_a_day(
        db_url: str, receiver: Receiver) -> None:
    config = hooked(db_url, {"url": receiver.url, "secret": SECRET})
    async with Harness(config) as h:
        h.service.delivery.backoff_base = 0.02
        receiver.script = [404] * webhooks.REFUSALS_ALLOWED
        first = await h.post_message(external_id=unique_id(), body=NOISE, region=LANZHOU)
        await poll_rows(h, lambda rows: rows and rows[0].status == "failed", what="set aside")
        await h.card(LANZHOU_CHAT, first["id"])
        await h.say(LANZHOU_CHAT, ZHANG, f"/claim {first['id']}")  # the item's later event still goes
        await poll(lambda: receiver.events(first["id"]) == ["claimed"], what="later event")
        receiver.script = [410] * webhooks.REFUSALS_ALLOWED
        second = await h.post_message(external_id=unique_id(), body=NOISE, region=LANZHOU)
        await poll_rows(h, lambda rows: sum(r.status == "failed" for r in rows) == 2, what="second set aside")
        await h.card(LANZHOU_CHAT, second["id"])
        await h.say(LANZHOU_CHAT, ZHANG, f"/claim {second['id']}")
        await poll(lambda: receiver.events(second["id"]) == ["claimed"], what="later event")
        await h.drain()
        rows = await rows_of(h)
        desk = [m.text for m in h.standin.messages(DESK_CHAT) if receiver.url in (m.text or "")]
    assert [r.attempts for r in rows if r.status == "failed"] == [webhooks.REFUSALS_ALLOWED] * 2
    assert len([c for c in receiver.calls if c["status"] == 404]) == webhooks.REFUSALS_ALLOWED
    assert len(desk) == 1 and "404" in desk[0], desk  # the second set-aside the same day: no second notice


async def test_history_sends_nothing_until_it_is_acted_on(db_url: str, receiver: Receiver) -> None:
    config = hooked(db_url, {"url": receiver.url, "secret": SECRET})
    async with Harness(config) as h:
        s = h.services
        past = [PastMessage(Incoming(external_id=unique_id(), body=NOISE, region=LANZHOU), reply="已处理。",
                            replied_at=s.now()),
                PastMessage(Incoming(external_id=unique_id(), body=SENSITIVE, region=LANZHOU))]
        (done, _), (open_, _) = await s.act(import_history, s.workflow, past, s.now())
        await h.drain()
        assert await rows_of(h) == [] and receiver.calls == []
        assert h.http is not None
        async with h.http.post(f"/api/v1/messages/{done.id}/rating", json={"rating": "unsatisfied"},
                               headers=h.auth()) as resp:
            assert resp.status == 200
        await poll(lambda: len(receiver.delivered()) >= 1, what="the rating of a history item")
        await h.drain()
    assert [b["event"] for b in receiver.delivered()][:1] == ["rated"]
    assert receiver.delivered()[0]["item"]["history"] is False
    assert all(b["item"]["id"] == done.id for b in receiver.delivered())


# ---------------------------------------------------------------------- kill -9


async def test_kill_9_with_webhooks_queued_loses_nothing(db_url: str, tmp_path: Path, receiver: Receiver) -> None:
    standin = BotApiStandin()
    await standin.start()
    port = free_port()
    path = tmp_path / "liuyan.toml"
    toml_config(path, api_url=standin.base_url, db_url=db_url, port=port)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(f'[[webhooks]]\nurl = "{receiver.url}"\nsecret = "{SECRET}"\n')
    proc = Process(path, port, tmp_path / "liuyan.log")
    await receiver.stop()  # everything queues while the receiver is down
    batch = [{"external_id": f"hook-{i}", "body": f"第{i}件：{NOISE}", "region": LANZHOU} for i in range(20)]
    db = Database(db_url)

    def rows() -> list[Outbox]:
        return db.call(lambda s: list(s.exec(select(Outbox).where(Outbox.method == webhooks.METHOD))))

    try:
        await proc.start()
        api = aiohttp.ClientSession(f"http://127.0.0.1:{port}", headers={"Authorization": "Bearer kill-token"})
        async with api, api.post("/api/v1/messages", json=batch) as resp:
            assert resp.status == 201, await resp.text()
        await poll(lambda: len(rows()) == 20 and any(r.attempts > 0 for r in rows()), what="tried once", timeout=30)
        proc.kill()
        await receiver.start()
        await proc.start()
        await poll(lambda: all(r.status == "sent" for r in rows()), what="all sent after restart", timeout=60)
        stored = {json.loads(r.payload)["body"] for r in rows()}
    finally:
        proc.kill()
        db.dispose()
        await standin.stop()
    got = receiver.delivered()
    assert len(got) == 20 and sorted(b["item"]["external_id"] for b in got) == sorted(b["external_id"] for b in batch)
    assert {c["raw"].decode() for c in receiver.calls} == stored  # the bytes stored are the bytes sent
    assert all(verifies(c) for c in receiver.calls)
    assert [b["item"]["id"] for b in got] == sorted(b["item"]["id"] for b in got)  # in the order they happened


async def test_an_item_past_its_deadline_is_announced_overdue_once(db_url: str, receiver: Receiver) -> None:
    from datetime import timedelta

    from scheduler.sweep import sweep

    async with Harness(hooked(db_url, {"url": receiver.url, "secret": SECRET, "events": ["overdue"]})) as h:
        item = await h.post_message(external_id=unique_id(), body=NOISE, region=LANZHOU)
        s = h.services
        # a month later, at 10:00 on a weekday: overdue escalation waits out quiet hours and days off
        later = (s.now() + timedelta(days=30)).astimezone(s.config.schedule.tz).replace(hour=10, minute=0)
        while later.weekday() >= 5:
            later += timedelta(days=1)
        for _ in range(2):  # a second pass says nothing again
            await s.act(sweep, s.workflow, later)
        await poll(lambda: len(receiver.delivered()) == 1, what="overdue")
        await h.drain()
    (sent,) = receiver.delivered()
    assert sent["event"] == "overdue" and sent["item"]["id"] == item["id"] and sent["item"]["status"] == "new"
    assert len(receiver.calls) == 1
