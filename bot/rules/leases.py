"""Claim leases in working hours (pure): when a claim nobody acted on is nudged, and when it lapses.

A lease counts office hours (``OfficeHours.start`` to ``end``) on working days of the calendar
only: a claim taken on Friday evening has not aged over the weekend.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.rules.deadlines import OfficeHours, local_at

_UTC = ZoneInfo("UTC")
_MAX_DAYS = 3660  # a lease longer than ten years of working days is no lease


def add_working_hours(start: datetime, hours: float, tz: ZoneInfo, office: OfficeHours) -> datetime:
    """The instant when ``hours`` office hours have passed since ``start``."""
    left = timedelta(hours=hours)
    day = start.astimezone(tz).date()
    for _ in range(_MAX_DAYS):
        if office.calendar.is_workday(day):
            opens = max(local_at(day, office.start, tz), start)
            closes = local_at(day, office.end, tz)
            if opens < closes:
                if closes - opens >= left:
                    return (opens + left).astimezone(_UTC)
                left -= closes - opens
        day += timedelta(days=1)
    raise ValueError(f"no {hours} working hours within {_MAX_DAYS} days of {start}")


def lease_points(since: datetime, lease_hours: float, tz: ZoneInfo, office: OfficeHours) -> tuple[datetime, datetime]:
    """(nudge at, lapse at) of a claim whose last sign of work was at ``since``."""
    return (add_working_hours(since, lease_hours, tz, office),
            add_working_hours(since, 2 * lease_hours, tz, office))
