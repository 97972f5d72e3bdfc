"""Reminders and escalation as the chats would see them, time moved only through ``sweep(now)``.

Every test reads what a sweep queued (one outbox row per chat and moment) and what it recorded
(``reminders_sent``), against the official 2026 calendar: National Day off 10-01..07, make-up
working Saturday 10-10.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from contextlib import redirect_stdout
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.app_context import AppContext
from bot.cli import main as cli_main
from bot.config import Config
from bot.render import visible_length
from bot.workflow import Actor, Incoming
from bot.workflow import deadlines as steps
from bot.workflow.buttons import press
from bot.workflow.claims import claim, reply
from bot.workflow.intake import intake
from bot.workflow.items import get_item
from bot.workflow.routing import route
from scheduler.sweep import sweep
from storage.models import Event, Outbox
from storage.reminders import ReminderSent
from tests.conftest import (
    BASE_CONFIG,
    DESK_CHAT,
    LANZHOU,
    LANZHOU_CHAT,
    LI,
    TIANSHUI_CHAT,
    WANG,
    ZHANG,
    ZHAO,
    make_config,
)

TZ = ZoneInfo("Asia/Shanghai")
REGIONAL_SUPERVISOR = 2002  # a supervisor of Lanzhou only


def at(text: str) -> datetime:
    """Local Shanghai wall-clock time, e.g. ``at("10-10 18:00")`` (year 2026) or a full ISO string."""
    if len(text) == 11:
        text = f"2026-{text}"
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def with_regional_supervisor(config: Config) -> Config:
    officers = [*BASE_CONFIG["officers"],
                {"user_id": REGIONAL_SUPERVISOR, "name": "孙八", "region": LANZHOU, "role": "supervisor"}]
    return make_config(config.database.url, officers=officers)


@pytest.fixture
def s(config: Config) -> Iterator[AppContext]:
    services = AppContext.create(with_regional_supervisor(config))
    yield services
    services.db.dispose()


def new(s: AppContext, external_id: str, body: str, received: datetime, **kw: Any) -> int:
    (item, created), = s.db.call(intake, s.workflow, [Incoming(external_id, body, received_at=received, **kw)], received)
    assert created
    return item.id


def officer(user_id: int, chat_id: int = LANZHOU_CHAT) -> Actor:
    return Actor(user_id=user_id, name=str(user_id), chat_id=chat_id, message_id=1)


def batches(s: AppContext, since_id: int = 0) -> list[dict[str, Any]]:
    """Each reminder message queued: when, where, its text, and the (kind, item) lines it shows."""

    def q(session):  # type: ignore[no-untyped-def]
        rows = list(session.exec(select(Outbox).where(Outbox.purpose.in_(["reminder", "escalation"]),  # type: ignore[attr-defined]
                                                      Outbox.id > since_id).order_by(Outbox.id)))
        sent = list(session.exec(select(ReminderSent)))
        return rows, sent

    rows, sent = s.db.call(q)
    out = []
    for row in rows:
        shown = sorted((r.kind, r.item_id) for r in sent if r.outbox_id == row.id and not r.skipped)
        out.append({"at": row.created_at.astimezone(TZ).strftime("%m-%d %H:%M"), "chat": row.chat_id,
                    "text": json.loads(row.payload)["text"], "shown": shown, "id": row.id})
    return out


def run_sweeps(s: AppContext, start: datetime, end: datetime, step: timedelta = timedelta(minutes=30)) -> None:
    now = start
    while now <= end:
        s.db.call(sweep, s.workflow, now)
        now += step


# ---------------------------------------------------------------------------- the fortnight


def test_reminder_ladder_across_a_fortnight_with_a_restart_and_a_day_stopped(config: Config) -> None:
    """Two weeks around National Day, a sweep every 30 minutes, a restart on 10-08 and the whole
    service stopped from Fri 10-09 12:00 to Sat 10-10 12:00. Every reminder goes out once, at the
    first sweep it is due (after the stop: the one still due), and never twice."""
    cfg = with_regional_supervisor(config)
    s = AppContext.create(cfg)
    a = new(s, "fa", "城关区雁滩路夜间施工噪音扰民，请查处。", at("09-28 10:00"))
    b = new(s, "fb", "麦积区某小区路灯坏了一个月。", at("09-28 10:00"))
    s.db.call(claim, s.workflow, a, officer(ZHANG), at("09-28 10:30"))
    got = s.db.call(lambda ss: get_item(ss, a))
    assert got.deadline == at("10-10 18:00") and not got.deadline_provisional  # the make-up Saturday
    run_sweeps(s, at("09-28 10:30"), at("10-08 12:00"))

    s.db.dispose()  # restart: a new process on the same database
    s = AppContext.create(cfg)
    run_sweeps(s, at("10-08 12:30"), at("10-09 12:00"))
    # the whole service is down until Sat 10-10 12:00; the crawler's backlog arrives on restart
    s.db.dispose()
    s = AppContext.create(cfg)
    c = new(s, "fc", "七里河区某小区停水两天了，老人孩子没水用。", at("10-09 19:00"))
    assert s.db.call(lambda ss: get_item(ss, c).priority) == "urgent"
    run_sweeps(s, at("10-10 12:00"), at("10-12 10:30"))
    s.db.call(reply, s.workflow, a, officer(ZHANG), "已协调城管部门停止夜间施工。", at("10-12 11:00"))
    run_sweeps(s, at("10-12 11:00"), at("10-13 12:00"))

    order = {DESK_CHAT: 0, LANZHOU_CHAT: 1, TIANSHUI_CHAT: 2}
    seen = sorted(((x["at"], x["chat"], x["shown"]) for x in batches(s)), key=lambda x: (x[0], order[x[1]]))
    assert seen == [
        ("09-28 12:00", TIANSHUI_CHAT, [("unclaimed", b)]),
        ("10-08 09:30", LANZHOU_CHAT, [("before", a)]),  # half-way, after the holiday
        ("10-08 09:30", TIANSHUI_CHAT, [("before", b)]),
        # after the stop: "1 working day left" (due Fri 18:00) goes out once, late; C's nag too
        ("10-10 12:00", LANZHOU_CHAT, [("before", a), ("unclaimed", c)]),
        ("10-10 12:00", TIANSHUI_CHAT, [("before", b)]),
        ("10-10 13:30", LANZHOU_CHAT, [("before", c)]),  # half of C's office time
        ("10-10 16:00", LANZHOU_CHAT, [("before", a), ("before", c)]),  # 2 hours left: one message
        ("10-10 16:00", TIANSHUI_CHAT, [("before", b)]),
        ("10-10 18:00", DESK_CHAT, [("overdue", a), ("overdue", b), ("overdue", c)]),
        ("10-10 18:00", LANZHOU_CHAT, [("overdue", a), ("overdue", c)]),
        ("10-10 18:00", TIANSHUI_CHAT, [("overdue", b)]),
        # Sunday 10-11 is a day off: the next repeat is Monday at 09:30
        ("10-12 09:30", DESK_CHAT, [("repeat", a), ("repeat", b), ("repeat", c)]),
        ("10-12 09:30", LANZHOU_CHAT, [("repeat", a), ("repeat", c)]),
        ("10-12 09:30", TIANSHUI_CHAT, [("repeat", b)]),
        # A was replied to on Monday: Tuesday's repeats name only B and C
        ("10-13 09:30", DESK_CHAT, [("repeat", b), ("repeat", c)]),
        ("10-13 09:30", LANZHOU_CHAT, [("repeat", c)]),
        ("10-13 09:30", TIANSHUI_CHAT, [("repeat", b)]),
    ]
    messages = batches(s)
    lanzhou_16 = next(m for m in messages if m["at"] == "10-10 16:00" and m["chat"] == LANZHOU_CHAT)
    assert f'<a href="tg://user?id={ZHANG}">张三</a>' in lanzhou_16["text"]  # the holder is mentioned
    assert "还剩约 2 小时" in lanzhou_16["text"]
    desk_18 = next(m for m in messages if m["at"] == "10-10 18:00" and m["chat"] == DESK_CHAT)
    assert "督办" in desk_18["text"] and "已超期" in desk_18["text"]
    assert f"tg://user?id={ZHAO}" in desk_18["text"] and f"tg://user?id={REGIONAL_SUPERVISOR}" in desk_18["text"]
    tianshui_18 = next(m for m in messages if m["at"] == "10-10 18:00" and m["chat"] == TIANSHUI_CHAT)
    assert "tg://user" not in tianshui_18["text"]  # nobody holds B: the group is told, nobody mentioned

    # sweeping again, at the end or at any earlier moment, says nothing more
    before = len(messages)
    for again in ("10-13 12:00", "10-10 16:00", "10-10 18:00", "10-12 09:30", "09-28 12:00"):
        assert not s.db.call(sweep, s.workflow, at(again)).queued
    assert len(batches(s)) == before
    s.db.dispose()


def test_a_stop_over_several_rungs_says_only_the_latest_once(s: AppContext) -> None:
    item = new(s, "st", "城关区某路段井盖缺失。", at("09-28 10:00"))
    s.db.call(claim, s.workflow, item, officer(ZHANG), at("09-28 10:10"))
    s.db.call(sweep, s.workflow, at("09-28 10:30"))
    # down from Mon 09-28 until Sat 10-10 12:00: 50% and 1wd passed unsaid
    s.db.call(sweep, s.workflow, at("10-10 12:00"))
    (message,) = batches(s)
    assert message["shown"] == [("before", item)]
    assert "还剩约 6 小时" in message["text"]

    def points(session):  # type: ignore[no-untyped-def]
        return sorted((r.point, r.skipped) for r in session.exec(select(ReminderSent)))

    assert s.db.call(points) == [("before:1wd", False), ("before:50%", True)]
    s.db.call(sweep, s.workflow, at("10-10 15:00"))
    assert len(batches(s)) == 1  # nothing new before the 2-hour rung
    s.db.call(sweep, s.workflow, at("10-10 16:00"))
    assert [m["shown"] for m in batches(s)] == [[("before", item)], [("before", item)]]


# ---------------------------------------------------------------------------- quiet hours


def test_quiet_hours_and_days_off_hold_routine_reminders_but_not_urgent_ones(s: AppContext) -> None:
    ordinary = new(s, "q1", "城关区小区门口垃圾无人清运。", at("10-09 20:00"))  # Fri evening
    urgent = new(s, "q2", "七里河区某小区停水两天了，没水用。", at("10-09 20:30"))
    assert s.db.call(lambda ss: get_item(ss, urgent).priority) == "urgent"
    for t in ("10-09 22:00", "10-09 22:30", "10-10 03:00"):
        s.db.call(sweep, s.workflow, at(t))
    # the urgent nag went out at 22:30 in the night; the ordinary one waits for the morning
    assert [(m["at"], m["shown"]) for m in batches(s)] == [("10-09 22:30", [("unclaimed", urgent)])]
    s.db.call(sweep, s.workflow, at("10-10 08:00"))  # make-up Saturday: a working day
    assert [(m["at"], m["shown"]) for m in batches(s)][1:] == [("10-10 08:00", [("unclaimed", ordinary)])]


def test_days_off_hold_routine_reminders_until_the_next_working_morning(s: AppContext) -> None:
    item = new(s, "w1", "城关区某小区电梯经常故障。", at("09-30 17:00"))  # the eve of National Day
    for day in range(1, 8):  # every day of the holiday, at noon
        s.db.call(sweep, s.workflow, at(f"10-0{day} 12:00"))
    assert batches(s) == []
    s.db.call(sweep, s.workflow, at("10-08 08:00"))
    assert [(m["at"], m["shown"]) for m in batches(s)] == [("10-08 08:00", [("unclaimed", item)])]


def test_quiet_for_urgent_makes_urgent_items_wait_too(config: Config) -> None:
    s = AppContext.create(make_config(config.database.url, reminders={"quiet_for_urgent": True}))
    try:
        urgent = new(s, "qu", "七里河区某小区停水两天了，没水用。", at("10-09 20:30"))
        s.db.call(sweep, s.workflow, at("10-09 22:30"))
        assert batches(s) == []
        s.db.call(sweep, s.workflow, at("10-10 08:00"))
        assert [m["shown"] for m in batches(s)] == [[("unclaimed", urgent)]]
    finally:
        s.db.dispose()


# ---------------------------------------------------------------------------- deadlines that move


def test_an_approved_extension_starts_a_new_ladder_for_the_new_deadline(s: AppContext) -> None:
    item = new(s, "ex", "城关区某路段施工围挡占道。", at("11-23 10:00"))  # Mon; due Mon 11-30 18:00
    s.db.call(claim, s.workflow, item, officer(ZHANG), at("11-23 10:05"))
    run_sweeps(s, at("11-23 10:30"), at("11-27 18:00"))  # 50% Thu 11-26 09:30, 1wd Fri 11-27 18:00
    assert [m["at"] for m in batches(s)] == ["11-26 09:30", "11-27 18:00"]
    s.db.call(steps.request_extension, s.workflow, item, officer(ZHANG), 3, "需要现场核实", at("11-30 09:00"))
    request_row = s.db.call(lambda ss: ss.exec(select(Outbox).where(Outbox.purpose == "extension_request")).one())
    mark_sent(s, request_row.id, 501)
    s.db.call(press, s.workflow, "ext_ok", item, officer(ZHAO, DESK_CHAT), DESK_CHAT, 501, at("11-30 10:00"))
    assert s.db.call(lambda ss: get_item(ss, item).deadline) == at("12-03 18:00")
    run_sweeps(s, at("11-30 10:00"), at("12-03 18:00"))
    # the old deadline passes silently; the new ladder's rungs after the change are said once:
    # half of the office time from receipt to Thu 12-03 (Fri 11-27 14:00) lies before the change,
    # so it is dropped
    assert [(m["at"], m["shown"]) for m in batches(s)][2:] == [
        ("12-02 18:00", [("before", item)]),
        ("12-03 16:00", [("before", item)]),
        ("12-03 18:00", [("overdue", item)]),
        ("12-03 18:00", [("overdue", item)]),
    ]


def mark_sent(s: AppContext, outbox_id: int, message_id: int) -> None:
    """What the delivery worker does once Telegram accepted a message."""

    def q(session):  # type: ignore[no-untyped-def]
        row = session.get(Outbox, outbox_id)
        row.status, row.message_id = "sent", message_id
        session.add(row)

    s.db.call(q)


# ---------------------------------------------------------------------------- overdue escalation


def test_overdue_escalation_tells_desk_with_the_regions_supervisors_and_repeats_on_working_days(s: AppContext) -> None:
    lz = new(s, "o1", "城关区某小区物业乱收费。", at("09-21 10:00"))
    ts = new(s, "o2", "麦积区某村道路坑洼。", at("09-21 10:00"))
    s.db.call(claim, s.workflow, lz, officer(ZHANG), at("09-21 10:05"))
    s.db.call(claim, s.workflow, ts, officer(WANG, TIANSHUI_CHAT), at("09-21 10:05"))
    # 5 working days after Mon 09-21: 22, 23, 24, (25-27 Mid-Autumn off), 28, 29 -> Tue 09-29 18:00
    assert s.db.call(lambda ss: get_item(ss, lz).deadline) == at("09-29 18:00")
    first = len(batches(s))
    for t in ("09-29 18:00", "09-30 09:30", "10-03 09:30", "10-08 09:29", "10-08 09:30", "10-08 15:00"):
        s.db.call(sweep, s.workflow, at(t))
    sent = batches(s)[first:]
    desk = [m for m in sent if m["chat"] == DESK_CHAT]
    assert [(m["at"], m["shown"]) for m in desk] == [
        ("09-29 18:00", [("overdue", lz), ("overdue", ts)]),
        ("09-30 09:30", [("repeat", lz), ("repeat", ts)]),
        ("10-08 09:30", [("repeat", lz), ("repeat", ts)]),  # nothing during the holiday
    ]
    # both supervisors of Lanzhou's item are mentioned; Tianshui's has only the province-wide one
    assert f"tg://user?id={REGIONAL_SUPERVISOR}" in desk[0]["text"] and f"tg://user?id={ZHAO}" in desk[0]["text"]
    assert "已超期 1 个工作日" in desk[1]["text"] and "已超期 2 个工作日" in desk[2]["text"]
    lanzhou = [m for m in sent if m["chat"] == LANZHOU_CHAT]
    assert [m["at"] for m in lanzhou] == ["09-29 18:00", "09-30 09:30", "10-08 09:30"]
    assert all(f'<a href="tg://user?id={ZHANG}">' in m["text"] for m in lanzhou)
    assert all(f"tg://user?id={REGIONAL_SUPERVISOR}" not in m["text"] for m in lanzhou)
    events = s.db.call(lambda ss: list(ss.exec(select(Event).where(Event.action == "overdue"))))
    assert sorted(e.item_id for e in events) == [lz, ts] and {e.source for e in events} == {"scheduler"}


def test_unrouted_items_are_nagged_and_escalated_at_the_desk(s: AppContext) -> None:
    item = new(s, "u1", "我们这里的路很难走，下雨天出不了门。", at("11-23 10:00"))
    s.db.call(sweep, s.workflow, at("11-23 12:00"))
    (nag,) = batches(s)
    assert nag["chat"] == DESK_CHAT and nag["shown"] == [("unclaimed", item)]
    assert f"/route {item}" in nag["text"] and f"tg://user?id={ZHAO}" in nag["text"]
    assert f"tg://user?id={REGIONAL_SUPERVISOR}" not in nag["text"]  # not Lanzhou's (yet)
    s.db.call(sweep, s.workflow, at("11-30 18:00"))
    assert [(m["chat"], m["shown"]) for m in batches(s)][1:] == [(DESK_CHAT, [("overdue", item)])]


def test_rerouting_an_item_nags_its_new_chat_again(s: AppContext) -> None:
    item = new(s, "r1", "城关区某小区停车难。", at("11-23 10:00"))
    s.db.call(sweep, s.workflow, at("11-23 12:00"))
    s.db.call(route, s.workflow, item, officer(ZHAO, DESK_CHAT), "天水市", at("11-23 13:00"))
    s.db.call(sweep, s.workflow, at("11-23 14:30"))
    s.db.call(sweep, s.workflow, at("11-23 15:00"))
    assert [(m["at"], m["chat"]) for m in batches(s)] == [("11-23 12:00", LANZHOU_CHAT), ("11-23 15:00", TIANSHUI_CHAT)]


# ---------------------------------------------------------------------------- batching, exactly once


def test_many_items_due_at_once_are_one_message_within_telegrams_limit(s: AppContext) -> None:
    received = at("11-16 10:00")
    s.db.call(intake, s.workflow, [Incoming(f"m{i}", f"城关区第{i}号楼下水道堵塞，污水横流，" + "情况描述。" * 20,
                                            title=f"第{i}号楼下水道堵塞" + "很长的标题" * 5, received_at=received)
                                   for i in range(200)], received)
    s.db.call(sweep, s.workflow, at("11-23 18:00"))  # all 200 overdue at once
    messages = batches(s)
    assert {m["chat"] for m in messages} == {DESK_CHAT, LANZHOU_CHAT} and len(messages) == 2
    for m in messages:
        assert visible_length(m["text"]) <= 4096
        assert "另有" in m["text"] and "/overdue" in m["text"]
    count = s.db.call(lambda ss: len(list(ss.exec(select(ReminderSent)))))
    assert count == 400  # every (item, chat) recorded, shown or counted
    assert not s.db.call(sweep, s.workflow, at("11-23 18:30")).queued


def test_concurrent_sweeps_queue_each_reminder_once(s: AppContext) -> None:
    for i in range(5):
        new(s, f"c{i}", f"城关区第{i}个问题。", at("11-23 10:00"))
    now = at("11-23 12:00")
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def one() -> None:
        try:
            barrier.wait()
            s.db.call(sweep, s.workflow, now)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    (message,) = batches(s)
    assert len(message["shown"]) == 5


def test_replied_items_are_never_reminded(s: AppContext) -> None:
    item = new(s, "rp", "城关区某处路灯不亮。", at("11-23 10:00"))
    s.db.call(claim, s.workflow, item, officer(LI), at("11-23 10:05"))
    s.db.call(reply, s.workflow, item, officer(LI), "已修复。", at("11-23 11:00"))
    run_sweeps(s, at("11-23 11:00"), at("12-02 10:00"), step=timedelta(hours=3))
    assert batches(s) == []


# ---------------------------------------------------------------------------- the command line


def _toml(config: Config, path: Path) -> Path:
    """The test config as a liuyan.toml (strings in TOML's basic form, which JSON also writes)."""
    data = json.loads(json.dumps(BASE_CONFIG))
    data["database"]["url"] = config.database.url
    lines: list[str] = []

    def value(v: Any) -> str:
        return json.dumps(v, ensure_ascii=False)

    for section, body in data.items():
        if isinstance(body, list):
            for entry in body:
                lines.append(f"[[{section}]]")
                lines.extend(f"{k} = {value(v)}" for k, v in entry.items())
        else:
            lines.append(f"[{section}]")
            lines.extend(f"{k} = {value(v)}" for k, v in body.items())
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_liuyan_sweep_now_no_send(config: Config, tmp_path: Path) -> None:
    s = AppContext.create(config)
    try:
        item = new(s, "cli", "城关区某小区暖气不热。", at("11-23 10:00"))
    finally:
        s.db.dispose()
    path = _toml(config, tmp_path / "liuyan.toml")
    out = io.StringIO()
    with redirect_stdout(out):
        code = cli_main(["sweep", "--config", str(path), "--now", "2026-11-23T12:00:00+08:00", "--no-send"])
    assert code == 0
    assert "sweep as of 2026-11-23T12:00:00+08:00" in out.getvalue()
    assert "unclaimed: 1" in out.getvalue() and "reminder_messages: 1" in out.getvalue()
    out = io.StringIO()
    with redirect_stdout(out):  # run again (a second cron run): nothing more is queued
        assert cli_main(["sweep", "--config", str(path), "--now", "2026-11-23T12:00:00+08:00", "--no-send"]) == 0
    assert "nothing due" in out.getvalue()
    s = AppContext.create(config)
    try:
        (message,) = batches(s)
        assert message["chat"] == LANZHOU_CHAT and message["shown"] == [("unclaimed", item)]
    finally:
        s.db.dispose()
