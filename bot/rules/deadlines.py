"""Deadlines, extensions, reminder ladders and quiet hours: pure rules, ``now`` always passed in.

Why pure: the scheduler tick and ``liuyan sweep --now`` pass the time in, which makes every rule
here testable and restart-proof (the database records which reminder keys were sent).

Local practice these rules follow: urgent items are handled the same working day (即收即办),
ordinary ones within 5 working days, complex ones within 10; extensions are added as further
working days and capped (15 by default). A deadline is the end of office hours (18:00 by default)
on its due day. Working days come from :mod:`bot.rules.workdays` (holidays and 调休 included);
a deadline whose counting touched a year the calendar does not know yet is *provisional*.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

from bot.rules.workdays import PACKAGE_CALENDAR, WorkCalendar

__all__ = [
    "Deadline",
    "DeadlinePolicy",
    "OfficeHours",
    "Priority",
    "QuietHours",
    "ReminderPoint",
    "REMINDER_POINT_FORMS",
    "ReminderSpec",
    "apply_supervision",
    "compute_deadline",
    "due_soon_until",
    "extension_allowed",
    "extension_refusal",
    "in_quiet_time",
    "is_overdue",
    "next_allowed_time",
    "overdue_repeat_due",
    "parse_priority",
    "parse_reminder_point",
    "priority_days",
    "reminder_points",
]

_UTC = UTC


def _require_aware(value: datetime, name: str) -> None:
    """Naive datetimes are ambiguous across timezones; refuse them loudly rather than guess."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")


def local_at(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """Wall-clock ``clock`` on ``day`` in ``tz`` (aware)."""
    return datetime.combine(day, clock.replace(tzinfo=None), tzinfo=tz)


# --------------------------------------------------------------------------- priority


class Priority(StrEnum):
    """How fast an item must be answered; the values are stored and used in the config."""

    URGENT = "urgent"
    ORDINARY = "ordinary"
    COMPLEX = "complex"


_PRIORITY_WORDS: dict[str, Priority] = {
    "urgent": Priority.URGENT,
    "u": Priority.URGENT,
    "紧急": Priority.URGENT,
    "ordinary": Priority.ORDINARY,
    "o": Priority.ORDINARY,
    "一般": Priority.ORDINARY,
    "complex": Priority.COMPLEX,
    "c": Priority.COMPLEX,
    "复杂": Priority.COMPLEX,
}


def parse_priority(text: str | None) -> Priority | None:
    """Officers type priorities in English, Chinese or by initial; None when not recognised."""
    if text is None:
        return None
    return _PRIORITY_WORDS.get(text.strip().lower())


# --------------------------------------------------------------------------- policy


@dataclass(frozen=True)
class OfficeHours:
    """When the office works: from ``start`` to ``end`` on the working days of ``calendar``.

    A deadline falls at ``end`` on its due day. The calendar rides along with the hours so that
    every rule that needs one (deadlines, reminder points, "due soon") gets the deployment's own.
    """

    start: time = time(9, 0)
    end: time = time(18, 0)
    calendar: WorkCalendar = PACKAGE_CALENDAR

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError(f"office hours: start {self.start} must be before end {self.end}")


@dataclass(frozen=True)
class DeadlinePolicy:
    """Working-day counts per priority and the extension cap (configurable per deployment)."""

    ordinary_days: int = 5
    complex_days: int = 10
    max_extension_days: int = 15
    hours: OfficeHours = OfficeHours()

    def __post_init__(self) -> None:
        for name in ("ordinary_days", "complex_days"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_extension_days < 0:
            raise ValueError(f"max_extension_days must be >= 0, got {self.max_extension_days}")


@dataclass(frozen=True)
class Deadline:
    """When an item is due; ``provisional`` when counting ran past the known calendar."""

    due: datetime
    provisional: bool


def priority_days(priority: Priority, policy: DeadlinePolicy) -> int:
    """Working days after the day of receipt for non-urgent priorities (urgent: 0)."""
    if priority is Priority.URGENT:
        return 0
    if priority is Priority.ORDINARY:
        return policy.ordinary_days
    if priority is Priority.COMPLEX:
        return policy.complex_days
    raise ValueError(f"unknown priority {priority!r}")


def compute_deadline(
    received_at: datetime,
    priority: Priority,
    policy: DeadlinePolicy,
    tz: ZoneInfo,
    extension_days: int = 0,
) -> Deadline:
    """The due instant (aware, in ``tz``) for an item received at ``received_at``.

    - URGENT: end of the day of receipt if that is a working day and the item came in before
      the end of office hours; otherwise end of the next working day.
    - ORDINARY / COMPLEX: end of the 5th / 10th working day after the day of receipt (the
      receipt day never counts, even if it is a working day).
    - ``extension_days`` further working days are added on top (for urgent: after its due day).
    """
    _require_aware(received_at, "received_at")
    if extension_days < 0:
        raise ValueError(f"extension_days must be >= 0, got {extension_days}")
    priority = Priority(priority)
    local = received_at.astimezone(tz)
    day = local.date()
    end = policy.hours.end
    cal = policy.hours.calendar

    if priority is Priority.URGENT:
        work, known = cal.lookup(day)
        if work and local.time() < end:
            due_day, provisional = day, not known
        else:
            due_day, provisional = cal.add_workdays(day, 1)
        if extension_days:
            due_day, more = cal.add_workdays(due_day, extension_days)
            provisional |= more
    else:
        due_day, provisional = cal.add_workdays(day, priority_days(priority, policy) + extension_days)

    return Deadline(due=local_at(due_day, end, tz), provisional=provisional)


def apply_supervision(due: datetime, supervised_at: datetime | None, factor: float,
                      hours: OfficeHours = OfficeHours(), tz: ZoneInfo | None = None) -> datetime:
    """The deadline of a supervised (督办) item: the *working time* that remained at
    ``supervised_at`` (office hours on working days, as deadlines count) times ``factor``, counted
    on from ``supervised_at``, in whole minutes (rounded up).

    Working time, not calendar time: half of "Friday 17:00 to Monday 18:00" is a few office hours
    on Monday, never 05:35 on a Sunday night; so the result always lies inside office hours.
    Written as a function of stored facts so a deadline recomputed later (priority change,
    extension) keeps the supervision applied: the item's deadline is always
    ``apply_supervision(compute_deadline(...), supervised_at, factor, hours, tz)``. A deadline
    already past when the item was supervised, or no supervision, leaves ``due`` as is; so does a
    span with no office time in it. ``tz`` (the office's timezone) defaults to ``due``'s.
    """
    _require_aware(due, "due")
    if supervised_at is None or due <= supervised_at:
        return due
    if not 0 < factor <= 1:
        raise ValueError(f"supervised factor must be in (0, 1], got {factor}")
    zone = tz or due.tzinfo
    found = _share_of_office_time(_working_segments(supervised_at, due, zone, hours), factor)  # type: ignore[arg-type]
    if found is None:
        return due
    point, segment_end = found
    whole = point.replace(second=0, microsecond=0)
    if whole < point:
        whole += timedelta(minutes=1)
    return min(whole, segment_end).astimezone(due.tzinfo)


def due_soon_until(now: datetime, tz: ZoneInfo, hours: OfficeHours = OfficeHours()) -> datetime:
    """The horizon of "due soon" (``/due``): the end of office hours on the next working day.

    So on a Friday afternoon "due soon" reaches Monday evening (or the make-up Saturday), and an
    item due tonight is always included.
    """
    _require_aware(now, "now")
    day, _ = hours.calendar.add_workdays(now.astimezone(tz).date(), 1)
    return local_at(day, hours.end, tz)


# --------------------------------------------------------------------------- extensions


def extension_refusal(
    current_extension: int, requested: int, policy: DeadlinePolicy
) -> Literal["not_positive", "over_cap"] | None:
    """Why an extension request is refused (a reason code for templates), or None if allowed."""
    if requested < 1:
        return "not_positive"
    if current_extension + requested > policy.max_extension_days:
        return "over_cap"
    return None


def extension_allowed(current_extension: int, requested: int, policy: DeadlinePolicy) -> int | None:
    """The new extension total if ``requested`` may be granted, else None (see the reason)."""
    if extension_refusal(current_extension, requested, policy) is not None:
        return None
    return current_extension + requested


def is_overdue(deadline: datetime, now: datetime) -> bool:
    """Overdue from the deadline instant on (a reply at exactly 18:00 is already late)."""
    _require_aware(deadline, "deadline")
    _require_aware(now, "now")
    return now >= deadline


# --------------------------------------------------------------------------- reminder ladder


_POINT_RE = re.compile(r"^\s*(\d{1,4})\s*(%|wd|h|m)\s*$", re.IGNORECASE)
ReminderKind = Literal["percent", "workdays", "hours", "minutes"]

_UNIT_KIND: dict[str, ReminderKind] = {"%": "percent", "wd": "workdays", "h": "hours", "m": "minutes"}
_KIND_UNIT = {v: k for k, v in _UNIT_KIND.items()}
#: What each form of a reminder point means, for error messages and the example config.
REMINDER_POINT_FORMS = (
    "'N%' (share of the working time, 1-99), 'Nwd' (working days before the deadline), "
    "'Nh' (hours before) or 'Nm' (minutes before), N up to 9999, e.g. '50%', '1wd', '2h', '30m'"
)


@dataclass(frozen=True)
class ReminderSpec:
    """One parsed rung of the ladder: ``N%`` of the working time, ``Nwd``, ``Nh`` or ``Nm`` before."""

    kind: ReminderKind
    amount: int

    @property
    def key(self) -> str:
        """Stable key a database records once the reminder is sent, e.g. ``before:50%``."""
        return f"before:{self}"

    def __str__(self) -> str:
        return f"{self.amount}{_KIND_UNIT[self.kind]}"


@dataclass(frozen=True)
class ReminderPoint:
    """When one reminder falls due.

    ``audience`` is ``"holder"`` for a claimed item and ``"group"`` for an unclaimed one (the
    whole regional chat is reminded). It is not part of ``key``, so claiming an item between
    two rungs never makes an already-sent rung fire again.
    """

    key: str
    at: datetime
    audience: Literal["holder", "group"] = "holder"


def parse_reminder_point(s: str) -> ReminderSpec:
    """Parse one ``reminders.before_deadline`` entry: ``"50%"``, ``"1wd"``, ``"2h"`` or ``"30m"``.

    The one parser of this setting: the config validates with it and the scheduler places the
    rungs with it, so every entry a loaded config holds is one the sweep understands. Case and
    spaces around the number are forgiven (``" 1WD "``, ``"50 %"``); ``str(spec)`` is the canonical
    form. Raises ValueError (its message says which forms exist) for anything else.
    """
    if not isinstance(s, str):
        raise ValueError(f"reminder point must be a string such as '50%' or '2h', got {s!r}")
    m = _POINT_RE.match(s)
    if m is None:
        raise ValueError(f"invalid reminder point {s!r}: expected {REMINDER_POINT_FORMS}")
    amount, kind = int(m.group(1)), _UNIT_KIND[m.group(2).lower()]
    if kind == "percent" and not 1 <= amount <= 99:
        raise ValueError(f"invalid reminder point {s!r}: a percentage must be between 1 and 99")
    if amount < 1:
        raise ValueError(f"invalid reminder point {s!r}: the amount must be at least 1")
    return ReminderSpec(kind=kind, amount=amount)


def _working_segments(
    start: datetime, end: datetime, tz: ZoneInfo, hours: OfficeHours
) -> list[tuple[datetime, datetime]]:
    """Office-hour intervals on working days within ``[start, end]``, in UTC."""
    segments: list[tuple[datetime, datetime]] = []
    day = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    while day <= last:
        if hours.calendar.is_workday(day):
            s = max(local_at(day, hours.start, tz).astimezone(_UTC), start)
            e = min(local_at(day, hours.end, tz).astimezone(_UTC), end)
            if s < e:
                segments.append((s, e))
        day += timedelta(days=1)
    return segments


def _fraction_point(
    received_at: datetime, deadline: datetime, percent: int, tz: ZoneInfo, hours: OfficeHours
) -> datetime:
    """The instant when ``percent`` of the *working hours* between receipt and deadline elapsed.

    Chosen over "half the working days" because it also works for urgent items (hours apart)
    and lands inside office hours. When the span holds no office time at all, fall back to
    the wall-clock fraction.
    """
    start, end = received_at.astimezone(_UTC), deadline.astimezone(_UTC)
    found = _share_of_office_time(_working_segments(start, end, tz, hours), percent / 100)
    if found is None:
        return (start + (end - start) * percent / 100).astimezone(tz)
    return found[0].astimezone(tz)


def _share_of_office_time(segments: list[tuple[datetime, datetime]],
                          share: float) -> tuple[datetime, datetime] | None:
    """The instant when ``share`` of the office time in ``segments`` has elapsed, with the end of
    the segment it falls in; None when the segments hold no office time."""
    total = sum((e - s for s, e in segments), timedelta())
    if total <= timedelta():
        return None
    target = total * share
    elapsed = timedelta()
    for s, e in segments:
        if elapsed + (e - s) >= target:
            return s + (target - elapsed), e
        elapsed += e - s
    return segments[-1][1], segments[-1][1]  # pragma: no cover - rounding guard


def reminder_points(
    received_at: datetime,
    deadline: datetime,
    claimed: bool,
    policy_points: list[str],
    tz: ZoneInfo,
    hours: OfficeHours = OfficeHours(),
) -> list[ReminderPoint]:
    """The reminders due for one item, in time order, each with a stable key.

    - ``N%``: when N% of the office hours (on working days) between receipt and deadline have
      passed; ``50%`` is the half-way reminder.
    - ``Nwd``: the deadline's clock time on the N-th working day before the deadline day.
    - ``Nh`` / ``Nm``: N hours / minutes (absolute time) before the deadline.

    Points at or before receipt are dropped (a 2-hour warning for an item received one hour
    before its deadline would only be noise); duplicate entries are kept once. Raises
    ValueError for an invalid entry.
    """
    _require_aware(received_at, "received_at")
    _require_aware(deadline, "deadline")
    audience: Literal["holder", "group"] = "holder" if claimed else "group"
    due_local = deadline.astimezone(tz)
    points: dict[str, ReminderPoint] = {}
    for raw in policy_points:
        spec = parse_reminder_point(raw)
        if spec.key in points:
            continue
        if spec.kind == "percent":
            at = _fraction_point(received_at, deadline, spec.amount, tz, hours)
        elif spec.kind == "workdays":
            day, _ = hours.calendar.add_workdays(due_local.date(), -spec.amount)
            at = local_at(day, due_local.time(), tz)
        else:
            before = timedelta(hours=spec.amount) if spec.kind == "hours" else timedelta(minutes=spec.amount)
            at = (deadline.astimezone(_UTC) - before).astimezone(tz)
        if received_at < at < deadline:
            points[spec.key] = ReminderPoint(key=spec.key, at=at, audience=audience)
    return sorted(points.values(), key=lambda p: (p.at, p.key))


# --------------------------------------------------------------------------- quiet hours


@dataclass(frozen=True)
class QuietHours:
    """No routine reminders from ``start`` to ``end`` (may wrap midnight); start == end: none."""

    start: time = time(21, 0)
    end: time = time(8, 0)


def _quiet_clock(t: time, quiet: QuietHours) -> bool:
    """Whether wall-clock ``t`` falls in the quiet window ``[start, end)``."""
    if quiet.start == quiet.end:
        return False
    if quiet.start < quiet.end:
        return quiet.start <= t < quiet.end
    return t >= quiet.start or t < quiet.end  # wraps midnight


def in_quiet_time(
    now: datetime,
    quiet: QuietHours,
    tz: ZoneInfo,
    workdays_only: bool = True,
    calendar: WorkCalendar = PACKAGE_CALENDAR,
) -> bool:
    """Whether routine messages should wait: inside the quiet window, or (``workdays_only``)
    on a non-working day such as a weekend or public holiday."""
    _require_aware(now, "now")
    local = now.astimezone(tz)
    if workdays_only and not calendar.is_workday(local.date()):
        return True
    return _quiet_clock(local.time().replace(tzinfo=None), quiet)


def next_allowed_time(
    now: datetime,
    quiet: QuietHours,
    tz: ZoneInfo,
    workdays_only: bool = True,
    calendar: WorkCalendar = PACKAGE_CALENDAR,
) -> datetime:
    """The earliest instant ``>= now`` that is not quiet (``now`` if allowed), in ``tz``."""
    _require_aware(now, "now")
    candidate = now.astimezone(tz)
    for _ in range(1000):  # a working day always comes within weeks; this is only a safety bound
        if not in_quiet_time(candidate, quiet, tz, workdays_only, calendar):
            return candidate
        day = candidate.date()
        if workdays_only and not calendar.is_workday(day):
            candidate = local_at(day + timedelta(days=1), time(0, 0), tz)
            continue
        # Inside the clock window: jump to its end (today's end, or tomorrow's if it wraps
        # and we are in the evening part).
        t = candidate.time().replace(tzinfo=None)
        end_day = day + timedelta(days=1) if (quiet.start > quiet.end and t >= quiet.start) else day
        candidate = local_at(end_day, quiet.end, tz)
    raise RuntimeError("no non-quiet time found")  # pragma: no cover


def overdue_repeat_due(
    last_sent: datetime | None,
    now: datetime,
    tz: ZoneInfo,
    at: time = time(9, 30),
    calendar: WorkCalendar = PACKAGE_CALENDAR,
) -> bool:
    """Whether to repeat an overdue notice now: once per working day, from ``at`` on.

    True when nothing was sent yet; otherwise only on a working day, once ``now`` has reached
    today's ``at`` and the last notice went out on an earlier day (a first notice that only went
    out at 08:00 after a night's quiet hours is not repeated at 09:30 the same morning).
    """
    _require_aware(now, "now")
    if last_sent is None:
        return True
    _require_aware(last_sent, "last_sent")
    local = now.astimezone(tz)
    today = local.date()
    if not calendar.is_workday(today):
        return False
    today_at = local_at(today, at, tz)
    return local >= today_at and last_sent.astimezone(tz).date() < today
