"""Chinese working days (工作日), including holidays and make-up working days (调休).

Why this module exists: deadlines for citizens' messages are counted in *working* days, and
China moves weekends around public holidays every year (e.g. Sat 2026-10-10 is a working day,
Thu 2026-10-01 is not). The State Council publishes each year's arrangement around November,
and the ``chinesecalendar`` package ships it some time later.

A :class:`WorkCalendar` is that package plus the deployment's own days (``[calendar] holidays``
and ``workdays`` in the config, typed from the State Council's notice): the config's entries win
over the package, also for years it knows, and a year counts as *known* when the package has it
or the config lists days of it. Dates of a year nobody knows fall back to Monday–Friday, and
every result that relied on such a date is flagged *provisional*, so callers can show "deadline
provisional" and recompute once the year is known (:func:`unknown_days` finds them ahead of time).

MAINTENANCE, once a year: when the notice is out, type its days into ``[calendar]``, or upgrade
``chinesecalendar`` (``pip install -U chinesecalendar``) once it includes the next year.

We do not use ``chinese_calendar.find_workday``: it counts a non-working start day as day 0,
whereas our rule is "the n-th working day after d; d itself never counts".

Everything here is pure: no clock, no I/O, no module state beyond caches of the package's answers.
The module-level functions use :data:`PACKAGE_CALENDAR` (the package alone).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property, lru_cache

import chinese_calendar

__all__ = [
    "PACKAGE_CALENDAR",
    "WorkCalendar",
    "add_workdays",
    "is_known",
    "is_workday",
    "next_workday",
    "prev_workday",
    "unknown_days",
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
def _package_lookup(d: date) -> tuple[bool, bool]:
    """(is working day, covered by the installed package) for one plain date."""
    try:
        return bool(chinese_calendar.is_workday(d)), True
    except NotImplementedError:
        # Year not (yet) published in chinesecalendar: assume an ordinary Mon–Fri week.
        return d.weekday() < 5, False


@dataclass(frozen=True)
class WorkCalendar:
    """The working days of a deployment: the package's, overridden by the config's own days.

    ``holidays`` are days off that would otherwise be working days; ``workdays`` are make-up
    working days (调休) that fall on a weekend. A day in both is a config error (the config
    refuses it); here ``holidays`` would win.
    """

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        # accept any iterable of dates (a config's tuples), keep frozensets: hashable, fast lookups
        object.__setattr__(self, "holidays", frozenset(_as_date(d) for d in self.holidays))
        object.__setattr__(self, "workdays", frozenset(_as_date(d) for d in self.workdays))

    @cached_property
    def years(self) -> frozenset[int]:
        """The years the config lists days of: known, whatever the package says."""
        return frozenset(d.year for d in self.holidays | self.workdays)

    def lookup(self, d: date) -> tuple[bool, bool]:
        """(is working day, is known) for ``d``."""
        d = _as_date(d)
        if d in self.holidays:
            return False, True
        if d in self.workdays:
            return True, True
        work, known = _package_lookup(d)
        return work, known or d.year in self.years

    def is_workday(self, d: date) -> bool:
        """Whether ``d`` is a working day in mainland China (Mon–Fri guess for unknown years)."""
        return self.lookup(d)[0]

    def is_known(self, d: date) -> bool:
        """Whether the package or the config covers ``d``'s year (False means a Mon–Fri guess)."""
        return self.lookup(d)[1]

    def add_workdays(self, d: date, n: int) -> tuple[date, bool]:
        """The ``n``-th working day after ``d`` and whether the answer is provisional.

        ``d`` itself never counts, whether or not it is a working day. ``n == 0`` gives ``d`` when
        it is a working day, else the next working day. A negative ``n`` counts backwards (the
        ``|n|``-th working day before ``d``), which reminder points use. The flag is True when any
        day consulted lies outside the known calendar.
        """
        d = _as_date(d)
        lookup = self.lookup
        if n == 0:
            provisional = False
            while True:
                work, known = lookup(d)
                provisional |= not known
                if work:
                    return d, provisional
                d += _ONE_DAY
        step = _ONE_DAY if n > 0 else -_ONE_DAY
        remaining = abs(n)
        provisional = False
        while remaining:
            d += step
            work, known = lookup(d)
            provisional |= not known
            if work:
                remaining -= 1
        return d, provisional

    def next_workday(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        return self.add_workdays(d, 1)[0]

    def prev_workday(self, d: date) -> date:
        """The last working day strictly before ``d``."""
        return self.add_workdays(d, -1)[0]

    def workdays_between(self, start: date, end: date) -> int:
        """Number of working days in the half-open span ``(start, end]``; 0 when ``end <= start``.

        "Received Monday, replied Tuesday" is 1 working day, which is how reply times are reported.
        """
        start, end = _as_date(start), _as_date(end)
        count = 0
        d = start + _ONE_DAY
        while d <= end:
            if self.lookup(d)[0]:
                count += 1
            d += _ONE_DAY
        return count


#: The installed package's calendar alone (no days from a config).
PACKAGE_CALENDAR = WorkCalendar()


def unknown_days(today: date, n: int, calendar: WorkCalendar = PACKAGE_CALENDAR) -> list[date]:
    """The days from ``today`` through ``today + n`` whose year the calendar does not know.

    Deadlines counted on such days are Mon–Fri guesses; start-up and ``doctor`` warn about them
    (``n = 30``) so the year's days are typed into the config before they matter.
    """
    today = _as_date(today)
    days = (today + timedelta(days=i) for i in range(max(n, -1) + 1))
    return [d for d in days if not calendar.is_known(d)]


#: How far ahead start-up and ``liuyan doctor`` look for a year the calendar does not know.
LOOKAHEAD_DAYS = 30


def unknown_years(today: date, calendar: WorkCalendar = PACKAGE_CALENDAR,
                  n: int = LOOKAHEAD_DAYS) -> list[int]:
    """The years, in order, that the next ``n`` days reach and the calendar does not know."""
    return sorted({d.year for d in unknown_days(today, n, calendar)})


def is_workday(d: date) -> bool:
    """Whether ``d`` is a working day by the package alone (Mon–Fri guess for unknown years)."""
    return PACKAGE_CALENDAR.is_workday(d)


def is_known(d: date) -> bool:
    """Whether the installed package covers ``d`` (False means a Mon–Fri guess)."""
    return PACKAGE_CALENDAR.is_known(d)


def add_workdays(d: date, n: int) -> tuple[date, bool]:
    """:meth:`WorkCalendar.add_workdays` by the package alone."""
    return PACKAGE_CALENDAR.add_workdays(d, n)


def next_workday(d: date) -> date:
    """The first working day strictly after ``d`` (package alone)."""
    return PACKAGE_CALENDAR.next_workday(d)


def prev_workday(d: date) -> date:
    """The last working day strictly before ``d`` (package alone)."""
    return PACKAGE_CALENDAR.prev_workday(d)


def workdays_between(start: date, end: date) -> int:
    """:meth:`WorkCalendar.workdays_between` by the package alone."""
    return PACKAGE_CALENDAR.workdays_between(start, end)
