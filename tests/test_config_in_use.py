"""Every value the config accepts works where it is used: a property test over the config's schema.

Hypothesis writes configs (reminder points in every accepted spelling, office and quiet hours,
report days and times, deadline lengths, thresholds, the calendar's own days); each one the config
accepts runs the service's real path — intake, claim, 督办, and sweeps from receipt to well past the
deadline (reminders, escalation, digests) — and none may raise. What the config refuses is fine:
it says so by naming the key, which tests/test_config.py checks.
"""

from __future__ import annotations

import copy
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from bot.app_context import AppContext
from bot.config import ConfigError, parse_config
from bot.workflow import Actor, Incoming, claims, intake, supervision
from bot.workflow.followup import sweep_followups
from bot.workflow.verification import select_item, sweep_verification
from scheduler.digest import latest_due
from scheduler.reminders import sweep_reminders
from scheduler.sweep import SweepReport, sweep
from storage.models import Outbox
from tests.conftest import BASE_CONFIG, LANZHOU_CHAT, ZHANG, ZHAO

TZ = ZoneInfo("Asia/Shanghai")

_spaces = st.sampled_from(["", " ", "  "])
_units = st.sampled_from(["%", "wd", "WD", "h", "H", "m", "M"])


@st.composite
def reminder_point(draw: st.DrawFn) -> str:
    """The documented forms in every spelling the parser forgives, up to its largest number."""
    unit = draw(_units)
    top = 99 if unit == "%" else 9999
    amount = draw(st.one_of(st.integers(1, min(top, 120)), st.sampled_from([1, top])))
    return f"{draw(_spaces)}{amount}{draw(_spaces)}{unit}{draw(_spaces)}"


def count(typical: int, top: int = 10**12) -> st.SearchStrategy[int]:
    """Numbers as a deployer writes them, and the edges: 1 and far too many."""
    return st.one_of(st.integers(1, typical), st.sampled_from([1, typical, top]), st.integers(1, top))


def clock() -> st.SearchStrategy[Any]:
    """A time of day as TOML's local time or as "H:MM" text."""
    return st.one_of(
        st.times().map(lambda t: t.replace(second=0, microsecond=0)),
        st.builds(lambda h, m: f"{h}:{m:02d}", st.integers(0, 23), st.integers(0, 59)),
    )


def days() -> st.SearchStrategy[list[str]]:
    return st.lists(st.dates(date(2026, 12, 1), date(2027, 3, 31)).map(date.isoformat), max_size=12, unique=True)


# Values from the whole range the config could accept (refusals are tests/test_config.py's job);
# a combination the config still refuses (e.g. office_end before office_start) is skipped.
SETTINGS: dict[str, st.SearchStrategy[Any]] = {
    "reminders__before_deadline": st.lists(reminder_point(), max_size=5),
    "reminders__unclaimed_after_minutes": count(3000, 365 * 24 * 60),
    "reminders__quiet_for_urgent": st.booleans(),
    "schedule__office_start": clock(),  # the later of the two becomes office_end
    "schedule__office_end": clock(),
    "schedule__quiet_start": clock(),
    "schedule__quiet_end": clock(),
    "schedule__weekly_day": st.sampled_from(["mon", "Tue", "wednesday", "thu", "fri", "sat", "Sunday"]),
    "schedule__weekly_time": clock(),
    "schedule__monthly_day": st.integers(1, 28),
    "schedule__monthly_time": clock(),
    "schedule__overdue_repeat_time": clock(),
    "schedule__tick_seconds": count(60, 86400),
    "deadlines__ordinary_days": count(10, 365),
    "deadlines__complex_days": count(15, 365),
    "deadlines__max_extension_days": count(15, 365),
    "deadlines__supervised_factor": st.floats(0, 1, exclude_min=True),
    "triage__sensitivity_threshold": st.one_of(st.floats(0, 5), st.floats(0, 1e300)),
    "triage__warning_count": count(4),
    "triage__warning_window_hours": count(48, 365 * 24),
    "calendar__holidays": days(),
    "calendar__workdays": days(),
    "verification__due": st.builds(lambda d, h, m: f"{d} {h}:{m:02d}", st.sampled_from(["mon", "Fri", "saturday"]),
                                   st.integers(0, 23), st.integers(0, 59)),
    "verification__remind_before_hours": count(24, 144),
    "verification__propose_before_hours": count(24, 144),
    "followup__after_days": count(10, 250),
}


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    data = copy.deepcopy(BASE_CONFIG)
    for path, strategy in SETTINGS.items():
        if draw(st.booleans()):
            section, key = path.split("__")
            data.setdefault(section, {})[key] = draw(strategy)
    _in_order(data.get("schedule", {}), "office_start", "office_end", _as_time)
    _in_order(data.get("deadlines", {}), "ordinary_days", "complex_days", int)
    return data


def _as_time(value: Any) -> time:
    return value if isinstance(value, time) else time(*map(int, value.split(":")))


def _in_order(section: dict[str, Any], first: str, second: str, key: Any) -> None:
    """Swap two drawn settings the config wants in order (an equal pair stays, to be refused)."""
    if first in section and second in section and key(section[first]) > key(section[second]):
        section[first], section[second] = section[second], section[first]


def run_everything(data: dict[str, Any], received: datetime) -> None:
    """Intake of an urgent, an ordinary and a complex message; claim, 督办; sweeps until far past."""
    data = copy.deepcopy(data)
    data["database"]["url"] = "sqlite://"
    try:
        config = parse_config(data, env={})
    except ConfigError as err:
        event(f"refused: {err.key}")
        return
    event("accepted")
    s = AppContext.create(config)
    try:
        wf = s.workflow
        bodies = ["城关区家里停水了，现在还没来水。", "城关区路灯坏了。", "城关区拆迁补偿款多年未解决。"]
        incoming = [Incoming(f"x{i}", body, region="620100", received_at=received + timedelta(minutes=i))
                    for i, body in enumerate(bodies)]
        items = s.db.call(intake.intake, wf, incoming, received + timedelta(minutes=5))
        ids = [item.id for item, _ in items]
        s.db.call(claims.claim, wf, ids[1], Actor(ZHANG, "张三", chat_id=LANZHOU_CHAT, message_id=1), received + timedelta(hours=1))
        s.db.call(supervision.supervise, wf, ids[2], Actor(ZHAO, "赵六"), received + timedelta(hours=2), confirm=False)
        s.db.call(claims.reply, wf, ids[1], Actor(ZHANG, "张三", chat_id=LANZHOU_CHAT, message_id=2), "已处理。",
                  received + timedelta(hours=2))
        s.db.call(select_item, wf, ids[0], Actor(ZHAO, "赵六"), received + timedelta(hours=2), confirm=False)
        for offset in (timedelta(hours=3), timedelta(days=1, hours=2), timedelta(days=8), timedelta(days=40)):
            now = received + offset
            # the sweep's parts that read these settings; building a digest reads none of them
            s.db.call(sweep_reminders, wf, now, SweepReport())
            s.db.call(sweep_verification, wf, now, SweepReport())
            s.db.call(sweep_followups, wf, now, SweepReport())
            for kind in ("weekly", "monthly"):
                assert latest_due(kind, now, config.schedule) <= now
    finally:
        s.db.dispose()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=configs(), received=st.datetimes(datetime(2026, 11, 1), datetime(2027, 2, 1)).map(lambda d: d.replace(tzinfo=TZ)))
def test_every_accepted_value_works_where_it_is_used(data: dict[str, Any], received: datetime) -> None:
    run_everything(data, received)


def test_minutes_before_the_deadline_remind() -> None:
    """The example config documents "30m"; a ladder with it must not stop every sweep."""
    data = copy.deepcopy(BASE_CONFIG)
    data["database"]["url"] = "sqlite://"
    data["reminders"] = {"before_deadline": ["50%", "30m"]}
    s = AppContext.create(parse_config(data, env={}))
    try:
        received = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)  # Mon; ordinary: due Mon 11-30 18:00
        (item, _), = s.db.call(intake.intake, s.workflow, [Incoming("m1", "城关区路灯坏了。", received_at=received)], received)
        assert item.deadline == datetime(2026, 11, 30, 18, 0, tzinfo=TZ)
        seen = []
        for now in (datetime(2026, 11, 26, 12, 0, tzinfo=TZ), datetime(2026, 11, 30, 17, 40, tzinfo=TZ)):
            s.db.call(sweep, s.workflow, now)
            rows = s.db.call(lambda session: list(session.exec(
                select(Outbox).where(Outbox.purpose == "reminder").order_by(Outbox.id))))  # type: ignore[arg-type]
            seen.append(len(rows))
        assert seen == [1, 2]  # half-way, then 30 minutes before
    finally:
        s.db.dispose()


def test_calendar_from_the_config_sets_the_deadline() -> None:
    """Received on the last day the package knows; the config lists 2027's New Year's Day."""
    data = copy.deepcopy(BASE_CONFIG)
    data["database"]["url"] = "sqlite://"
    received = datetime(2026, 12, 31, 10, 0, tzinfo=TZ)
    for holidays, deadline, provisional in ((["2027-01-01"], datetime(2027, 1, 8, 18, 0, tzinfo=TZ), False),
                                            ([], datetime(2027, 1, 7, 18, 0, tzinfo=TZ), True)):
        data["calendar"] = {"holidays": holidays}
        s = AppContext.create(parse_config(data, env={}))
        try:
            (item, _), = s.db.call(intake.intake, s.workflow, [Incoming("c1", "城关区路灯坏了。", region="620100",
                                                                received_at=received)], received)
            assert (item.deadline, item.deadline_provisional) == (deadline, provisional)
        finally:
            s.db.dispose()
