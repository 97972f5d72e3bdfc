"""The weekly roundup and the monthly report, queued by the sweep when due and by ``liuyan digest``.

When due
--------
The weekly roundup is due at ``schedule.weekly_day`` ``schedule.weekly_time`` (default Monday 09:00)
in the configured timezone and covers the last whole Monday-to-Sunday week before that instant; the
monthly report is due on ``schedule.monthly_day`` at ``schedule.monthly_time`` (default the 1st,
09:00) and covers the previous calendar month. Each sweep looks at the latest such instant at or
before ``now``, so a service that was down on Monday morning sends the roundup when it comes back
(until the next one is due).

Exactly once
------------
Each report is three outbox rows (message, chart photo, HTML document) queued in one transaction
with the dedupe keys ``weekly:<ISO week>`` / ``monthly:<YYYY-MM>`` (and ``…:chart``, ``…:html``),
so sweeps in several processes or after restarts queue it once.

A report about a period before the deployment held any message is not sent: a new installation
does not open with an empty roundup of the week before it existed.

``liuyan digest weekly|monthly [--now] [--send] [--out]``
---------------------------------------------------------
Builds the report of the last whole week / month before ``--now`` and returns its HTML (``--out``
writes it). ``--send`` queues it to the leaders' chat with the scheduled key when that one has not
been used yet — so a report sent by hand before Monday 09:00 is not sent a second time by the
scheduler — and otherwise with ``weekly:<ISO week>:manual:<UTC time of --now>``: a deliberate resend
goes out again, while a retried identical command (same ``--now``) does not.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from bot.config import WEEKDAYS, ScheduleConfig
from bot.reports.builder import MONTHLY, WEEKLY, Period, build_report, period_for
from bot.reports.delivery import already_queued, queue_report, render_report
from storage.models import Item

if TYPE_CHECKING:
    from bot.workflow import WorkflowContext
    from scheduler.sweep import SweepReport

__all__ = ["build_and_queue_digest", "latest_due", "report_key", "sweep_reports"]


def latest_due(kind: str, now: datetime, schedule: ScheduleConfig) -> datetime:
    """The latest instant at or before ``now`` when a report of ``kind`` is due."""
    tz = schedule.tz
    local = now.astimezone(tz)
    if kind == WEEKLY:
        back = (local.weekday() - WEEKDAYS.index(schedule.weekly_day)) % 7
        at = datetime.combine(local.date() - timedelta(days=back), schedule.weekly_time, tzinfo=tz)
        return at if at <= now else at - timedelta(days=7)
    if kind == MONTHLY:
        at = datetime.combine(local.date().replace(day=schedule.monthly_day), schedule.monthly_time, tzinfo=tz)
        if at <= now:
            return at
        previous = local.date().replace(day=1) - timedelta(days=1)
        return datetime.combine(date(previous.year, previous.month, schedule.monthly_day),
                                schedule.monthly_time, tzinfo=tz)
    raise ValueError(f"unknown report kind {kind!r}")


def report_key(period: Period) -> str:
    return f"{period.kind}:{period.label}"


def _has_history(session: Session, period: Period) -> bool:
    return session.exec(select(Item.id).where(Item.received_at < period.end).limit(1)).first() is not None


def sweep_reports(session: Session, workflow: WorkflowContext, now: datetime, report: SweepReport) -> None:
    """Queue the weekly roundup and the monthly report when due, each exactly once."""
    schedule = workflow.config.schedule
    for kind in (WEEKLY, MONTHLY):
        period = period_for(kind, latest_due(kind, now, schedule), schedule.tz)
        key = report_key(period)
        if already_queued(session, key) or not _has_history(session, period):
            continue
        built = build_report(session, workflow.config, period, now)
        rendered = render_report(built, workflow.renderer)
        if queue_report(session, rendered, workflow.config.leaders.chat_id, now, dedupe_key=key):
            report.add(f"{kind}_report")


def build_and_queue_digest(session: Session, workflow: WorkflowContext, period: str, now: datetime, send: bool) -> str:
    """``liuyan digest``: the report of the last whole week or month before ``now`` as HTML; with
    ``send`` also queued to the leaders' chat (see the module's docstring for the dedupe key)."""
    span = period_for(period, now, workflow.config.schedule.tz)
    built = build_report(session, workflow.config, span, now)
    rendered = render_report(built, workflow.renderer)
    if send:
        key = report_key(span)
        if already_queued(session, key):
            key = f"{key}:manual:{now.astimezone(UTC):%Y%m%dT%H%M%SZ}"
        queue_report(session, rendered, workflow.config.leaders.chat_id, now, dedupe_key=key)
    return rendered.html
