"""The intake HTTP API as a crawler or an integrator sees it (CONTRACT §3)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlmodel import func, select

from bot.app_context import AppContext
from bot.web.intake import make_app
from storage.models import Item, Outbox
from tests.conftest import LANZHOU, TIANSHUI

TOKEN = "test-api-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def client(config) -> AsyncIterator[TestClient]:  # type: ignore[no-untyped-def]
    services = AppContext.create(config)
    async with TestClient(TestServer(make_app(services))) as c:
        c.services = services  # type: ignore[attr-defined]
        yield c
    services.db.dispose()


def count_items(c: TestClient) -> int:
    return c.services.db.call(lambda s: s.exec(select(func.count()).select_from(Item)).one())  # type: ignore[attr-defined]


async def post(c: TestClient, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    resp = await c.post("/api/v1/messages", json=body, headers=headers if headers is not None else AUTH)
    return resp.status, await resp.json()


async def test_single_message_is_stored_routed_and_answered_201(client: TestClient) -> None:
    status, item = await post(client, {"external_id": "a1", "title": "路灯不亮", "body": "城关区某路段路灯坏了一个月",
                                       "received_at": "2026-10-09T10:00:00"})
    assert status == 201
    assert item["external_id"] == "a1" and item["status"] == "new" and item["region"] == LANZHOU
    assert item["received_at"] == "2026-10-09T10:00:00+08:00"  # no offset: read in the configured timezone
    assert item["deadline"] == "2026-10-15T18:00:00+08:00"  # Sat 10-10 is a make-up working day and item["provisional"] is False
    assert isinstance(item["id"], int)


async def test_same_external_id_answers_200_with_the_existing_item_and_stores_nothing(client: TestClient) -> None:
    _, first = await post(client, {"external_id": "dup", "body": "天水的事"})
    status, again = await post(client, {"external_id": "dup", "body": "另一件事"})
    assert status == 200 and again["id"] == first["id"] and again["region"] == TIANSHUI
    assert count_items(client) == 1


async def test_batch_keeps_order_and_flags_created(client: TestClient) -> None:
    await post(client, {"external_id": "b1", "body": "兰州"})
    status, body = await post(client, [{"external_id": "b0", "body": "天水"}, {"external_id": "b1", "body": "x"}])
    assert status == 201
    assert [(i["external_id"], i["created"]) for i in body["items"]] == [("b0", True), ("b1", False)]
    status, body = await post(client, [{"external_id": "b0", "body": "天水"}])
    assert status == 200 and body["items"][0]["created"] is False


async def test_invalid_element_stores_nothing_of_the_batch_and_names_it(client: TestClient) -> None:
    batch = [{"external_id": f"v{i}", "body": "兰州"} for i in range(3)] + [{"external_id": "v3"}]
    status, body = await post(client, batch)
    assert status == 400 and body == {"error": "items[3].body: required"}
    assert count_items(client) == 0


@pytest.mark.parametrize("body, message", [
    ({"body": "x"}, "external_id: required"),
    ({"external_id": "x", "body": ""}, "body: required (empty)"),
    ({"external_id": 5, "body": "x"}, "external_id: must be a string, not a number"),
    ({"external_id": "x", "body": "x" * 50_001}, "body: too long (50001 characters, at most 50000)"),
    ({"external_id": "x", "body": "x", "received_at": "yesterday"}, "received_at: not an ISO 8601 time: 'yesterday'"),
    ({"external_id": "x", "body": "x", "likes": "many"}, "likes: must be a whole number"),
    ("just a string", "body must be a JSON object or an array of objects, not a string"),
    ([], "empty array: send at least one message"),
    ([1], "items[0]: must be an object, not a number"),
])
async def test_invalid_input_gets_400_naming_the_field(client: TestClient, body: Any, message: str) -> None:
    status, answer = await post(client, body)
    assert status == 400 and answer == {"error": message}


async def test_too_many_in_one_array(client: TestClient) -> None:
    status, answer = await post(client, [{"external_id": str(i), "body": "x"} for i in range(1001)])
    assert status == 400 and "at most 1000" in answer["error"]


async def test_unknown_region_is_kept_as_hint(client: TestClient) -> None:
    status, item = await post(client, {"external_id": "h", "body": "某地的路", "region": "火星"})
    assert status == 201 and item["region"] is None and item["region_hint"] == "火星" and item["status"] == "unrouted"


async def test_unknown_region_is_kept_as_hint_when_the_text_routes_it(client: TestClient) -> None:
    status, item = await post(client, {"external_id": "ht", "title": "兰州 路灯", "body": "路灯不亮", "region": "火星市"})
    assert status == 201 and item["region"] == LANZHOU and item["region_hint"] == "火星市"


async def test_odd_numbers_are_client_errors(client: TestClient) -> None:
    # json.loads refuses an integer of more than 4,300 digits with a plain ValueError
    resp = await client.post("/api/v1/messages", data='{"external_id": "n", "body": "x", "likes": ' + "9" * 5000 + "}",
                             headers={**AUTH, "Content-Type": "application/json"})
    assert resp.status == 400 and "invalid JSON" in (await resp.json())["error"]
    for path in ("/api/v1/messages/\u00b2", "/api/v1/messages/\u0661"):  # "²" and an Arabic-Indic one
        resp = await client.get(path, headers=AUTH)
        assert resp.status == 404 and "error" in await resp.json()


async def test_region_by_alias(client: TestClient) -> None:
    _, item = await post(client, {"external_id": "al", "body": "无地名", "region": "麦积区"})
    assert item["region"] == TIANSHUI


async def test_auth_required_and_checked(client: TestClient) -> None:
    status, body = await post(client, {"external_id": "x", "body": "x"}, headers={})
    assert status == 401 and "bearer" in body["error"]
    status, body = await post(client, {"external_id": "x", "body": "x"}, headers={"Authorization": "Bearer nope"})
    assert status == 401 and body == {"error": "wrong bearer token"}
    resp = await client.get("/api/v1/messages/1")
    assert resp.status == 401
    assert count_items(client) == 0


async def test_not_json_is_415_and_broken_json_is_400(client: TestClient) -> None:
    resp = await client.post("/api/v1/messages", data="external_id=x", headers={**AUTH, "Content-Type": "text/plain"})
    assert resp.status == 415 and "not JSON" in (await resp.json())["error"]
    resp = await client.post("/api/v1/messages", data=b'{"external_id": ', headers={**AUTH, "Content-Type": "application/json"})
    assert resp.status == 400 and (await resp.json())["error"].startswith("invalid JSON at line 1")


async def test_body_over_4_mib_is_413(client: TestClient) -> None:
    big = json.dumps({"external_id": "big", "body": "x" * (4 * 1024 * 1024 + 10)})
    resp = await client.post("/api/v1/messages", data=big, headers={**AUTH, "Content-Type": "application/json"})
    assert resp.status == 413 and "error" in await resp.json()
    assert count_items(client) == 0


async def test_get_item_and_404s(client: TestClient) -> None:
    _, item = await post(client, {"external_id": "g", "body": "兰州"})
    resp = await client.get(f"/api/v1/messages/{item['id']}", headers=AUTH)
    got = await resp.json()
    assert resp.status == 200
    assert {"id", "external_id", "status", "region", "priority", "sensitive", "claimed_by", "deadline", "reply",
            "replied_at"} <= set(got)
    # 2147483648: one past PostgreSQL's INTEGER, which the database would refuse with an error
    for path in ("/api/v1/messages/99999", "/api/v1/messages/abc", "/api/v1/nothing",
                 "/api/v1/messages/2147483648", "/api/v1/messages/0"):
        resp = await client.get(path, headers=AUTH)
        assert resp.status == 404 and "error" in await resp.json()
    resp = await client.post("/api/v1/messages/2147483648/rating", json={"rating": "satisfied"}, headers=AUTH)
    assert resp.status == 404


async def test_rating_only_after_a_reply(client: TestClient) -> None:
    from datetime import datetime

    from bot.workflow import Actor
    from bot.workflow.claims import claim, reply
    from tests.conftest import ZHANG

    _, item = await post(client, {"external_id": "r", "body": "兰州"})
    resp = await client.post(f"/api/v1/messages/{item['id']}/rating", json={"rating": "satisfied"}, headers=AUTH)
    assert resp.status == 400 and "not been replied" in (await resp.json())["error"]
    s: AppContext = client.services  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    s.db.call(claim, s.workflow, item["id"], Actor(ZHANG, "张三"), now)
    s.db.call(reply, s.workflow, item["id"], Actor(ZHANG, "张三"), "已处理", now)
    resp = await client.post(f"/api/v1/messages/{item['id']}/rating", json={"rating": "great"}, headers=AUTH)
    assert resp.status == 400 and "satisfied, basically_satisfied, unsatisfied" in (await resp.json())["error"]
    resp = await client.post(f"/api/v1/messages/{item['id']}/rating",
                             json={"rating": "basically_satisfied", "comment": "还行"}, headers=AUTH)
    rated = await resp.json()
    assert resp.status == 200 and rated["rating"] == "basically_satisfied" and rated["rating_comment"] == "还行"


async def test_healthz(client: TestClient) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200


async def test_cards_queued_in_the_same_transaction(client: TestClient) -> None:
    await post(client, [{"external_id": f"q{i}", "body": "兰州"} for i in range(5)])
    cards = client.services.db.call(  # type: ignore[attr-defined]
        lambda s: s.exec(select(func.count()).select_from(Outbox).where(Outbox.purpose == "card")).one())
    assert cards == 5


async def test_wrong_method_is_a_json_405(client: TestClient) -> None:
    resp = await client.delete("/api/v1/messages", headers=AUTH)
    assert resp.status == 405 and "error" in await resp.json()


async def test_service_answers_on_its_configured_port(harness) -> None:  # type: ignore[no-untyped-def]
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{harness.service.port}/healthz") as resp:
            assert resp.status == 200
