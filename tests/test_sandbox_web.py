"""The sandbox of ``liuyan demo``: its clock, the training scenario, the web chat's API and live
stream, and the supervisors' dashboard — over real HTTP on 127.0.0.1, against the whole service and
the Bot API stand-in, as a trainee's browser would use them."""

from __future__ import annotations

import asyncio
import json
import re
import textwrap
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web

from bot.demo.clock import SandboxClock, ensure_offline
from bot.demo.runner import BAIYIN, DESK, HEALTH, LANZHOU, LEADERS, TIANSHUI, DemoSandbox, run_demo
from bot.demo.scenario import ScenarioError, load_scenario, real_duration
from bot.render import Renderer
from tests.conftest import make_config, unique_id

TZ = ZoneInfo("Asia/Shanghai")
ZHANG, LI, WANG, ZHAO_MIN, SUPERVISOR, LEADER, VISITOR = 1001, 1002, 1003, 1004, 2001, 3001, 9999
THURSDAY = datetime(2026, 11, 12, 9, 0, tzinfo=TZ)


class FakeReal:
    """Real seconds that move only when told to."""

    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


# --------------------------------------------------------------------------------- sandbox clock


def test_sandbox_clock_runs_rate_times_faster_pauses_and_only_jumps_forward() -> None:
    real = FakeReal()
    clock = SandboxClock(THURSDAY, rate=120, real=real)
    assert clock() == THURSDAY and clock().tzinfo is not None
    real.t += 30  # half a real minute is an hour of sandbox time
    assert clock() == THURSDAY + timedelta(hours=1)
    clock.pause()
    real.t += 600
    assert clock() == THURSDAY + timedelta(hours=1) and clock.snapshot()["paused"]
    clock.resume()
    real.t += 1
    assert clock() == THURSDAY + timedelta(hours=1, minutes=2)
    clock.jump_to(datetime(2026, 11, 16, 8, 58, tzinfo=TZ))
    assert clock() == datetime(2026, 11, 16, 8, 58, tzinfo=TZ)
    with pytest.raises(ValueError, match="never goes back"):
        clock.jump_to(THURSDAY)
    with pytest.raises(ValueError, match="never goes back"):
        clock.advance(timedelta(minutes=-1))
    clock.set_rate(60)
    real.t += 1
    assert clock() == datetime(2026, 11, 16, 8, 59, tzinfo=TZ)
    with pytest.raises(ValueError):
        SandboxClock(datetime(2026, 11, 12, 9, 0), rate=1)  # naive: which timezone?


async def test_sleep_until_wakes_when_the_clock_jumps_and_listeners_hear_changes() -> None:
    clock = SandboxClock(THURSDAY, rate=1)  # real time: the target is a day away
    heard: list[dict[str, Any]] = []
    clock.add_listener(lambda c: heard.append(c.snapshot()))
    target = THURSDAY + timedelta(days=1)
    sleeper = asyncio.create_task(clock.sleep_until(target))
    await asyncio.sleep(0)
    assert not sleeper.done()
    clock.jump_to(target)
    await asyncio.wait_for(sleeper, 2.0)
    clock.pause()
    assert [h["paused"] for h in heard] == [False, True]


def test_sandbox_time_is_refused_for_a_deployment_that_talks_to_real_telegram(tmp_path: Path) -> None:
    real = make_config(f"sqlite:///{tmp_path / 'a.db'}", telegram__api_url="https://api.telegram.org/bot")
    with pytest.raises(RuntimeError, match="api.telegram.org"):
        ensure_offline(real)
    ensure_offline(make_config(f"sqlite:///{tmp_path / 'b.db'}", telegram__api_url="http://127.0.0.1:8081/bot"))
    # and `liuyan run` builds its services on the wall clock: nothing in it can pick up sandbox time
    from bot.app_context import AppContext, wall_clock

    s = AppContext.create(real)
    try:
        assert s.clock is wall_clock
        assert abs((s.now() - datetime.now(UTC)).total_seconds()) < 5
    finally:
        s.db.dispose()


# --------------------------------------------------------------------------------- the scenario


def test_the_training_scenario_shows_every_part_of_the_workflow_in_minutes() -> None:
    scenario = load_scenario()
    renderer = Renderer("zh")
    import tomllib

    from bot.config import parse_config
    from bot.demo.runner import demo_config_text

    config = parse_config(tomllib.loads(demo_config_text(Path("x.db"), 0, "http://127.0.0.1:1/bot")), env={})
    scenario.check_roster(config)
    # every note for trainees exists in both languages
    for name in scenario.narrations():
        assert renderer.text(f"web.narration.{name}", "zh") and renderer.text(f"web.narration.{name}", "en")
    arrived = [s.message for s in scenario.steps if s.message]
    touched = {s.item for s in scenario.steps if s.item}
    assert set(arrived) - touched, "some item must be left alone so the unclaimed reminder shows"
    assert any("跳楼" in scenario.samples[m]["body"] for m in arrived), "a sensitive message arrives"
    assert any(s.press == "claim" for s in scenario.steps) and any(s.reply for s in scenario.steps)
    # a working day goes by (an urgent item falls overdue at 18:00), then Monday 09:00 comes round
    monday_nine = datetime(2026, 11, 16, 9, 0, tzinfo=TZ)
    assert scenario.start.weekday() == 3 and any(s.jump and s.jump < monday_nine for s in scenario.steps)
    assert scenario.end > monday_nine and config.schedule.weekly_day == "mon"
    minutes = real_duration(scenario, 1.0).total_seconds() / 60
    assert 3 <= minutes <= 12, minutes
    assert real_duration(scenario, 2.0) < real_duration(scenario, 1.0)


@pytest.mark.parametrize("steps, error", [
    ('[[step]]\nat = 2026-11-12T09:00:00\nsay = "/claim {demo-001}"\nby = 1001\nchat = "desk"', "has arrived"),
    ('[[step]]\nat = 2026-11-12T09:00:00\nmessage = "demo-001"\n[[step]]\nat = 2026-11-12T08:00:00\nnarrate = "end"',
     r"step\[1\]\.at"),
    ('[[step]]\nat = 2026-11-12T09:00:00\nmessage = "nope"', "no sample 'nope'"),
    ('[[step]]\nat = 2026-11-12T09:00:00\nmesage = "demo-001"', r"step\[0\]\.mesage: unknown key"),
    ('[[step]]\nat = 2026-11-12T09:00:00\nmessage = "demo-001"\n[[step]]\nat = 2026-11-12T09:01:00\n'
     'press = "claim"\nitem = "demo-001"', r"step\[1\]\.by"),
    ('[[step]]\nat = 2026-11-12T09:00:00\njump = 2026-11-11T09:00:00', "never goes back"),
])
def test_a_broken_scenario_is_refused_naming_the_step_and_key(tmp_path: Path, steps: str, error: str) -> None:
    path = tmp_path / "s.toml"
    path.write_text("start = 2026-11-12T08:55:00\nrate = 60\n" + steps, encoding="utf-8")
    with pytest.raises(ScenarioError, match=error):
        load_scenario(path)


# --------------------------------------------------------------------------------- a running sandbox


@pytest.fixture
async def box(db_url: str, tmp_path: Path) -> AsyncIterator[DemoSandbox]:
    """The demo's sandbox (stand-in, service on sandbox time, web page), with no scenario playing."""
    async with DemoSandbox(tmp_path / "demo", port=0, start=THURSDAY, enforce_limits=False, db_url=db_url,
                           scheduler=False) as sandbox:
        yield sandbox


@pytest.fixture
async def http(box: DemoSandbox) -> AsyncIterator[aiohttp.ClientSession]:
    # unsafe=True: keep cookies for 127.0.0.1, as a browser does
    async with aiohttp.ClientSession(base_url=box.web_url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def intake(box: DemoSandbox, **fields: Any) -> dict[str, Any]:
    fields.setdefault("external_id", unique_id())
    async with aiohttp.ClientSession() as client:
        async with client.post(f"{box.api_url}/api/v1/messages", json=fields,
                               headers={"Authorization": f"Bearer {box.config.api.token}"}) as resp:
            assert resp.status == 201, await resp.text()
            return await resp.json()


async def card(box: DemoSandbox, chat_id: int, item_id: int) -> Any:
    pattern = re.compile(rf"^\S+ #{item_id}(?!\d)")

    def find(st: Any) -> Any:
        return next((m for m in st.messages(chat_id) if pattern.match(m.text or "") and m.buttons), None)

    return await box.standin.wait_for(find, timeout=10)


async def test_the_page_is_a_chat_client_in_the_chosen_language(box: DemoSandbox, http: aiohttp.ClientSession) -> None:
    async with http.get("/") as resp:
        page = await resp.text()
        assert resp.status == 200 and "当前身份" in page and 'lang="zh-CN"' in page
        csp = resp.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp  # nothing from other sites
    assert not re.search(r'(src|href)="(https?:)?//', page), "every asset is local"
    async with http.get("/?lang=en") as resp:
        page = await resp.text()
        assert "Acting as" in page and 'lang="en"' in page and "当前身份" not in page
        assert resp.cookies["liuyan_lang"].value == "en"
    async with http.get("/") as resp:  # remembered
        assert "Acting as" in await resp.text()
    for asset in ("/static/chat.js", "/static/telegram_entities.js", "/static/chat.css"):
        async with http.get(asset) as resp:
            assert resp.status == 200, asset


async def test_state_lists_each_region_group_the_desk_the_leaders_and_the_people(
        box: DemoSandbox, http: aiohttp.ClientSession) -> None:
    async with http.get("/api/sandbox/state") as resp:
        state = await resp.json()
    groups = [(c["id"], c["kind"]) for c in state["chats"] if c["kind"] != "private"]
    assert groups == [(LANZHOU, "region"), (TIANSHUI, "region"), (BAIYIN, "region"), (HEALTH, "unit"),
                      (DESK, "desk"), (LEADERS, "leaders")]
    assert next(c for c in state["chats"] if c["id"] == LANZHOU)["region_name"] == "兰州市"
    people = {p["id"]: p for p in state["people"]}
    assert people[ZHANG]["name"] == "张三" and people[ZHANG]["role"] == "officer"
    assert people[SUPERVISOR]["role"] == "supervisor" and people[LEADER]["role"] == "leader"
    assert people[VISITOR]["in_roster"] is False
    assert datetime.fromisoformat(state["clock"]["now"]) >= THURSDAY


async def test_a_command_typed_as_an_officer_appears_in_the_chat_and_the_bot_answers(
        box: DemoSandbox, http: aiohttp.ClientSession) -> None:
    item = await intake(box, title="雁滩路夜间施工", body="城关区雁滩路工地夜间施工噪音扰民。")
    await card(box, LANZHOU, item["id"])
    async with http.post(f"/api/sandbox/chats/{LANZHOU}/messages", json={"user_id": ZHANG, "text": f"/claim {item['id']}"}) as resp:
        assert resp.status == 201, await resp.text()
        sent = await resp.json()
    answer = await box.standin.wait_for_message(LANZHOU, contains="张三", after_id=sent["message_id"], timeout=10)
    assert f"#{item['id']}" in answer.text
    # the answer to the officer goes first; the card's edit follows it
    await box.standin.wait_for(lambda st: any((m.text or "").startswith("🙋") and "📍" in (m.text or "")
                                              and "已由 张三 认领" in (m.text or "") for m in st.messages(LANZHOU)), timeout=10)
    async with http.get("/api/sandbox/state") as resp:
        chat = next(c for c in (await resp.json())["chats"] if c["id"] == LANZHOU)
    mine = next(m for m in chat["messages"] if m["message_id"] == sent["message_id"])
    assert mine["from"]["name"] == "张三" and mine["entities"][0]["type"] == "bot_command"
    # the message is dated in sandbox time, as the page shows it
    assert datetime.fromtimestamp(mine["date"], TZ).date() == THURSDAY.date()
    the_card = next(m for m in chat["messages"] if m["text"].startswith(("🙋", "🆕")) and f"#{item['id']}" in m["text"])
    assert "已由 张三 认领" in the_card["text"] and not the_card["buttons"]
    assert any(e["type"] == "bold" for e in the_card["entities"])


async def test_pressing_a_card_button_answers_with_the_popup_and_changes_the_card(
        box: DemoSandbox, http: aiohttp.ClientSession) -> None:
    item = await intake(box, body="城关区某小区电梯停运一周。")
    msg = await card(box, LANZHOU, item["id"])
    await box.service.delivery.drain(10)  # the card's message id is recorded, as it is by the time a person taps
    data = f"claim:{item['id']}"
    url = f"/api/sandbox/chats/{LANZHOU}/messages/{msg.message_id}/press"
    async with http.post(url, json={"user_id": WANG, "data": data}) as resp:  # Tianshui's officer
        refused = (await resp.json())["answer"]
    assert refused["show_alert"] and "兰州市" in refused["text"]
    async with http.post(url, json={"user_id": LI, "data": data}) as resp:
        answer = (await resp.json())["answer"]
    assert resp.status == 200 and f"#{item['id']}" in answer["text"] and not answer["show_alert"]
    await box.standin.wait_for(lambda st: "李四" in st.message(LANZHOU, msg.message_id).text, timeout=10)
    async with http.post(url, json={"user_id": LI, "data": data}) as resp:  # the button is gone now
        assert resp.status == 409 and "no longer" in (await resp.json())["error"]


async def test_replying_to_a_card_from_the_page_replies_to_the_item(box: DemoSandbox, http: aiohttp.ClientSession) -> None:
    item = await intake(box, body="秦州区小区供暖不热，室温只有十四度。")
    msg = await card(box, TIANSHUI, item["id"])
    async with http.post(f"/api/sandbox/chats/{TIANSHUI}/messages", json={"user_id": WANG, "text": f"/claim {item['id']}"}):
        pass
    await box.standin.wait_for(lambda st: "已由 王五 认领" in st.message(TIANSHUI, msg.message_id).text, timeout=10)
    body = {"user_id": WANG, "text": "/reply 已督促供热公司排查管网，明日恢复正常。", "reply_to_message_id": msg.message_id}
    async with http.post(f"/api/sandbox/chats/{TIANSHUI}/messages", json=body) as resp:
        assert resp.status == 201
    await box.standin.wait_for(lambda st: "已由 王五 回复" in st.message(TIANSHUI, msg.message_id).text, timeout=10)
    edited = box.standin.message(TIANSHUI, msg.message_id)
    assert "明日恢复正常" in edited.text and edited.text.startswith("✅")


BAD_REQUESTS = [
    (f"/api/sandbox/chats/{LANZHOU}/messages", {"user_id": 424242, "text": "hi"}, 400, "nobody"),
    (f"/api/sandbox/chats/{LANZHOU}/messages", {"user_id": ZHANG, "text": "   "}, 400, "write something"),
    (f"/api/sandbox/chats/{LANZHOU}/messages", {"user_id": ZHANG, "text": "长" * 4097}, 400, "4096"),
    (f"/api/sandbox/chats/{LI}/messages", {"user_id": ZHANG, "text": "/mine"}, 400, "private chat"),
    ("/api/sandbox/chats/-100999/messages", {"user_id": ZHANG, "text": "hi"}, 404, "no chat"),
    (f"/api/sandbox/chats/{LANZHOU}/messages", {"user_id": ZHANG, "text": "hi", "reply_to_message_id": 9999}, 400,
     "no message 9999"),
    (f"/api/sandbox/chats/{LANZHOU}/messages", [1, 2], 400, "JSON object"),
    (f"/api/sandbox/chats/{LANZHOU}/messages/1/press", {"user_id": ZHANG}, 400, "data"),
    ("/api/sandbox/clock", {"action": "advance", "minutes": -5}, 400, "minutes"),
    ("/api/sandbox/clock", {"action": "rate", "rate": 0}, 400, "rate"),
    ("/api/sandbox/clock", {"action": "rewind"}, 400, "action"),
]


async def test_bad_requests_from_the_page_get_plain_errors_and_change_nothing(
        box: DemoSandbox, http: aiohttp.ClientSession) -> None:
    before = box.standin.chats_snapshot()["chats"]
    for path, body, status, says in BAD_REQUESTS:
        async with http.post(path, json=body) as resp:
            assert resp.status == status, (path, body, await resp.text())
            assert says in (await resp.json())["error"], (path, body)
        async with http.post(path, data=b"{not json", headers={"Content-Type": "application/json"}) as resp:
            assert resp.status in (400, 404) and "error" in await resp.json()
    assert box.standin.chats_snapshot()["chats"] == before


async def read_events(resp: aiohttp.ClientResponse) -> AsyncIterator[dict[str, Any]]:
    async for raw in resp.content:
        line = raw.decode("utf-8").strip()
        if line.startswith("data: "):
            yield json.loads(line[6:])


async def test_live_updates_reach_the_page_as_server_sent_events(box: DemoSandbox, http: aiohttp.ClientSession) -> None:
    async with http.get("/api/sandbox/events") as resp:
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        events = read_events(resp)
        assert (await asyncio.wait_for(events.__anext__(), 5))["type"] == "hello"
        item = await intake(box, body="麦积区渭河河道非法采砂。")

        async def next_matching(pred: Any) -> dict[str, Any]:
            while True:
                event = await asyncio.wait_for(events.__anext__(), 10)
                if pred(event):
                    return event

        new = await next_matching(lambda e: e["type"] == "message" and f"#{item['id']}" in e["message"]["text"])
        assert new["chat_id"] == TIANSHUI and new["message"]["buttons"][0][0]["callback_data"] == f"claim:{item['id']}"
        box.standin.inject_message(TIANSHUI, WANG, f"/claim {item['id']}")
        typed = await next_matching(lambda e: e["type"] == "message" and not e["message"]["from"]["is_bot"])
        assert typed["message"]["text"] == f"/claim {item['id']}"
        edit = await next_matching(lambda e: e["type"] == "edit")
        assert edit["message"]["message_id"] == new["message"]["message_id"] and "王五" in edit["message"]["text"]
        box.hub.narrate("welcome")
        note = await next_matching(lambda e: e["type"] == "narration")
        assert "培训沙盒" in note["narration"]["text"]["zh"] and "training sandbox" in note["narration"]["text"]["en"]
        async with http.post("/api/sandbox/clock", json={"action": "pause"}):
            pass
        clock = await next_matching(lambda e: e["type"] == "clock")
        assert clock["clock"]["paused"] is True


async def test_the_clock_controls_pause_speed_up_and_skip_ahead(box: DemoSandbox, http: aiohttp.ClientSession) -> None:
    async with http.post("/api/sandbox/clock", json={"action": "pause"}) as resp:
        before = datetime.fromisoformat((await resp.json())["clock"]["now"])
    async with http.post("/api/sandbox/clock", json={"action": "advance", "minutes": 90}) as resp:
        after = (await resp.json())["clock"]
    assert datetime.fromisoformat(after["now"]) - before == timedelta(minutes=90) and after["paused"]
    async with http.post("/api/sandbox/clock", json={"action": "rate", "rate": 600}) as resp:
        running = (await resp.json())["clock"]
    assert running["rate"] == 600.0 and running["paused"] is False
    # the service lives in that time: a message arriving now is received at sandbox time
    item = await intake(box, body="城关区道路积水。")
    received = datetime.fromisoformat(item["received_at"])
    assert received - before >= timedelta(minutes=90) and received - before < timedelta(hours=3)


async def box_item(box: DemoSandbox, item_id: int) -> dict[str, Any]:
    async with aiohttp.ClientSession() as client:
        async with client.get(f"{box.api_url}/api/v1/messages/{item_id}",
                              headers={"Authorization": f"Bearer {box.config.api.token}"}) as resp:
            return await resp.json()


async def test_files_the_bot_sends_open_from_the_page_without_running_anything(
        box: DemoSandbox, http: aiohttp.ClientSession) -> None:
    sent = await box.service.app.bot.send_document(LEADERS, b"<html><script>alert(1)</script>report</html>",
                                                   filename="weekly.html", caption="周报")
    async with http.get(f"/api/sandbox/files/{sent.document.file_id}") as resp:
        assert resp.status == 200 and b"report" in await resp.read()
        assert resp.headers["Content-Security-Policy"].startswith("sandbox")
    async with http.get(f"/api/sandbox/files/{sent.document.file_id}?download=1") as resp:
        assert "attachment" in resp.headers["Content-Disposition"]
    async with http.get("/api/sandbox/files/nope") as resp:
        assert resp.status == 404


# --------------------------------------------------------------------------------- the dashboard


async def test_dashboard_on_the_intake_server_needs_the_token_and_shows_live_figures(box: DemoSandbox) -> None:
    """Mounted the way a real deployment mounts it: on the intake API's app, behind the API token."""
    from bot.web.dashboard import dashboard_routes
    from bot.web.intake import make_app

    s = box.service.services
    app = dashboard_routes(make_app(s), s)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    token = box.config.api.token
    try:
        jar = aiohttp.CookieJar(unsafe=True)  # keep cookies for 127.0.0.1, as a browser does
        async with aiohttp.ClientSession(base_url=base, cookie_jar=jar) as client:
            async with client.get("/dashboard/") as resp:
                assert resp.status == 401 and 'name="token"' in await resp.text()
            async with client.get("/dashboard/figures.json") as resp:
                assert resp.status == 401 and "token" in (await resp.json())["error"]
            async with client.get("/dashboard/figures.json", headers={"Authorization": "Bearer wrong"}) as resp:
                assert resp.status == 401
            async with client.get("/dashboard/?token=wrong") as resp:
                assert resp.status == 401
            async with client.get(f"/dashboard/?token={token}&lang=en", allow_redirects=False) as resp:
                assert resp.status == 303 and resp.headers["Location"] == "/dashboard/?lang=en"
                assert token not in resp.headers["Set-Cookie"]
            async with client.get("/dashboard/?lang=en") as resp:  # the cookie is enough now
                assert resp.status == 200 and "Supervisors&#39; dashboard" in await resp.text()

            async def figures() -> dict[str, Any]:
                async with client.get("/dashboard/figures.json?period=week") as resp:
                    assert resp.status == 200
                    return await resp.json()

            empty = await figures()
            lanzhou = next(r for r in empty["regions"] if r["code"] == "620100")
            assert lanzhou["received"] == 0 and empty["start"].startswith("2026-11-09T00:00:00+08:00")
            item = await intake(box, body="城关区雁滩路夜间施工噪音扰民。")
            box.standin.inject_message(LANZHOU, SUPERVISOR, f"/reply {item['id']} 已转交城关区住建局处理。")
            await box.standin.wait_for_message(LANZHOU, contains=f"#{item['id']} 已回复", timeout=10)
            live = await figures()
            lanzhou = next(r for r in live["regions"] if r["code"] == "620100")
            assert (lanzhou["received"], lanzhou["replied"], lanzhou["reply_rate"]) == (1, 1, 1.0)
            assert live["total"]["received"] == 1 and live["version"] != empty["version"]
            async with client.get("/dashboard/figures.json?period=fortnight",
                                  headers={"Authorization": f"Bearer {token}"}) as resp:
                assert resp.status == 400 and "period" in (await resp.json())["error"]
        async with aiohttp.ClientSession(base_url=base) as script:  # a script with the bearer token
            async with script.get("/dashboard/chart.png?period=week&lang=zh",
                                  headers={"Authorization": f"Bearer {token}"}) as resp:
                assert resp.status == 200 and (await resp.read()).startswith(b"\x89PNG")
            async with script.get("/api/v1/messages/1") as resp:  # the intake API is untouched
                assert resp.status == 401
    finally:
        await runner.cleanup()


async def test_the_demo_dashboard_link_works_without_typing_the_token(box: DemoSandbox) -> None:
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(base_url=box.web_url, cookie_jar=jar) as client:
        async with client.get("/") as resp:
            link = re.search(r'href="(/dashboard/[^"]*)"', await resp.text()).group(1).replace("&amp;", "&")
        async with client.get(link) as resp:
            assert resp.status == 200 and "值班仪表盘" in await resp.text()
            assert "token" not in str(resp.url)


# --------------------------------------------------------------------------------- scenario and CLI


async def test_a_scenario_plays_through_the_service_on_sandbox_time(tmp_path: Path, db_url: str) -> None:
    path = tmp_path / "mini.toml"
    path.write_text(textwrap.dedent("""
        start = 2026-11-12T08:59:00
        rate = 3600
        [[step]]
        at = 2026-11-12T09:00:00
        message = "demo-001"
        narrate = "welcome"
        [[step]]
        at = 2026-11-12T09:30:00
        press = "claim"
        item = "demo-001"
        by = 1001
        [[step]]
        at = 2026-11-12T10:00:00
        say = "/reply 已责令工地停止夜间施工。"
        item = "demo-001"
        reply = true
        by = 1001
        [[step]]
        at = 2026-11-12T10:10:00
        rating = "satisfied"
        item = "demo-001"
        [[step]]
        at = 2026-11-12T10:20:00
        narrate = "weekend"
        jump = 2026-11-16T09:05:00
        """), encoding="utf-8")
    scenario = load_scenario(path)
    async with DemoSandbox(tmp_path / "demo", scenario=scenario, enforce_limits=False, db_url=db_url,
                           scheduler=False) as sandbox:
        runner = sandbox.runner()
        await asyncio.wait_for(runner.run(), 60)
        assert runner.skipped == [] and len(runner.done) == 5
        item = await box_item(sandbox, runner.items["demo-001"])
        assert item["status"] == "replied" and item["claimed_by_name"] == "张三" and item["rating"] == "satisfied"
        replied = datetime.fromisoformat(item["replied_at"])
        assert THURSDAY <= replied < THURSDAY + timedelta(hours=3)  # sandbox time, not today's date
        assert sandbox.clock() >= datetime(2026, 11, 16, 9, 5, tzinfo=TZ)
        assert [n["name"] for n in sandbox.hub.narrations] == ["welcome", "weekend"]


async def test_liuyan_demo_serves_the_page_and_stops_after_its_duration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert await run_demo(port=0, folder=tmp_path / "d", speed=40, duration=4) == 0
    out = capsys.readouterr().out
    assert re.search(r"http://127\.0\.0\.1:\d+/", out) and "沙盒时间" in out
    assert "┌─ [兰州市联络群]" in out  # the scenario ran: the first card arrived
    assert (tmp_path / "d" / "liuyan.toml").exists()
