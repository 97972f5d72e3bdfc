"""Handling figures per region (and per unit, a department, side by side) for a period: what the weekly roundup, the monthly assessment and the
live dashboard show.

Computed with a few SQL aggregates (``GROUP BY region``) over indexed columns, never by loading items
into Python: a weekly roundup over a million stored items reads only the period's index ranges.

Which items count where (``start <= t < end``, everything "as of ``now``"):

- **received**: items received in the period (``received_at`` in the period). Unrouted items (no
  region) count in the total row only; items of a region no longer in the config get a row of their
  own, named by their code, after the configured regions.
- **replied**: of the received ones, those replied by ``now`` (``replied_at <= now``).
  ``reply_rate = replied / received``.
- **mean_workdays_to_reply**: over those replied ones, the working days from the day of receipt to
  the day of the reply, both in the deployment's timezone, counted as
  :meth:`bot.rules.workdays.WorkCalendar.workdays_between` does: the span ``(received day, reply day]``, so a reply
  on the day of receipt is 0 and "received Monday, replied Tuesday" is 1. Holidays and make-up
  working days (调休) come from chinesecalendar.
- **due**: items whose deadline fell in the period and has passed: ``start <= deadline <
  min(end, now)``, except history items never replied (imported from the office's past, they are on
  no one's clock; those replied count, on time or not, as they were). (A period's on-time rate is about the deadlines that fell in it; a message received
  on the period's last day is mostly due in the next one.)
- **replied_on_time**: of the due ones, those replied by their deadline (``replied_at <= deadline``
  and ``replied_at <= now``). ``on_time_rate = replied_on_time / due``, as petition offices compute
  it (docs/domain.md, "Rates").
- **overdue**: of the due ones, those not replied by their deadline: replied late, or still not
  replied at ``now``. So ``due == replied_on_time + overdue`` always.
- **rated / satisfied / basically_satisfied / unsatisfied**: of the received ones, those the citizen
  rated by ``now`` (``rated_at <= now``). ``satisfaction_rate = (satisfied + basically_satisfied) /
  rated`` (docs/domain.md, "Rates").

Every rate is ``None`` when its denominator is 0 (no data is not 0%).

The local day of a stored UTC time is taken in SQL: PostgreSQL converts with the timezone's rules
(``AT TIME ZONE``); SQLite adds the zone's UTC offset at the period's start, which is exact for zones
without daylight saving time, such as Asia/Shanghai.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from bot.config import Config
from bot.rules.workdays import WorkCalendar
from storage.models import Event, Item, live_items

__all__ = [
    "PeriodFigures",
    "RATINGS",
    "RegionFigures",
    "compute_figures",
    "rate",
    "render_chart_png",
]

RATINGS = ("satisfied", "basically_satisfied", "unsatisfied")


@dataclass(frozen=True)
class RegionFigures:
    """One region's figures for a period (``code`` None: the total row of all items)."""

    code: str | None
    name: str
    received: int
    replied: int
    due: int
    replied_on_time: int
    overdue: int
    reply_rate: float | None
    on_time_rate: float | None
    mean_workdays_to_reply: float | None
    rated: int
    satisfied: int
    basically_satisfied: int
    unsatisfied: int
    satisfaction_rate: float | None
    lapsed: int = 0  # claims that lapsed back to unclaimed in the period (claim leases)


@dataclass(frozen=True)
class PeriodFigures:
    """Figures of every configured region (config order, then unknown codes) and the total."""

    start: datetime
    end: datetime
    regions: tuple[RegionFigures, ...]
    total: RegionFigures


def rate(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator``, or None when there is nothing to divide by."""
    return numerator / denominator if denominator else None


@dataclass
class _Counts:
    received: int = 0
    replied: int = 0
    due: int = 0
    on_time: int = 0
    rated: int = 0
    satisfied: int = 0
    basically: int = 0
    unsatisfied: int = 0
    workdays: int = 0
    workdays_n: int = 0
    lapsed: int = 0

    def add(self, other: _Counts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def freeze(self, code: str | None, name: str) -> RegionFigures:
        return RegionFigures(
            code=code,
            name=name,
            received=self.received,
            replied=self.replied,
            due=self.due,
            replied_on_time=self.on_time,
            overdue=self.due - self.on_time,
            reply_rate=rate(self.replied, self.received),
            on_time_rate=rate(self.on_time, self.due),
            mean_workdays_to_reply=(self.workdays / self.workdays_n) if self.workdays_n else None,
            rated=self.rated,
            satisfied=self.satisfied,
            basically_satisfied=self.basically,
            unsatisfied=self.unsatisfied,
            satisfaction_rate=rate(self.satisfied + self.basically, self.rated),
            lapsed=self.lapsed,
        )


def _count(cond: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def _local_day(session: Session, column: Any, config: Config, at: datetime) -> Any:
    """SQL for the deployment-local calendar day of a stored (naive UTC) time."""
    if session.get_bind().dialect.name == "postgresql":
        tz = config.schedule.timezone
        return func.date(func.timezone(literal(tz), func.timezone(literal("UTC"), column)))
    offset = at.astimezone(config.schedule.tz).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    return func.date(column, literal(f"{minutes:+d} minutes"))


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


@lru_cache(maxsize=65536)
def _workdays(received: date, replied: date, calendar: WorkCalendar) -> int:
    return calendar.workdays_between(received, replied)


def compute_figures(session: Session, config: Config, start: datetime, end: datetime,
                    now: datetime) -> PeriodFigures:
    """Per-region figures of the period ``[start, end)`` as of ``now`` (see the module's docstring
    for exactly which items count in each figure)."""
    for name, value in (("start", start), ("end", end), ("now", now)):
        if value.tzinfo is None:
            raise ValueError(f"{name} must be timezone-aware")
    counts: dict[str | None, _Counts] = defaultdict(_Counts)

    replied = and_(Item.replied_at.is_not(None), Item.replied_at <= now)  # type: ignore[union-attr]
    rated = and_(Item.rating.is_not(None), Item.rated_at.is_not(None), Item.rated_at <= now)  # type: ignore[union-attr]
    in_period = and_(Item.received_at >= start, Item.received_at < end)
    received_rows = session.execute(
        select(
            Item.region,
            func.count(),
            _count(replied),
            _count(rated),
            _count(and_(rated, Item.rating == "satisfied")),
            _count(and_(rated, Item.rating == "basically_satisfied")),
            _count(and_(rated, Item.rating == "unsatisfied")),
        ).where(in_period).group_by(Item.region)
    )
    for region, n, n_replied, n_rated, n_sat, n_basic, n_unsat in received_rows:
        c = counts[region]
        c.received, c.replied, c.rated = int(n), int(n_replied), int(n_rated)
        c.satisfied, c.basically, c.unsatisfied = int(n_sat), int(n_basic), int(n_unsat)

    due_until = min(end, now)
    if due_until > start:
        due_rows = session.execute(
            select(
                Item.region,
                func.count(),
                _count(and_(replied, Item.replied_at <= Item.deadline)),
            ).where(Item.deadline >= start, Item.deadline < due_until,  # type: ignore[operator]
                    or_(live_items(), Item.replied_at.is_not(None)))  # type: ignore[union-attr]
            .group_by(Item.region)
        )
        for region, n_due, n_on_time in due_rows:
            c = counts[region]
            c.due, c.on_time = int(n_due), int(n_on_time)

    received_day = _local_day(session, Item.received_at, config, start)
    replied_day = _local_day(session, Item.replied_at, config, start)
    day_rows = session.execute(
        select(Item.region, received_day, replied_day, func.count())
        .where(in_period, replied)
        .group_by(Item.region, received_day, replied_day)
    )
    for region, got, answered, n in day_rows:
        c = counts[region]
        c.workdays += _workdays(_as_date(got), _as_date(answered), config.calendar) * int(n)
        c.workdays_n += int(n)

    lapse_rows = session.execute(
        select(Item.region, func.count()).join(Event, Event.item_id == Item.id)  # type: ignore[arg-type]
        .where(Event.action == "released", Event.at >= start, Event.at < end).group_by(Item.region))
    for region, n in lapse_rows:
        counts[region].lapsed = int(n)

    return _assemble(config, start, end, counts)


def _assemble(config: Config, start: datetime, end: datetime,
              counts: dict[str | None, _Counts]) -> PeriodFigures:
    total = _Counts()
    for c in counts.values():
        total.add(c)
    rows: list[RegionFigures] = []
    known = set()
    for region in config.targets:  # units (departments) rank beside regions
        known.add(region.code)
        rows.append(counts.get(region.code, _Counts()).freeze(region.code, region.name))
    for code in sorted(k for k in counts if k is not None and k not in known):
        rows.append(counts[code].freeze(code, code))
    return PeriodFigures(start=start, end=end, regions=tuple(rows),
                         total=total.freeze(None, total_name(config.language)))


def total_name(lang: str) -> str:
    """The total row's name in the deployment's language (a catalogue string)."""
    from bot.reports.text import catalogue_text

    return catalogue_text("report.total_plain", lang)


def render_chart_png(figures: PeriodFigures, lang: str = "zh") -> bytes:
    """The per-region bar chart of ``figures`` as PNG bytes (see :mod:`bot.reports.chart`)."""
    from bot.reports.chart import render_chart_png as _render

    return _render(figures, lang)


def iter_rows(figures: PeriodFigures, *, with_total: bool = True) -> Iterable[RegionFigures]:
    """The region rows, then the total row."""
    yield from figures.regions
    if with_total:
        yield figures.total
