"""End to end, through the Bot API stand-in and the HTTP API: history imports that say nothing,
closing a reply made public, the changes feed over HTTP, and the ledger sent by ``/export``."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import datetime
from pathlib import Path

from openpyxl import Workbook, load_workbook

from bot.platform.importer import run_import
from tests.conftest import DESK_CHAT, LANZHOU_CHAT, LEADERS_CHAT, TIANSHUI_CHAT, ZHANG, ZHAO, unique_id
from tests.harness import Harness
from tests.realdata import real

CHATS = (LANZHOU_CHAT, TIANSHUI_CHAT, DESK_CHAT, LEADERS_CHAT)


async def replied_item(h: Harness, body: str = "城关区雁滩路夜间施工噪音扰民，请查处。") -> dict:
    item = await h.post_message(external_id=unique_id(), body=body)
    await h.card(LANZHOU_CHAT, item["id"])
    await h.say(LANZHOU_CHAT, ZHANG, f"/claim {item['id']}")
    await h.answer_to(LANZHOU_CHAT, f"#{item['id']} 已由 张三 认领")
    await h.say(LANZHOU_CHAT, ZHANG, f"/reply {item['id']} 已责令施工单位夜间停工。")
    await h.answer_to(LANZHOU_CHAT, f"#{item['id']} 已回复")
    return item


async def test_a_history_import_says_nothing_is_on_no_list_and_a_rating_makes_it_live(
        harness: Harness, tmp_path: Path) -> None:
    a, b = real("teddy2020-188006"), real("teddy2020-188007")
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["留言编号", "留言主题", "留言时间", "留言详情", "点赞数", "反对数", "答复意见", "答复时间"])
    sheet.append([7001, a["title"], datetime(2019, 4, 25, 9, 32), "城关区" + a["body"], 3, 2, "已办理", datetime(2019, 4, 29, 9, 0)])
    sheet.append([7002, b["title"], datetime(2019, 4, 26, 9, 0), "城关区" + b["body"], 0, 0, None, None])
    path = tmp_path / "past.xlsx"
    workbook.save(path)
    out = io.StringIO()

    code = await asyncio.to_thread(run_import, harness.services, [path], history=True, out=out, err=io.StringIO())

    assert code == 0 and out.getvalue().splitlines()[-1] == "imported 2, known 0, rejected 0"
    await harness.say(DESK_CHAT, ZHAO, "/overdue")
    answer = await harness.answer_to(DESK_CHAT, "已超期的留言")
    assert harness.standin.messages(LANZHOU_CHAT) == []
    page = await feed(harness, "")
    shown = {i["external_id"]: i for i in page["items"]}
    assert shown["7001"]["history"] and shown["7001"]["status"] == "replied" and shown["7001"]["dislikes"] == 2
    assert not shown["7002"]["overdue"] and f"#{shown['7002']['id']}" not in answer.text
    assert [m.text for c in CHATS for m in harness.standin.messages(c) if m.text != answer.text
            and "/overdue" not in m.text] == [], "something was said about a history item"

    async with harness.http.post(f"/api/v1/messages/{shown['7001']['id']}/rating", json={"rating": "satisfied"},
                                 headers=harness.auth()) as resp:
        assert resp.status == 200 and (await resp.json())["history"] is False


async def feed(h: Harness, query: str, status: int = 200) -> dict:
    assert h.http is not None
    async with h.http.get(f"/api/v1/messages{query}", headers=h.auth()) as resp:
        raw = await resp.read()
        assert resp.status == status, raw
        assert b"\\u" not in raw  # Chinese as UTF-8, not escapes
        return json.loads(raw)


async def test_the_feed_over_http_pages_and_refuses_bad_parameters(harness: Harness) -> None:
    ids = [(await harness.post_message(external_id=unique_id(), body=f"城关区第{i}号路灯不亮"))["id"] for i in range(5)]
    first = await feed(harness, "?limit=3")
    assert [i["id"] for i in first["items"]] == ids[:3]
    second = await feed(harness, f"?limit=3&since={first['next']}")
    assert [i["id"] for i in second["items"]] == ids[3:]
    caught_up = await feed(harness, f"?since={second['next']}")
    assert caught_up == {"items": [], "next": second["next"]}
    assert (await feed(harness, "?status=replied"))["items"] == []
    for query in ("?since=abc", "?limit=0", "?limit=1001", "?limit=x", "?status=done", "?sinse=1.2"):
        error = await feed(harness, query, status=400)
        assert error["error"]


async def test_close_needs_a_reply_edits_the_card_and_is_idempotent(harness: Harness) -> None:
    fresh = await harness.post_message(external_id=unique_id(), body="城关区路灯不亮")
    async with harness.http.post(f"/api/v1/messages/{fresh['id']}/close", headers=harness.auth()) as resp:
        assert resp.status == 409 and "no reply" in (await resp.json())["error"]
    async with harness.http.post("/api/v1/messages/999999/close", headers=harness.auth()) as resp:
        assert resp.status == 404

    item = await replied_item(harness)
    body = {"published_at": "2026-10-10T09:00:00+08:00", "url": "https://liuyan.example.org/t/1"}
    async with harness.http.post(f"/api/v1/messages/{item['id']}/close", json=body, headers=harness.auth()) as resp:
        closed = await resp.json()
        assert resp.status == 200, closed
    assert closed["status"] == "closed" and closed["url"] == body["url"]
    assert closed["published_at"] == "2026-10-10T09:00:00+08:00"
    card = await harness.card(LANZHOU_CHAT, item["id"])
    await harness.standin.wait_for(lambda st: "已办结" in (st.message(LANZHOU_CHAT, card.message_id).text or ""))

    async with harness.http.post(f"/api/v1/messages/{item['id']}/close", json={"url": "https://other"},
                                 headers=harness.auth()) as resp:
        again = await resp.json()
        assert resp.status == 200 and again["url"] == body["url"] and again["published_at"] == closed["published_at"]
    async with harness.http.post(f"/api/v1/messages/{item['id']}/close", json={"publish": 1},
                                 headers=harness.auth()) as resp:
        assert resp.status == 400 and "publish" in (await resp.json())["error"]


async def test_export_sends_the_ledger_to_a_supervisor_and_a_region_its_own(harness: Harness) -> None:
    lanzhou = await replied_item(harness)
    tianshui = await harness.post_message(external_id=unique_id(), body="秦州区供暖不热")

    await harness.say(DESK_CHAT, ZHAO, "/export")
    document = await harness.standin.wait_for_message(DESK_CHAT, predicate=lambda m: m.kind == "document")
    assert document.file is not None and document.file.file_name == "ledger.xlsx"
    sheet = load_workbook(io.BytesIO(document.file.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("编号", "外部编号", "标题")
    by_id = {r[0]: r for r in rows[1:]}
    assert set(by_id) == {lanzhou["id"], tianshui["id"]}
    header = rows[0]
    assert by_id[lanzhou["id"]][header.index("状态")] == "已回复"
    assert by_id[lanzhou["id"]][header.index("办理人")] == "张三"
    assert isinstance(by_id[lanzhou["id"]][header.index("收到时间")], datetime)

    await harness.say(LANZHOU_CHAT, ZHANG, "/export")
    own = await harness.standin.wait_for_message(LANZHOU_CHAT, predicate=lambda m: m.kind == "document")
    ids = [r[0] for r in list(load_workbook(io.BytesIO(own.file.data)).active.iter_rows(values_only=True))[1:]]
    assert ids == [lanzhou["id"]]

    await harness.say(DESK_CHAT, ZHANG, "/export")
    await harness.answer_to(DESK_CHAT, "只有督办人员可以在值班台或私聊中导出全部台账")
    await harness.say(LANZHOU_CHAT, ZHANG, "/export 2026-13")
    await harness.answer_to(LANZHOU_CHAT, "用法：/export")


async def test_the_api_takes_dislikes_and_refuses_an_unknown_field_naming_it(harness: Harness) -> None:
    item = await harness.post_message(external_id=unique_id(), body="七里河区路灯不亮", likes=4, dislikes=2)
    shown = await harness.get_item(item["id"])
    assert (shown["likes"], shown["dislikes"], shown["history"], shown["published_at"]) == (4, 2, False, None)
    batch = [{"external_id": unique_id(), "body": "路灯不亮"}, {"external_id": unique_id(), "body": "x", "dislike": 1}]
    async with harness.http.post("/api/v1/messages", json=batch, headers=harness.auth()) as resp:
        answer = await resp.json()
        assert resp.status == 400 and answer["error"].startswith("items[1].dislike: unknown field"), answer
