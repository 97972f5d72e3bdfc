"""Chinese working days (工作日), including holidays and make-up working days (调休).

Why this module exists: deadlines for citizens' messages are counted in *working* days, and
China moves weekends around public holidays every year (e.g. Sat 2026-10-10 is a working day,
Thu 2026-10-01 is not). The State Council publishes each year's arrangement around November,
and the ``chinesecalendar`` package ships it.

MAINTENANCE: upgrade ``chinesecalendar`` every December (``pip install -U chinesecalendar``)
once it includes the next year. Until then, dates in an unknown year fall back to
Monday–Friday and every result that relied on such a date is flagged *provisional*, so
callers can show "deadline provisional" and recompute after the upgrade.

We do not use ``chinese_calendar.find_workday``: it counts a non-working start day as day 0,
whereas our rule is "the n-th working day after d; d itself never counts".

Everything here is pure: no clock, no I/O. Results are cached per date.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

import chinese_calendar

__all__ = [
    "add_workdays",
    "is_known",
    "is_workday",
    "next_workday",
    "prev_workday",
    "workdays_between",
]

_ONE_DAY = timedelta(days=1)


def _as_date(d: date) -> date:
    """Accept a ``datetime`` too (its own wall-clock date), so caches key on plain dates."""
    if isinstance(d, datetime):
        return d.date()
    if not isinstance(d, date):
        raise TypeError(f"expected a date, got {type(d).__name__}")
    return d


@lru_cache(maxsize=8192)
def _lookup(d: date) -> tuple[bool, bool]:
    """(is working day, covered by the official calendar) for one plain date."""
    try:
        return bool(chinese_calendar.is_workday(d)), True
    except NotImplementedError:
        # Year not (yet) published in chinesecalendar: assume an ordinary Mon–Fri week.
        return d.weekday() < 5, False


def is_workday(d: date) -> bool:
    """Whether ``d`` is a working day in mainland China (Mon–Fri guess for unknown years)."""
    return _lookup(_as_date(d))[0]


def is_known(d: date) -> bool:
    """Whether the installed official calendar covers ``d`` (False means a Mon–Fri guess)."""
    return _lookup(_as_date(d))[1]


def add_workdays(d: date, n: int) -> tuple[date, bool]:
    """The ``n``-th working day after ``d`` and whether the answer is provisional.

    ``d`` itself never counts, whether or not it is a working day. ``n == 0`` gives ``d`` when
    it is a working day, else the next working day. A negative ``n`` counts backwards (the
    ``|n|``-th working day before ``d``), which reminder points use. The flag is True when any
    day consulted lies outside the known calendar.
    """
    d = _as_date(d)
    if n == 0:
        provisional = False
        while True:
            work, known = _lookup(d)
            provisional |= not known
            if work:
                return d, provisional
            d += _ONE_DAY
    step = _ONE_DAY if n > 0 else -_ONE_DAY
    remaining = abs(n)
    provisional = False
    while remaining:
        d += step
        work, known = _lookup(d)
        provisional |= not known
        if work:
            remaining -= 1
    return d, provisional


def next_workday(d: date) -> date:
    """The first working day strictly after ``d``."""
    return add_workdays(d, 1)[0]


def prev_workday(d: date) -> date:
    """The last working day strictly before ``d``."""
    return add_workdays(d, -1)[0]


def workdays_between(start: date, end: date) -> int:
    """Number of working days in the half-open span ``(start, end]``; 0 when ``end <= start``.

    "Received Monday, replied Tuesday" is 1 working day, which is how reply times are reported.
    """
    start, end = _as_date(start), _as_date(end)
    count = 0
    d = start + _ONE_DAY
    while d <= end:
        if _lookup(d)[0]:
            count += 1
        d += _ONE_DAY
    return count
