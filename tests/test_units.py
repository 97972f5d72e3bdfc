"""Departments (units), categories, repeats and the issue group size, end to end through the
intake API and the Bot API stand-in."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from bot.config import Config, ConfigError
from tests.conftest import (
    BASE_CONFIG,
    DESK_CHAT,
    LANZHOU,
    LANZHOU_CHAT,
    LEADERS_CHAT,
    ZHANG,
    ZHAO,
    make_config,
    unique_id,
)
from tests.harness import Harness

EDU, EDU_CHAT, EDU_OFFICER = "edu", -1001000000300, 4001
UNIT = {"code": EDU, "name": "省教育厅", "chat_id": EDU_CHAT, "aliases": ["教育厅"], "categories": ["教育文体"]}
OFFICERS = [*copy.deepcopy(BASE_CONFIG["officers"]),
            {"user_id": EDU_OFFICER, "name": "孙八", "region": EDU, "role": "officer"}]


def unit_config(db_url: str, **overrides: Any) -> Config:
    return make_config(db_url, units=[dict(UNIT)], officers=copy.deepcopy(OFFICERS), **overrides)


@pytest.fixture
async def h(db_url: str) -> AsyncIterator[Harness]:
    async with Harness(unit_config(db_url)) as harness:
        yield harness


async def post(h: Harness, body: str, **fields: Any) -> dict[str, Any]:
    return await h.post_message(external_id=unique_id(), body=body, **fields)


# ------------------------------------------------------------------------------------ units


async def test_a_unit_gets_its_card_by_alias(h: Harness) -> None:
    item = await post(h, "向教育厅反映：我们单位的职称评审材料一直没有回音。")
    assert (item["unit"], item["region"], item["status"]) == (EDU, None, "new")
    card = await h.card(EDU_CHAT, item["id"])
    assert "省教育厅" in card.text and "单位" in card.text
    assert (await h.get_item(item["id"]))["unit"] == EDU


async def test_a_unit_gets_its_card_by_category_when_no_region_is_named(h: Harness) -> None:
    item = await post(h, "孩子的学校午餐费用收取不合理，请有关部门核实。", title="学校午餐收费", category="教育文体")
    got = await h.get_item(item["id"])
    assert (got["unit"], got["region"], got["category"]) == (EDU, None, "教育文体")
    card = await h.card(EDU_CHAT, item["id"])
    assert "类别：教育文体" in card.text


async def test_a_region_named_in_the_text_beats_the_category(h: Harness) -> None:
    item = await post(h, "城关区某小学午餐费用收取不合理。", category="教育文体")
    got = await h.get_item(item["id"])
    assert (got["region"], got["unit"], got["category"]) == (LANZHOU, None, "教育文体")
    await h.card(LANZHOU_CHAT, item["id"])


async def test_route_to_a_unit_and_its_officers_act_on_it(h: Harness) -> None:
    item = await post(h, "咨询一件事情的办理进度。", category="城乡建设")  # no unit handles 城乡建设
    assert item["status"] == "unrouted" and item["unit"] is None
    await h.say(DESK_CHAT, ZHAO, f"/route {item['id']} edu")
    await h.card(EDU_CHAT, item["id"])
    got = await h.get_item(item["id"])
    assert (got["unit"], got["region"], got["status"]) == (EDU, None, "new")

    await h.say(EDU_CHAT, ZHANG, f"/claim {item['id']}")  # an officer of a region
    await h.answer_to(EDU_CHAT, "不是省教育厅的联络员")
    assert (await h.get_item(item["id"]))["status"] == "new"

    await h.say(EDU_CHAT, EDU_OFFICER, f"/claim {item['id']}")
    await h.standin.wait_for(lambda st: any("孙八" in (m.text or "") for m in st.messages(EDU_CHAT)))
    got = await h.get_item(item["id"])
    assert (got["status"], got["claimed_by"]) == ("claimed", EDU_OFFICER)


async def test_a_unit_ranks_beside_the_regions_in_the_reports(h: Harness) -> None:
    from bot.reports.builder import build_report, week_of

    item = await post(h, "向教育厅反映：职称评审材料一直没有回音。", received_at="2026-10-06T10:00:00")
    await post(h, "城关区雁滩路夜间施工噪音扰民。", received_at="2026-10-06T11:00:00")
    assert item["unit"] == EDU
    config = h.config
    period = week_of(datetime(2026, 10, 6).date(), config.schedule.tz)
    report = h.services.db.call(build_report, config, period, period.end + timedelta(days=1))
    rows = {r.code: r for r in report.ranking}
    assert rows[EDU].name == "省教育厅" and rows[EDU].received == 1
    assert rows[LANZHOU].received == 1
    assert sum(c.count for c in report.categories) >= 1


# ------------------------------------------------------------------------------------ config


@pytest.mark.parametrize(("units", "key", "words"), [
    ([{**UNIT, "aliases": ["兰州"]}], "units[0].aliases[0]", "already names region 620100"),
    ([{**UNIT, "name": "天水市"}], "units[0].name", "already names region 620500"),
    ([{**UNIT, "categories": ["教育"]}], "units[0].categories[0]", "unknown category '教育'"),
    ([UNIT, {"code": "health", "name": "省卫健委", "chat_id": -1001000000301, "categories": ["教育文体"]}],
     "units[1].categories[0]", "already belongs to units[0] (edu)"),
    ([{**UNIT, "chat_id": LEADERS_CHAT}], "units[0].chat_id", "leaders' chat"),
    ([UNIT, {**UNIT, "chat_id": -1001000000301}], "units[1].code", "already names unit edu"),
])
def test_config_errors_name_the_key(units: list[dict[str, Any]], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        make_config("sqlite://", units=copy.deepcopy(units))
    assert info.value.key == key and words in info.value.message


def test_an_officer_may_belong_to_a_unit_and_not_to_an_unknown_code() -> None:
    config = unit_config("sqlite://")
    assert any(o.region == EDU for o in config.officers)
    with pytest.raises(ConfigError) as info:
        make_config("sqlite://", officers=copy.deepcopy(OFFICERS))  # no [[units]]: "edu" is unknown
    assert info.value.key == "officers[5].region"


# ------------------------------------------------------------------------------------ categories


async def test_category_from_source_classified_or_none(h: Harness) -> None:
    given = await post(h, "城关区某小区门口道路坑洼。", category=" 卫生计生 ")
    classified = await post(h, "城关区雁滩路医院看病排队太久，医生态度差。", category="其他")
    unsure = await post(h, "城关区 abc")
    assert (await h.get_item(given["id"]))["category"] == "卫生计生"  # the source's, as given
    assert (await h.get_item(classified["id"]))["category"] == "卫生计生"
    assert (await h.get_item(unsure["id"]))["category"] is None
    card = await h.card(LANZHOU_CHAT, classified["id"])
    assert "类别：卫生计生（据“" in card.text  # the words that decided it
    card = await h.card(LANZHOU_CHAT, given["id"])
    assert "类别：卫生计生" in card.text and "（据“" not in card.text
    card = await h.card(LANZHOU_CHAT, unsure["id"])
    assert "类别" not in card.text


# ------------------------------------------------------------------------------------ repeats


ISSUE = ("城关区雁滩路工地夜间施工噪音扰民", "雁滩路工地每天夜里施工到凌晨两点，噪音很大，无法入睡。")
AGAIN = ("雁滩路工地夜间施工噪音扰民仍未解决", "雁滩路工地还是每天夜里施工，噪音扰民，上次反映后没有变化。")


async def test_a_repeat_of_the_same_author_is_linked_and_goes_to_the_holder(h: Harness) -> None:
    first = await post(h, ISSUE[1], title=ISSUE[0], author="王先生", received_at="2026-10-01T10:00:00")
    await h.say(LANZHOU_CHAT, ZHANG, f"/claim {first['id']}")
    await h.standin.wait_for(lambda st: any("张三" in (m.text or "") for m in st.messages(LANZHOU_CHAT)))
    again = await post(h, AGAIN[1], title=AGAIN[0], author="王先生", received_at="2026-11-20T10:00:00")
    got = await h.get_item(again["id"])
    assert got["duplicate_of"] == first["id"]
    assert (got["status"], got["claimed_by"], got["region"]) == ("claimed", ZHANG, LANZHOU)
    card = await h.card(LANZHOU_CHAT, again["id"])
    assert f"首次留言见 #{first['id']}" in card.text

    other = await post(h, AGAIN[1], title=AGAIN[0], author="李女士", received_at="2026-11-20T11:00:00")
    assert (await h.get_item(other["id"]))["duplicate_of"] is None  # another author
    anonymous = await post(h, AGAIN[1], title=AGAIN[0], received_at="2026-11-20T12:00:00")
    assert (await h.get_item(anonymous["id"]))["duplicate_of"] is None  # no author never matches


async def test_a_repeat_after_61_days_is_a_new_item(h: Harness) -> None:
    first = await post(h, ISSUE[1], title=ISSUE[0], author="王先生", received_at="2026-08-01T10:00:00")
    late = await post(h, AGAIN[1], title=AGAIN[0], author="王先生", received_at="2026-10-01T10:00:01")
    assert (await h.get_item(late["id"]))["duplicate_of"] is None
    unrelated = await post(h, "城关区某小学午餐费用收取不合理。", title="午餐收费", author="王先生",
                           received_at="2026-08-02T10:00:00")
    assert (await h.get_item(unrelated["id"]))["duplicate_of"] is None  # same author, another issue
    assert first["duplicate_of"] is None


async def test_repeats_within_one_batch_link_to_the_earliest(h: Harness) -> None:
    batch = [{"external_id": unique_id(), "title": t, "body": b, "author": "赵先生", "received_at": at}
             for (t, b), at in ((AGAIN, "2026-10-03T10:00:00"), (ISSUE, "2026-10-01T10:00:00"),
                                (AGAIN, "2026-10-02T10:00:00"))]
    assert h.http is not None
    async with h.http.post("/api/v1/messages", json=batch, headers=h.auth()) as resp:
        items = (await resp.json())["items"]
    earliest = items[1]["id"]
    assert [(await h.get_item(it["id"]))["duplicate_of"] for it in items] == [earliest, None, earliest]


async def test_the_group_size_is_on_each_members_card(db_url: str) -> None:
    titles = ["城关区雁滩路工地夜间施工噪音", "城关区雁滩路工地夜间施工噪音扰民", "投诉城关区雁滩路工地夜间施工噪音"]
    async with Harness(unit_config(db_url, triage__warning_count=3)) as h:
        items = [await post(h, "工地夜里施工，吵得无法入睡。", title=t, author=f"居民{i}")
                 for i, t in enumerate(titles)]
        await h.answer_to(LEADERS_CHAT, "3")
        for item in items:
            await h.standin.wait_for(lambda st, i=item["id"]: any(
                f"#{i}" in (m.text or "") and "同一问题已有 3 人反映" in (m.text or "")
                for m in st.messages(LANZHOU_CHAT)))
