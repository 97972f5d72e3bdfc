"""``/metrics`` and ``/readyz`` as a monitoring system polls them: no token, Prometheus text, the
figures an operator alerts on, and readiness that says what is missing."""

from __future__ import annotations

import asyncio
import re

import pytest

from bot.rules.states import Status
from tests.conftest import LANZHOU_CHAT, unique_id
from tests.harness import Harness


def sample(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.MULTILINE)
    assert match, (name, labels, text)
    return float(match.group(1))


async def metrics(h: Harness) -> str:
    assert h.http is not None
    async with h.http.get("/metrics") as resp:  # no Authorization header
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/plain")
        return await resp.text()


async def test_metrics_count_items_by_status_and_the_outbox_backlog(harness: Harness) -> None:
    text = await metrics(harness)
    for status in Status:  # every status, zeros included
        assert sample(text, "liuyan_items", f'{{status="{status.value}"}}') == 0
    assert sample(text, "liuyan_outbox_pending") == 0 and sample(text, "liuyan_outbox_oldest_seconds") == 0
    assert sample(text, "liuyan_telegram_429_total") == 0

    harness.standin.fail_next("sendMessage", chat_id=LANZHOU_CHAT, status=429, retry_after=30, times=1)
    item = await harness.post_message(external_id=unique_id(), body="城关区某路段井盖缺失，夜间很危险。")
    deadline = asyncio.get_running_loop().time() + 10
    while True:  # the card waits out its 30 s: it is the backlog a monitor sees
        text = await metrics(harness)
        if sample(text, "liuyan_telegram_429_total") >= 1 or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.05)
    assert sample(text, "liuyan_telegram_429_total") == 1
    assert sample(text, "liuyan_items", '{status="new"}') == 1
    assert sample(text, "liuyan_outbox_pending") >= 1 and sample(text, "liuyan_outbox_oldest_seconds") >= 0
    assert item["status"] == "new"


async def test_readyz_waits_for_the_first_sweep_and_says_what_is_missing(harness: Harness) -> None:
    assert harness.http is not None
    async with harness.http.get("/readyz") as resp:  # the harness runs no scheduler: no sweep yet
        body = await resp.json()
        assert resp.status == 503 and body["status"] == "not ready"
        assert any("sweep" in reason for reason in body["not_ready"])
    harness.services.health.note_sweep()
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        async with harness.http.get("/readyz") as resp:
            if resp.status == 200 or asyncio.get_running_loop().time() > deadline:
                break
        await asyncio.sleep(0.05)
    assert resp.status == 200


@pytest.mark.parametrize("path", ["/metrics", "/readyz"])
async def test_health_endpoints_need_no_token_but_the_api_still_does(harness: Harness, path: str) -> None:
    assert harness.http is not None
    async with harness.http.get(path) as resp:
        assert resp.status in (200, 503)
    async with harness.http.get("/api/v1/messages/1") as resp:
        assert resp.status == 401
