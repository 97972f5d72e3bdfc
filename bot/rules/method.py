"""The clock and the words of the 1532 method's later steps: 报前核查 (verification before the
weekly roundup), 回头看 (looking back at replied items) and 重办 (re-handling).

Pure: instants in, instants out. The workflow and the sweep ask these and then write.

A verification round belongs to one weekly roundup, due at ``R``. An item chosen at ``t`` belongs
to the first roundup after ``t`` (so the roundup lists what was chosen since the previous one was
due). Its verification is due at the last ``[verification] due`` moment before ``R`` (default
Friday 17:00 before the Monday roundup); an item chosen after that moment is due at ``R`` itself —
it can still be verified before the roundup is built. The one reminder falls
``remind_before_hours`` before the verification deadline, and only for an item chosen before then.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.rules.deadlines import OfficeHours

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# verdicts of 报前核查 and the words a /verify accepts for each
VERDICTS = ("true", "partly", "false")
_VERDICT_WORDS = {
    "true": "true", "yes": "true", "属实": "true",
    "partly": "partly", "partial": "partly", "部分属实": "partly", "部分": "partly",
    "false": "false", "no": "false", "不属实": "false",
}
# answers to 回头看
SOLVED, ONGOING = "solved", "ongoing"
FOLLOWUP_ANSWERS = (SOLVED, ONGOING)
_FOLLOWUP_WORDS = {
    "solved": SOLVED, "done": SOLVED, "已解决": SOLVED, "解决": SOLVED,
    "ongoing": ONGOING, "仍在整改": ONGOING, "整改中": ONGOING, "未解决": ONGOING,
}


def parse_verdict(word: str | None) -> str | None:
    """``true|partly|false`` (or 属实/部分属实/不属实), any case; None when it is none of them."""
    return _VERDICT_WORDS.get((word or "").strip().lower())


def parse_followup_answer(word: str | None) -> str | None:
    """``solved|ongoing`` (or 已解决/仍在整改); None when it is neither."""
    return _FOLLOWUP_WORDS.get((word or "").strip().lower())


def _weekly_at(day: date, weekday: str, at: time, tz: ZoneInfo) -> datetime:
    """The ``weekday`` ``at`` of the Monday-to-Sunday week containing ``day``."""
    monday = day - timedelta(days=day.weekday())
    return datetime.combine(monday + timedelta(days=WEEKDAYS.index(weekday)), at, tzinfo=tz)


def next_weekly(now: datetime, weekday: str, at: time, tz: ZoneInfo) -> datetime:
    """The first ``weekday`` ``at`` strictly after ``now``."""
    candidate = _weekly_at(now.astimezone(tz).date(), weekday, at, tz)
    while candidate <= now:
        candidate = datetime.combine(candidate.date() + timedelta(days=7), at, tzinfo=tz)
    return candidate


def last_weekly_before(moment: datetime, weekday: str, at: time, tz: ZoneInfo) -> datetime:
    """The last ``weekday`` ``at`` strictly before ``moment``."""
    candidate = _weekly_at(moment.astimezone(tz).date(), weekday, at, tz)
    while candidate >= moment:
        candidate = datetime.combine(candidate.date() - timedelta(days=7), at, tzinfo=tz)
    return candidate


def verification_due(selected_at: datetime, round_due: datetime, due_day: str, due_time: time,
                     tz: ZoneInfo) -> datetime:
    """When the verification of an item chosen at ``selected_at`` for the roundup at
    ``round_due`` is due (see the module docstring)."""
    due = last_weekly_before(round_due, due_day, due_time, tz)
    return due if selected_at < due else round_due


def reminder_at(selected_at: datetime, due_at: datetime, remind_before_hours: int) -> datetime | None:
    """When the one reminder is said; None when the item was chosen after that point (the ask
    itself is fresh then)."""
    at = due_at - timedelta(hours=remind_before_hours)
    return at if selected_at < at else None


def in_office_hours(now: datetime, hours: OfficeHours, tz: ZoneInfo) -> bool:
    """A working day, between the office's start and end."""
    local = now.astimezone(tz)
    return hours.calendar.is_workday(local.date()) and hours.start <= local.time().replace(tzinfo=None) < hours.end


def followup_due(base: datetime, after_days: int, hours: OfficeHours, tz: ZoneInfo) -> datetime:
    """``after_days`` working days after ``base`` (a reply, or an "ongoing" answer), counted like
    deadlines: the day of ``base`` does not count, and it falls due at the end of office hours."""
    day, _ = hours.calendar.add_workdays(base.astimezone(tz).date(), after_days)
    return datetime.combine(day, hours.end, tzinfo=tz)


__all__ = [
    "FOLLOWUP_ANSWERS",
    "ONGOING",
    "SOLVED",
    "VERDICTS",
    "followup_due",
    "in_office_hours",
    "last_weekly_before",
    "next_weekly",
    "parse_followup_answer",
    "parse_verdict",
    "reminder_at",
    "verification_due",
]
