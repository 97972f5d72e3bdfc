"""A year becomes known (its days typed into [calendar]): open items' provisional deadlines are
counted again at the next start's first sweep, the holders whose deadline moved are told, and the
move is in the event log — once."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.app_context import AppContext
from bot.workflow import Actor, Incoming, claims
from bot.workflow.intake import intake
from bot.workflow.items import get_item
from scheduler.sweep import sweep
from storage.models import Event, Outbox
from tests.conftest import LANZHOU_CHAT, ZHANG, make_config

TZ = ZoneInfo("Asia/Shanghai")
RECEIVED = datetime(2026, 12, 28, 10, 0, tzinfo=TZ)  # Monday; 5 working days reach into 2027
# as if typed from the State Council's notice for the test: New Year's Day off, and a make-up day
HOLIDAYS = ["2027-01-01"]


def test_a_newly_known_year_moves_provisional_deadlines_and_tells_the_holder(db_url: str) -> None:
    before = AppContext.create(make_config(db_url), clock=lambda: RECEIVED)
    (claimed, _), (unclaimed, _) = before.db.call(intake, before.workflow, [
        Incoming("cal-1", "城关区某小区楼道堆放杂物。", received_at=RECEIVED),
        Incoming("cal-2", "七里河区某路段井盖缺失。", received_at=RECEIVED)], RECEIVED)
    before.db.call(claims.claim, before.workflow, claimed.id, Actor(ZHANG, "张三", chat_id=LANZHOU_CHAT), RECEIVED)
    old = before.db.call(lambda s: get_item(s, claimed.id))
    # Mon–Fri guess: 12-29, 12-30, 12-31, Fri 01-01, Mon 01-04
    assert old.deadline_provisional and old.deadline.astimezone(TZ).date().isoformat() == "2027-01-04"
    before.db.dispose()

    # restart with 2027 known from the config: 01-01 is a holiday, so the fifth working day is Tue 01-05
    later = datetime(2026, 12, 29, 9, 30, tzinfo=TZ)
    after = AppContext.create(make_config(db_url, calendar__holidays=HOLIDAYS), clock=lambda: later)
    try:
        report = after.db.call(sweep, after.workflow, later)
        assert report.queued.get("deadlines moved by the calendar") == 2
        moved = after.db.call(lambda s: get_item(s, claimed.id))
        assert not moved.deadline_provisional
        assert moved.deadline.astimezone(TZ).isoformat() == "2027-01-05T18:00:00+08:00"

        def told(session):  # type: ignore[no-untyped-def]
            rows = session.exec(select(Outbox).where(Outbox.purpose == "deadline_changed",
                                                     Outbox.chat_id == LANZHOU_CHAT)).all()
            return [json.loads(r.payload)["text"] for r in rows]

        texts = after.db.call(told)
        assert len(texts) == 2  # the holder's item and the unclaimed one, in their region's chat
        mine = next(t for t in texts if f"#{claimed.id} " in t)
        assert f"tg://user?id={ZHANG}" in mine and "2027-01-05 18:00" in mine and "（暂定）调整为" in mine

        def moves(session):  # type: ignore[no-untyped-def]
            return session.exec(select(Event).where(Event.action == "deadline_moved")).all()

        assert {e.item_id for e in after.db.call(moves)} == {claimed.id, unclaimed.id}
        # the next sweeps, and a second pass in this process, move nothing again
        again = after.db.call(sweep, after.workflow, later)
        assert "deadlines moved by the calendar" not in again.queued
        assert len(after.db.call(told)) == 2
    finally:
        after.db.dispose()


def test_a_year_still_unknown_leaves_deadlines_as_they_are(db_url: str) -> None:
    s = AppContext.create(make_config(db_url), clock=lambda: RECEIVED)
    try:
        (item, _), = s.db.call(intake, s.workflow, [Incoming("cal-3", "城关区路灯坏了。", received_at=RECEIVED)], RECEIVED)
        report = s.db.call(sweep, s.workflow, RECEIVED)
        assert "deadlines moved by the calendar" not in report.queued
        assert s.db.call(lambda ss: get_item(ss, item.id)).deadline_provisional
    finally:
        s.db.dispose()


def test_start_warns_once_when_the_next_30_days_reach_an_unknown_year(caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    from bot.service import warn_unknown_calendar

    december = datetime(2026, 12, 5, 9, 0, tzinfo=TZ)
    with caplog.at_level(logging.WARNING, logger="bot.service"):
        warn_unknown_calendar(make_config("sqlite:///unused.db"), december)
        warn_unknown_calendar(make_config("sqlite:///unused.db"), datetime(2026, 11, 1, 9, 0, tzinfo=TZ))
        warn_unknown_calendar(make_config("sqlite:///unused.db", calendar__holidays=HOLIDAYS), december)
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and "2027" in warnings[0] and "[calendar]" in warnings[0]
