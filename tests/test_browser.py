"""The sandbox web chat in a real headless browser: Debian's chromium driven by Playwright.

A trainee's path: open the page, claim an item with its button, reply to it, see the card change,
open the dashboard — on a desktop and on a phone, with hostile citizen text shown as text.
Screenshots go to ``$LIUYAN_SCREENSHOTS`` when set (to look at them), else to the test's tmp dir:

    LIUYAN_SCREENSHOTS=screenshots python -m pytest tests/test_browser.py -q

Skipped, saying why, when chromium (``.ci/install-browser.sh``) or playwright (``pip install
playwright``; its bundled driver is enough, no ``playwright install``) is missing.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.demo.runner import LANZHOU, DemoSandbox
from tests.test_sandbox_web import intake

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
THURSDAY = datetime(2026, 11, 12, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
ZHANG = 1001
WAIT_MS = 15_000


def _require_browser() -> Any:
    if not CHROMIUM.exists() and shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (/usr/bin/chromium): run .ci/install-browser.sh")
    return pytest.importorskip("playwright.async_api",
                               reason="playwright is not installed: pip install playwright (or .[test])")


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("LIUYAN_SCREENSHOTS") or tmp_path / "screenshots").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    api = _require_browser()
    executable = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
    async with api.async_playwright() as p:
        launched = await p.chromium.launch(executable_path=executable, args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def box(tmp_path: Path) -> AsyncIterator[DemoSandbox]:
    async with DemoSandbox(tmp_path / "demo", port=0, start=THURSDAY, enforce_limits=False,
                           scheduler=False) as sandbox:
        yield sandbox




def watch(page: Any) -> list[str]:
    """Script errors and dialogs on the page: a clean page has none."""
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("dialog", lambda dialog: problems.append(f"dialog: {dialog.message}"))
    return problems


def card_of(page: Any, item_id: int) -> Any:
    return page.locator(".msg.bot", has_text=re.compile(rf"#{item_id}\b.*📍", re.S)).last


async def test_claim_with_the_button_reply_see_the_card_change_and_open_the_dashboard(
        browser: Any, box: DemoSandbox, shots: Path) -> None:
    from playwright.async_api import expect

    context = await browser.new_context(viewport={"width": 1280, "height": 820}, locale="zh-CN")
    page = await context.new_page()
    problems = watch(page)
    await page.goto(box.web_url + "?lang=zh")
    titles = page.locator(".chat-item .chat-item-title")
    await expect(titles).to_have_count(7, timeout=WAIT_MS)  # five groups, a unit's, and the private chat of whoever one acts as
    for title in ("兰州市联络群", "天水市联络群", "白银市联络群", "省委办公厅值班台", "领导专报"):
        await expect(page.locator(".chat-item", has_text=title)).to_be_visible()

    await page.select_option("#persona", str(ZHANG))
    await page.click(f'.chat-item[data-chat-id="{LANZHOU}"]')
    await expect(page.locator("#chat-title")).to_have_text("兰州市联络群")
    item = await intake(box, title="雁滩路夜间施工<b>噪音</b>扰民",
                        body="城关区雁滩路某工地连续半个月夜里十一点以后施工，详见 https://example.org/report 。")
    # the demo's 兰州 group has topics: the item's own topic opens from the group's list
    await page.locator('[data-testid="topic"]', has_text=f"#{item['id']} ").click(timeout=WAIT_MS)
    card = card_of(page, item["id"])
    await expect(card).to_be_visible(timeout=WAIT_MS)  # arrived live, without reloading
    # Telegram's rendering: the title bold, the citizen's "<b>" shown as text, the link a link
    await expect(card.locator("strong", has_text="雁滩路夜间施工<b>噪音</b>扰民")).to_be_visible()
    await expect(card.locator('a[href="https://example.org/report"]')).to_be_visible()
    await page.screenshot(path=str(shots / "desktop-1-new-card.png"))

    await card.locator(f'.kb-btn[data-callback="claim:{item["id"]}"]').click()
    await expect(page.locator("#toast")).to_contain_text(f"#{item['id']}", timeout=WAIT_MS)
    await expect(card).to_contain_text("已由 张三 认领", timeout=WAIT_MS)
    await expect(card.locator(".kb-btn")).to_have_count(0)

    await card.hover()
    await card.locator('[data-testid="reply"]').click()
    await expect(page.locator("#reply-bar")).to_be_visible()
    await page.fill("#input", "/reply 已责令工地停止夜间施工，并安排城管夜间巡查。")
    await page.press("#input", "Enter")
    await expect(card).to_contain_text("已由 张三 回复", timeout=WAIT_MS)
    await expect(card).to_contain_text("已责令工地停止夜间施工")
    await expect(card.locator(".edited")).to_be_visible()
    mine = page.locator(".msg.out", has_text="已责令工地停止夜间施工").last
    await expect(mine.locator(".quote")).to_be_visible()  # sent as a reply to the card
    await expect(mine.locator("a.tg-command", has_text="/reply")).to_be_visible()
    await page.screenshot(path=str(shots / "desktop-2-replied.png"))

    async with context.expect_page() as opened:
        await page.click("#dashboard-link")
    board = await opened.value
    problems += watch(board)
    lanzhou = board.locator('#figures tbody tr[data-region="620100"]')
    await expect(lanzhou.locator('td[data-key="received"]')).to_have_text("1", timeout=WAIT_MS)
    await expect(lanzhou.locator('td[data-key="replied"]')).to_have_text("1")
    await expect(lanzhou.locator('td[data-key="reply_rate"]')).to_have_text("100.0%")
    assert "token" not in board.url
    chart = board.locator("#chart")
    await expect(chart).to_be_visible(timeout=WAIT_MS)
    await board.wait_for_function("document.getElementById('chart').naturalWidth > 0", timeout=WAIT_MS)
    await board.screenshot(path=str(shots / "desktop-3-dashboard.png"), full_page=True)
    assert problems == []
    await context.close()


async def test_on_a_phone_one_pane_at_a_time_in_english_and_hostile_text_stays_text(
        browser: Any, box: DemoSandbox, shots: Path) -> None:
    from playwright.async_api import expect

    context = await browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                        is_mobile=True, has_touch=True, locale="en-GB")
    page = await context.new_page()
    problems = watch(page)
    item = await intake(box, title="<img src=x onerror=alert(1)> 城关区路灯不亮",
                        body="<script>alert(2)</script> 城关区某路段路灯坏了一个月 & 没人修。")
    await page.goto(box.web_url + "?lang=en")
    await expect(page.locator(".persona-label")).to_have_text("Acting as")
    await expect(page.locator(".chat-item", has_text="兰州市联络群")).to_be_visible(timeout=WAIT_MS)
    await expect(page.locator("#chat")).to_be_hidden()
    await page.screenshot(path=str(shots / "phone-1-chats.png"))

    await page.locator(f'.chat-item[data-chat-id="{LANZHOU}"]').tap()
    await expect(page.locator(".sidebar")).to_be_hidden()
    await expect(page.locator("#back")).to_be_visible()
    # a forum group: its list of topics first; the item's topic name shows the hostile title as text
    topic = page.locator('[data-testid="topic"]', has_text=f"#{item['id']} ")
    await expect(topic).to_contain_text("<img src=x onerror=alert(1)>", timeout=WAIT_MS)
    await topic.tap()
    card = card_of(page, item["id"])
    await expect(card).to_contain_text("<img src=x onerror=alert(1)>", timeout=WAIT_MS)
    await expect(card).to_contain_text("<script>alert(2)</script>")
    assert await page.locator("#messages img").count() == 0 and await page.locator("#messages script").count() == 0
    await expect(page.locator("#input")).to_have_attribute("placeholder", "Message or /command")
    await page.screenshot(path=str(shots / "phone-2-chat.png"))
    await page.locator("#back").tap()
    await expect(page.locator(".sidebar")).to_be_visible()
    assert problems == []
    await context.close()


async def test_the_scenario_plays_on_sandbox_time_with_notes_for_the_trainee(
        browser: Any, tmp_path: Path, shots: Path) -> None:
    from playwright.async_api import expect

    async with DemoSandbox(tmp_path / "scenario", port=0, speed=12, enforce_limits=False, scheduler=True) as sandbox:
        runner = asyncio.create_task(sandbox.runner().run())
        try:
            context = await browser.new_context(viewport={"width": 1280, "height": 820})
            page = await context.new_page()
            problems = watch(page)
            await page.goto(sandbox.web_url + "?lang=zh")
            await page.select_option("#persona", str(ZHANG))
            await page.click(f'.chat-item[data-chat-id="{LANZHOU}"]')
            await expect(page.locator("#narration-text")).to_contain_text("轮到你了", timeout=60_000)
            await expect(page.locator("#clock")).to_contain_text("11/12")
            await page.click("#clock-toggle")
            await expect(page.locator("#clock")).to_contain_text("已暂停", timeout=WAIT_MS)
            frozen = sandbox.clock()
            assert sandbox.clock.paused and sandbox.clock() == frozen
            await page.locator('[data-testid="topic"]').nth(1).click(timeout=WAIT_MS)  # 兰州's group has topics: General, then the items'
            await expect(page.locator(".msg.bot").first).to_be_visible()
            await page.screenshot(path=str(shots / "desktop-0-scenario.png"))
            await page.click("#narration-more")
            await expect(page.locator("#narration-all li").first).to_contain_text("欢迎")
            assert problems == []
            await context.close()
        finally:
            runner.cancel()
            try:
                await runner
            except (asyncio.CancelledError, Exception):
                pass
