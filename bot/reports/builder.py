"""The weekly roundup and the monthly report: a structured :class:`Report`, its Telegram summary and
its full HTML document.

- **Weekly roundup** (one Monday-to-Sunday week): totals and per-region figures
  (:mod:`bot.reports.figures`), the week's hot issues (:mod:`bot.reports.hot_issues`, over the
  week's items only), key items (:mod:`bot.reports.key_items`), and the overdue list.
- **Monthly report** (one calendar month): the per-region ranking for the annual assessment, plus
  totals and the overdue list. No clustering: the assessment ranks handling, and a month of a large
  deployment is too many messages to segment within the report's time budget.

The overdue list is of *now*: every item not replied whose deadline has passed, whenever it was
received (oldest deadline first) — what needs chasing today, unlike the period's ``overdue`` figure
(deadlines of the period not met; see :mod:`bot.reports.figures`).

Titles shown in reports are masked like group cards (the leaders' chat is a group).
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, literal, select
from sqlmodel import Session

from bot.config import Config
from bot.render import TEXT_LIMIT, Renderer, visible_length
from bot.reports.categories import CategoryCount, category_counts
from bot.reports.figures import PeriodFigures, RegionFigures, compute_figures
from bot.reports.hot_issues import BODY_PREFIX, HotIssue, Message, hot_issues
from bot.reports.key_items import Candidate, KeyItem, select_key_items
from bot.reports.method import method_extras
from bot.rules.masking import mask_personal_numbers
from bot.rules.states import OPEN_STATUSES
from storage.models import Item, live_items

__all__ = [
    "HotIssueEntry",
    "MONTHLY",
    "OverdueEntry",
    "Period",
    "Report",
    "WEEKLY",
    "build_report",
    "monthly_period",
    "rank_regions",
    "render_full_html",
    "render_summary",
    "weekly_period",
]

WEEKLY = "weekly"
MONTHLY = "monthly"
KINDS = (WEEKLY, MONTHLY)

HOT_ISSUES_KEPT = 30  # in the full report; the Telegram summary shows fewer
OVERDUE_KEPT = 200


@dataclass(frozen=True)
class Period:
    """A report's period ``[start, end)`` in the deployment's timezone; ``label`` names it
    (``2026-W41`` for an ISO week, ``2026-10`` for a month)."""

    kind: str
    label: str
    start: datetime
    end: datetime

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(seconds=1)).date()


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=tz)


def week_of(day: date, tz: ZoneInfo) -> Period:
    """The Monday-to-Sunday week containing ``day``."""
    monday = day - timedelta(days=day.weekday())
    year, week, _ = monday.isocalendar()
    return Period(WEEKLY, f"{year}-W{week:02d}", _midnight(monday, tz), _midnight(monday + timedelta(days=7), tz))


def month_of(day: date, tz: ZoneInfo) -> Period:
    """The calendar month containing ``day``."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return Period(MONTHLY, f"{first:%Y-%m}", _midnight(first, tz), _midnight(following, tz))


def weekly_period(at: datetime, tz: ZoneInfo) -> Period:
    """The last whole Monday-to-Sunday week before the week containing ``at``."""
    local = at.astimezone(tz).date()
    return week_of(local - timedelta(days=local.weekday() + 7), tz)


def monthly_period(at: datetime, tz: ZoneInfo) -> Period:
    """The calendar month before the one containing ``at``."""
    local = at.astimezone(tz).date()
    return month_of(local.replace(day=1) - timedelta(days=1), tz)


def period_for(kind: str, at: datetime, tz: ZoneInfo) -> Period:
    if kind == WEEKLY:
        return weekly_period(at, tz)
    if kind == MONTHLY:
        return monthly_period(at, tz)
    raise ValueError(f"unknown report kind {kind!r} (weekly or monthly)")


@dataclass(frozen=True)
class HotIssueEntry:
    """A hot issue as reports show it: masked representative title, places by name."""

    issue: HotIssue
    title: str
    places: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class KeyEntry:
    item: KeyItem
    title: str
    region_name: str | None


@dataclass(frozen=True)
class OverdueEntry:
    id: int
    title: str
    region_name: str | None
    deadline: datetime
    status: str
    holder: str | None
    supervised: bool


@dataclass(frozen=True)
class Report:
    period: Period
    now: datetime
    figures: PeriodFigures
    ranking: tuple[RegionFigures, ...]
    hot_issues: tuple[HotIssueEntry, ...] = ()
    key_items: tuple[KeyEntry, ...] = ()
    overdue: tuple[OverdueEntry, ...] = ()
    overdue_total: int = 0
    sensitive_total: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    categories: tuple[CategoryCount, ...] = ()  # the period's categories, most first

    @property
    def rising_categories(self) -> tuple[CategoryCount, ...]:
        return tuple(c for c in self.categories if c.rising)

    @property
    def kind(self) -> str:
        return self.period.kind

    @property
    def file_stem(self) -> str:
        return f"{self.period.kind}-{self.period.label}"


def rank_regions(regions: Sequence[RegionFigures]) -> tuple[RegionFigures, ...]:
    """The assessment's ranking: on-time rate, then reply rate, then satisfaction rate (higher
    first; a region without data ranks after those with), then fewer overdue, then shorter mean
    handling time, then the name."""

    def high(x: float | None) -> tuple[int, float]:
        return (1, 0.0) if x is None else (0, -x)

    def low(x: float | None) -> tuple[int, float]:
        return (1, 0.0) if x is None else (0, x)

    return tuple(sorted(regions, key=lambda r: (
        high(r.on_time_rate), high(r.reply_rate), high(r.satisfaction_rate), r.overdue,
        low(r.mean_workdays_to_reply), r.name)))


def build_report(session: Session, config: Config, period: Period, now: datetime) -> Report:
    """Everything a report shows, as of ``now``."""
    figures = compute_figures(session, config, period.start, period.end, now)
    names = config.target_names
    overdue, overdue_total = _overdue(session, names, now)
    sensitive_total = session.execute(
        select(func.count()).where(Item.received_at >= period.start, Item.received_at < period.end,
                                   Item.sensitive == True)  # noqa: E712
    ).scalar_one()
    extra = method_extras(session, config, period.kind, period.start, period.end, now)
    report = Report(period=period, now=now, figures=figures, ranking=rank_regions(figures.regions),
                    overdue=overdue, overdue_total=int(overdue_total), sensitive_total=int(sensitive_total),
                    extra=extra)
    if period.kind != WEEKLY:
        return report
    hot, keys = _hot_and_key(session, period, names)
    return dataclasses.replace(report, hot_issues=hot, key_items=keys,
                               categories=category_counts(session, period.start, period.end))


def _overdue(session: Session, names: dict[str, str], now: datetime) -> tuple[tuple[OverdueEntry, ...], int]:
    # coalesce(): on SQLite a bare "deadline < now" makes the planner walk the deadline index over
    # nearly every item ever stored; the open statuses are the selective part (a few percent).
    # A composite index on (status, deadline) would serve both databases best.
    deadline_passed = func.coalesce(Item.deadline, literal(now, Item.deadline.type)) < now  # type: ignore[attr-defined]
    cond = (Item.status.in_([str(s) for s in OPEN_STATUSES]), deadline_passed, live_items())  # type: ignore[attr-defined]
    rows = session.execute(
        select(Item.id, Item.title, Item.region, Item.deadline, Item.status, Item.claimed_by_name,
               Item.supervised, func.count().over().label("total"))
        .where(*cond).order_by(Item.deadline, Item.id).limit(OVERDUE_KEPT)  # type: ignore[arg-type]
    ).all()
    total = rows[0][-1] if rows else 0
    entries = tuple(
        OverdueEntry(id=i, title=mask_personal_numbers(title or ""), region_name=names.get(region) if region else None,
                     deadline=deadline, status=status, holder=holder, supervised=bool(supervised))
        for i, title, region, deadline, status, holder, supervised, _ in rows
    )
    return entries, int(total)


def key_items_between(session: Session, config: Config, period: Period) -> tuple[KeyEntry, ...]:
    """The key items of the items received in ``period`` (what a roundup of it would show)."""
    return _hot_and_key(session, period, config.target_names)[1]


def _hot_and_key(session: Session, period: Period,
                 names: dict[str, str]) -> tuple[tuple[HotIssueEntry, ...], tuple[KeyEntry, ...]]:
    rows = session.execute(
        select(Item.id, Item.title, func.substr(Item.body, 1, BODY_PREFIX), Item.region, Item.author,
               Item.likes, Item.received_at, Item.sensitive, Item.sensitive_score,
               Item.sensitive_category, Item.status, Item.supervised)
        .where(Item.received_at >= period.start, Item.received_at < period.end)
        .order_by(Item.received_at, Item.id)  # type: ignore[arg-type]
    ).all()
    messages = [Message(id=r[0], title=r[1] or "", body=r[2] or "", region=r[3], author=r[4],
                        likes=r[5] or 0, received_at=r[6]) for r in rows]
    issues = hot_issues(messages, detailed=HOT_ISSUES_KEPT)
    group_of: dict[int, int] = {}
    people: dict[int, int] = {}
    for n, issue in enumerate(issues):
        people[n] = issue.people
        for item_id in issue.item_ids:
            group_of[item_id] = n
    candidates = [Candidate(id=r[0], title=r[1] or "", region=r[3], received_at=r[6], likes=r[5] or 0,
                            sensitive=bool(r[7]), sensitive_score=float(r[8] or 0.0),
                            sensitive_category=r[9], status=r[10], supervised=bool(r[11])) for r in rows]
    keys = select_key_items(candidates, group_of, people)
    hot = tuple(
        HotIssueEntry(issue=h, title=mask_personal_numbers(h.representative_title),
                      places=tuple((names.get(code, code) if code else "", n) for code, n in h.places))
        for h in issues[:HOT_ISSUES_KEPT]
    )
    key_entries = tuple(KeyEntry(item=k, title=mask_personal_numbers(k.candidate.title),
                                 region_name=names.get(k.candidate.region) if k.candidate.region else None)
                        for k in keys)
    return hot, key_entries


# ---------------------------------------------------------------------------------- rendering

#: (hot issues, key items, overdue items, region rows) shown in the Telegram summary, tried in order
#: until the message fits Telegram's 4,096 characters.
_SUMMARY_LIMITS = ((5, 5, 10, 99), (5, 5, 5, 99), (3, 3, 3, 99), (3, 3, 0, 99), (0, 0, 0, 99), (0, 0, 0, 0))


def render_summary(report: Report, renderer: Renderer, lang: str | None = None) -> str:
    """The report as one Telegram HTML message (within 4,096 characters after entity parsing)."""
    template = f"{report.kind}.html.j2"
    text = ""
    for hot, keys, overdue, regions in _SUMMARY_LIMITS:
        text = renderer.template(template, lang, r=report, hot=report.hot_issues[:hot],
                                 keys=report.key_items[:keys], overdue=report.overdue[:overdue],
                                 regions=_region_rows(report)[:regions])
        if visible_length(text) <= TEXT_LIMIT:
            return text
    return text


def _region_rows(report: Report) -> tuple[RegionFigures, ...]:
    return report.ranking if report.kind == MONTHLY else report.figures.regions


def render_full_html(report: Report, renderer: Renderer, lang: str | None = None,
                     chart_png: bytes | None = None) -> str:
    """The full report as a whole HTML document (autoescaped); with ``chart_png`` the chart is
    embedded as a data URI, so the one file is the whole report."""
    chart_uri = "data:image/png;base64," + base64.b64encode(chart_png).decode("ascii") if chart_png else None
    return renderer.template("report_full.html.j2", lang, r=report, regions=_region_rows(report),
                             chart_uri=chart_uri) + "\n"
