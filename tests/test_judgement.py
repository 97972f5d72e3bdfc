"""Judgement seen through the API and in Telegram: where a message goes (rules, learned
suggestions, automatic routing), how urgent it is, and why — as an officer or an integrator
would notice it."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.app_context import AppContext
from bot.config import ConfigError
from bot.workflow import Incoming
from bot.workflow import intake as intake_step
from bot.workflow.context import common_word_aliases_of
from tests.conftest import (
    DESK_CHAT,
    LANZHOU,
    LANZHOU_CHAT,
    TIANSHUI,
    ZHANG,
    ZHAO,
    make_config,
)
from tests.harness import Harness

NOW = datetime(2026, 10, 9, 2, 0, tzinfo=UTC)  # Friday 10:00 in Asia/Shanghai

# Places a local would place (no district named): what the routing model must learn.
# (few: a group chat takes 20 cards a minute, and the tests wait for cards after these)
LANZHOU_PLACES = ("正宁路夜市", "雁滩公园", "西关十字")
TIANSHUI_PLACES = ("伏羲庙", "南郭寺", "玉泉观")
PROBLEMS = ("晚上噪音扰民，影响休息", "停车乱象严重")


def examples() -> list[dict[str, Any]]:
    """Routed history: each place with each problem, the region given explicitly."""
    out = []
    for region, places in ((LANZHOU, LANZHOU_PLACES), (TIANSHUI, TIANSHUI_PLACES)):
        for i, place in enumerate(places):
            for j, problem in enumerate(PROBLEMS):
                out.append({"external_id": f"h-{region}-{i}-{j}", "title": f"{place}{problem[:4]}",
                            "body": f"{place}{problem}，请尽快处理。", "region": region})
    return out


async def trained(h: Harness) -> None:
    """Post the routed history and train the routing model on it (in this process, now)."""
    for row in examples():
        await h.post_message(**row)
    learner = h.services.workflow.learner
    learner.in_process = True
    assert await asyncio.to_thread(learner.retrain, h.services.db) is not None


# -- rules: the misses of real phrasing route right, end to end ------------------------------


@pytest.mark.parametrize("body", ["城关区路灯坏了", "城关区路口红绿灯坏了，早高峰很危险", "七里河区路灯一直不亮"])
async def test_a_district_followed_by_street_furniture_routes_to_its_region(harness: Harness, body: str) -> None:
    item = await harness.post_message(external_id=body, body=body)
    assert item["region"] == LANZHOU and item["status"] == "new"
    got = await harness.get_item(item["id"])
    assert got["routed_by"]["reason"] == "text" and got["routed_by"]["terms"]
    assert got["suggestions"] == []


def test_a_common_word_alias_is_warned_about_and_counts_only_as_a_place(
        tmp_path: Any, caplog: pytest.LogCaptureFixture) -> None:
    regions = [{"code": LANZHOU, "name": "兰州市", "chat_id": -1001000000100, "aliases": ["兰州", "安宁"]},
               {"code": TIANSHUI, "name": "天水市", "chat_id": -1001000000200, "aliases": ["天水"]}]
    config = make_config(f"sqlite:///{tmp_path / 'a.db'}", regions=regions)
    assert common_word_aliases_of(config) == [("安宁", "兰州市")]
    with caplog.at_level(logging.WARNING):
        s = AppContext.create(config, clock=lambda: NOW)
    try:
        warned = [r.getMessage() for r in caplog.records if "安宁" in r.getMessage()]
        assert len(warned) == 1 and "兰州市" in warned[0]
        (noise, _), (place, _) = s.db.call(intake_step.intake, s.workflow, [
            Incoming("w1", "楼下广场舞每晚十点还在放，吵得邻居不得安宁"),
            Incoming("w2", "安宁区十里店街道路灯不亮")], NOW)
        assert noise.region is None and noise.status == "unrouted"
        assert place.region == LANZHOU
    finally:
        s.db.dispose()


def test_an_alias_marked_as_meant_counts_everywhere_and_is_not_warned_about(tmp_path: Any) -> None:
    regions = [{"code": LANZHOU, "name": "兰州市", "chat_id": -1001000000100, "aliases": ["安宁"],
                "common_aliases_ok": ["安宁"]},
               {"code": TIANSHUI, "name": "天水市", "chat_id": -1001000000200}]
    config = make_config(f"sqlite:///{tmp_path / 'a.db'}", regions=regions)
    assert common_word_aliases_of(config) == []
    s = AppContext.create(config, clock=lambda: NOW)
    try:
        (item, _), = s.db.call(intake_step.intake, s.workflow, [Incoming("w1", "不得安宁")], NOW)
        assert item.region == LANZHOU
    finally:
        s.db.dispose()


@pytest.mark.parametrize(("override", "key"), [
    ({"regions": [{"code": "1", "name": "甲", "chat_id": -5, "aliases": ["安宁"],
                   "common_aliases_ok": ["幸福"]}]}, "regions[0].common_aliases_ok[0]"),
    ({"routing": {"auto_route_above": 0}}, "routing.auto_route_above"),
    ({"routing": {"auto_route_above": 1.5}}, "routing.auto_route_above"),
    ({"routing": {"auto_route_above": "high"}}, "routing.auto_route_above"),
    ({"routing": {"auto_rout_above": 0.9}}, "routing.auto_rout_above"),
])
def test_bad_routing_config_names_the_key(tmp_path: Any, override: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        make_config(f"sqlite:///{tmp_path / 'a.db'}", **override)
    assert key in str(err.value)


# -- urgency follows the danger ----------------------------------------------------------------


@pytest.mark.parametrize(("title", "body"), [
    ("拆迁补偿不公", "我家的房屋征收补偿款拖了三年没给，我明天带着汽油去镇政府，同归于尽"),
    ("欠薪", "包工头拖欠我们工资两年了，再不给钱我就从工地楼顶跳楼"),
])
async def test_a_threat_to_life_is_urgent_whatever_the_complexity_terms(harness: Harness, title: str,
                                                                       body: str) -> None:
    item = await harness.post_message(external_id=title, title=title, body=body, region=LANZHOU)
    got = await harness.get_item(item["id"])
    assert got["sensitive"] is True and got["priority"] == "urgent"
    assert set(got["priority_terms"]) & {"同归于尽", "跳楼"}
    # same working day: received Friday? no matter when, due at the end of a working day's office
    due = datetime.fromisoformat(got["deadline"])
    received = datetime.fromisoformat(got["received_at"])
    assert (due - received).days <= 3 and due.hour == 18
    card = await harness.card(LANZHOU_CHAT, item["id"])
    assert "紧急" in card.text and ("同归于尽" in card.text or "跳楼" in card.text)


# -- learned suggestions ------------------------------------------------------------------------


async def test_unrouted_item_shows_learned_suggestions_and_a_supervisor_taps_one(harness: Harness) -> None:
    await trained(harness)
    item = await harness.post_message(external_id="u1", title="雁滩公园噪音",
                                      body="雁滩公园旁边的广场每晚噪音扰民")
    assert item["status"] == "unrouted"
    got = await harness.get_item(item["id"])
    assert got["suggestions"] and got["suggestions"][0]["target"] == LANZHOU
    assert len(got["suggestions"]) <= 3
    scores = [s["score"] for s in got["suggestions"]]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    card = await harness.card(DESK_CHAT, item["id"])
    assert "兰州市" in card.text and "雁滩" in card.text  # the why: the citizen's own words
    buttons = [b for row in card.reply_markup["inline_keyboard"] for b in row]
    assert buttons[0]["callback_data"] == f"pick1:{item['id']}"
    assert all(len(b["callback_data"].encode()) <= 64 for b in buttons)

    # an officer's tap is refused with a pop-up and changes nothing
    refused = harness.standin.press_button(DESK_CHAT, card.message_id, ZHANG, f"pick1:{item['id']}")
    answer = await harness.standin.wait_callback_answer(refused)
    assert answer["show_alert"] and (await harness.get_item(item["id"]))["status"] == "unrouted"

    # a supervisor's tap routes it, and is a training example
    trainings = harness.services.workflow.learner.trainings
    pressed = harness.standin.press_button(DESK_CHAT, card.message_id, ZHAO, f"pick1:{item['id']}")
    answer = await harness.standin.wait_callback_answer(pressed)
    assert not answer["show_alert"] and "兰州市" in answer["text"]
    got = await harness.get_item(item["id"])
    assert got["region"] == LANZHOU and got["status"] == "new" and got["suggestions"] == []
    assert got["routed_by"]["reason"] == "suggestion"
    await harness.card(LANZHOU_CHAT, item["id"])
    deadline = time.monotonic() + 30
    while harness.services.workflow.learner.trainings == trainings and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)  # polling another thread's counter, with a deadline
    assert harness.services.workflow.learner.trainings > trainings


async def test_routed_items_show_no_suggestions_and_the_model_survives_a_restart(config: Any) -> None:
    async with Harness(config) as h:
        await trained(h)
    s = AppContext.create(config)  # a restart: the stored model suggests before any retraining
    try:
        assert s.workflow.learner.model is not None
        (item, _), = s.db.call(intake_step.intake, s.workflow, [
            Incoming("r1", "伏羲庙门口垃圾堆放无人清理")], NOW)
        assert item.region is None
        import json

        assert json.loads(item.suggested)[0]["target"] == TIANSHUI
    finally:
        s.db.dispose()


async def test_auto_route_above_routes_at_once_and_the_card_says_so(db_url: str) -> None:
    config = make_config(db_url, routing={"auto_route_above": 0.5})
    async with Harness(config) as h:
        await trained(h)
        item = await h.post_message(external_id="a1", title="南郭寺停车", body="南郭寺门口停车乱象严重")
        assert item["region"] == TIANSHUI and item["status"] == "new"
        got = await h.get_item(item["id"])
        assert got["routed_by"]["reason"] == "learned" and got["suggestions"] == []
        card = await h.card(-1001000000200, item["id"])
        assert "自动分派" in card.text


def test_training_in_a_separate_process_gives_a_model(tmp_path: Any) -> None:
    config = make_config(f"sqlite:///{tmp_path / 'a.db'}")
    s = AppContext.create(config, clock=lambda: NOW)
    try:
        s.db.call(intake_step.intake, s.workflow,
                  [Incoming(r["external_id"], r["body"], title=r["title"], region=r["region"])
                   for r in examples()], NOW)
        learner = s.workflow.learner
        learner.in_process = False
        model = learner.retrain(s.db)
        assert model is not None and set(model.labels) == {LANZHOU, TIANSHUI}
        learner.stop()
    finally:
        s.db.dispose()
