"""The weekly roundup and the monthly report as the leaders get them: through the scheduler's sweep
(exactly once, message + chart + HTML file in the leaders' chat), by ``/report``, and by
``liuyan digest``."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.app_context import AppContext
from bot.cli import main as cli_main
from bot.config import Config
from bot.workflow import Actor, Incoming
from bot.workflow.citizens import rate
from bot.workflow.claims import reply
from bot.workflow.intake import intake
from scheduler.digest import build_and_queue_digest, latest_due
from scheduler.sweep import sweep
from storage.models import Outbox
from tests.conftest import BASE_CONFIG, LANZHOU, LANZHOU_CHAT, LEADERS_CHAT, QIAN, ZHANG, ZHAO
from tests.harness import Harness

TZ = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.strptime(f"2026-{text}", "%Y-%m-%d %H:%M").replace(tzinfo=TZ)


MESSAGES = [  # the week of Monday 10-12 (ISO week 42)
    ("d1", "城关区幸福家园停水", "10-12 10:00", LANZHOU),
    ("d2", "七里河区路灯不亮", "10-13 11:00", LANZHOU),
    ("d3", "麦积区学校乱收费", "10-14 09:00", "天水"),
    ("d4", "这里的路很难走", "10-15 09:00", None),
]


def load(s: AppContext) -> list[int]:
    ids = []
    for ext, text, when, region in MESSAGES:
        ((item, _),) = s.db.call(intake, s.workflow, [Incoming(ext, text + "，请尽快解决。", title=text, region=region,
                                                              received_at=at(when))], at(when))
        ids.append(item.id)
    s.db.call(reply, s.workflow, ids[0], Actor(ZHAO, "赵六"), "已安排抢修。", at("10-13 09:00"))
    s.db.call(rate, s.workflow, ids[0], "satisfied", None, at("10-14 09:00"))
    return ids


def reports(s: AppContext) -> list[Outbox]:
    def q(session):  # type: ignore[no-untyped-def]
        return list(session.exec(select(Outbox).where(Outbox.purpose.in_(["weekly_report", "monthly_report"]))  # type: ignore[attr-defined]
                                 .order_by(Outbox.id)))

    return s.db.call(q)


def test_latest_due_follows_the_configured_day_and_time(config: Config) -> None:
    schedule = config.schedule
    assert latest_due("weekly", at("10-19 08:59"), schedule) == at("10-12 09:00")
    assert latest_due("weekly", at("10-19 09:00"), schedule) == at("10-19 09:00")
    assert latest_due("weekly", at("10-21 15:00"), schedule) == at("10-19 09:00")
    assert latest_due("monthly", at("11-01 09:00"), schedule) == at("11-01 09:00")
    assert latest_due("monthly", at("11-01 08:00"), schedule) == at("10-01 09:00")


async def test_weekly_roundup_goes_out_once_on_monday_at_nine(config: Config) -> None:
    async with Harness(config) as h:
        s = h.services
        load(s)
        before = await s.act(sweep, s.workflow, at("10-19 08:59"))
        assert "weekly_report" not in before.queued
        report = await s.act(sweep, s.workflow, at("10-19 09:00"))
        assert report.queued.get("weekly_report") == 1
        again = await s.act(sweep, s.workflow, at("10-19 09:01"))  # the next tick, and a second process
        assert "weekly_report" not in again.queued
        await h.drain()

        sent = h.standin.messages(LEADERS_CHAT)
        texts = [m for m in sent if m.kind == "text" and "每周留言办理综述" in m.text]
        photos = [m for m in sent if m.kind == "photo"]
        documents = [m for m in sent if m.kind == "document"]
        assert len(texts) == 1 and len(photos) == 1 and len(documents) == 1
        text = texts[0].text
        assert "2026-10-12 至 2026-10-18" in text and "2026-W42" in text
        assert "收到 4 条，已回复 1 条" in text
        assert "兰州市：2 · 1 · 50.0%" in text and "天水市：1 · 0 · 0.0%" in text
        assert documents[0].file is not None and documents[0].file.file_name == "weekly-2026-W42.html"
        html = documents[0].file.data.decode("utf-8")
        assert html.startswith("<!DOCTYPE html>") and "兰州市" in html and "满意率" in html
        assert photos[0].file is not None and photos[0].file.data[:8] == b"\x89PNG\r\n\x1a\n"
        assert "各地区办理情况" in (photos[0].text or "")


async def test_report_command_for_leaders_only(config: Config) -> None:
    async with Harness(config) as h:
        s = h.services
        load(s)
        await h.say(LEADERS_CHAT, QIAN, "/report weekly")
        answer = await h.answer_to(LEADERS_CHAT, "每周留言办理综述", timeout=15)
        assert "收到" in answer.text
        await h.standin.wait_for(lambda st: any(m.kind == "document" for m in st.messages(LEADERS_CHAT)), timeout=15)
        await h.say(LEADERS_CHAT, QIAN, "/report yearly")
        await h.answer_to(LEADERS_CHAT, "用法：/report weekly")
        await h.say(LANZHOU_CHAT, ZHANG, "/report weekly")  # an officer
        await h.answer_to(LANZHOU_CHAT, "只有领导或督办人员可以调取报告")
        assert not any("每周留言办理综述" in (m.text or "") for m in h.standin.messages(LANZHOU_CHAT))


def test_monthly_report_on_the_first(config: Config) -> None:
    s = AppContext.create(config)
    try:
        load(s)
        assert "monthly_report" not in s.db.call(sweep, s.workflow, at("11-01 08:00")).queued
        assert s.db.call(sweep, s.workflow, at("11-01 09:00")).queued.get("monthly_report") == 1
        assert "monthly_report" not in s.db.call(sweep, s.workflow, at("11-02 09:00")).queued
        rows = [r for r in reports(s) if r.purpose == "monthly_report"]
        assert [r.method for r in rows] == ["sendMessage", "sendPhoto", "sendDocument"]
        assert all(r.chat_id == LEADERS_CHAT for r in rows)
        assert rows[0].dedupe_key == "monthly:2026-10"
        text = json.loads(rows[0].payload)["text"]
        assert "月度留言办理通报" in text and "各地区排名" in text
    finally:
        s.db.dispose()


def test_no_report_about_a_time_before_the_first_message(config: Config) -> None:
    s = AppContext.create(config)
    try:
        s.db.call(intake, s.workflow, [Incoming("new-1", "城关区停水", received_at=at("10-21 10:00"))], at("10-21 10:00"))
        assert s.db.call(sweep, s.workflow, at("10-21 11:00")).queued.get("weekly_report") is None
        assert reports(s) == []
    finally:
        s.db.dispose()


def test_manual_send_takes_the_scheduled_slot_then_resends_deliberately(config: Config) -> None:
    s = AppContext.create(config)
    try:
        load(s)
        html = s.db.call(build_and_queue_digest, s.workflow, "weekly", at("10-19 08:00"), True)
        assert "2026-W42" in html
        s.db.call(build_and_queue_digest, s.workflow, "weekly", at("10-19 08:30"), True)  # deliberate resend
        s.db.call(build_and_queue_digest, s.workflow, "weekly", at("10-19 08:30"), True)  # the same command retried
        assert "weekly_report" not in s.db.call(sweep, s.workflow, at("10-19 09:00")).queued
        keys = [r.dedupe_key for r in reports(s) if r.method == "sendMessage"]
        assert keys == ["weekly:2026-W42", "weekly:2026-W42:manual:20261019T003000Z"]
    finally:
        s.db.dispose()


def _toml(config: Config, path: Path) -> Path:
    """The test config as a liuyan.toml (JSON strings and numbers are valid TOML values)."""
    data: dict[str, Any] = json.loads(json.dumps(BASE_CONFIG))
    data["database"]["url"] = config.database.url
    lines: list[str] = []
    for section, body in data.items():
        entries = body if isinstance(body, list) else [body]
        for entry in entries:
            lines.append(f"[[{section}]]" if isinstance(body, list) else f"[{section}]")
            lines.extend(f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in entry.items())
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_liuyan_digest_weekly_writes_the_html(config: Config, tmp_path: Path) -> None:
    s = AppContext.create(config)
    try:
        load(s)
    finally:
        s.db.dispose()
    out = tmp_path / "week.html"
    stdout = io.StringIO()
    with redirect_stdout(stdout):
        code = cli_main(["digest", "weekly", "--config", str(_toml(config, tmp_path / "liuyan.toml")),
                         "--now", "2026-10-21T10:00:00+08:00", "--out", str(out)])
    assert code == 0 and f"wrote the weekly report to {out}" in stdout.getvalue()
    html = out.read_text(encoding="utf-8")
    assert "每周留言办理综述（2026-W42）" in html
    assert "<td>兰州市</td><td class=\"n\">2</td><td class=\"n\">1</td><td class=\"n\">50.0%</td>" in html
    assert "data:image/png;base64," in html  # the chart travels inside the file
    s = AppContext.create(config)
    try:
        assert reports(s) == []  # without --send nothing is queued
    finally:
        s.db.dispose()
