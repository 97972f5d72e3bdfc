"""One pass of all time-driven work as of ``now``: reminders, escalation, warnings, 报前核查's
reminders and proposals, 回头看's questions, digests.

Called by the scheduler's tick and by ``liuyan sweep --now``. It reads the clock nowhere: ``now`` is
passed in, so tests move time by calling it with later instants. Each part queues its messages
with dedupe keys, so running a pass twice, or in two processes, queues nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from bot.workflow import WorkflowContext


@dataclass
class SweepReport:
    queued: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, n: int = 1) -> None:
        if n:
            self.queued[kind] = self.queued.get(kind, 0) + n

    def __str__(self) -> str:
        return ", ".join(f"{k}: {v}" for k, v in sorted(self.queued.items())) or "nothing due"


SweepPart = Callable[[Session, WorkflowContext, datetime, SweepReport], None]


def parts() -> list[SweepPart]:
    """The time-driven parts, in order: deadlines a newly known calendar moves, reminders and
    escalation, claim leases, 报前核查 and 回头看, then reports."""
    from bot.workflow.followup import sweep_followups
    from bot.workflow.verification import sweep_verification
    from scheduler import digest, reminders

    return [sweep_calendar, reminders.sweep_reminders, sweep_claim_leases, sweep_verification, sweep_followups,
            digest.sweep_reports]


def sweep_calendar(session: Session, workflow: WorkflowContext, now: datetime, report: SweepReport) -> None:
    from bot.workflow.calendar_refresh import refresh_provisional

    report.add("deadlines moved by the calendar", refresh_provisional(session, workflow, now))


def sweep_claim_leases(session: Session, workflow: WorkflowContext, now: datetime, report: SweepReport) -> None:
    from bot.workflow.leases import sweep_leases

    nudged, lapsed = sweep_leases(session, workflow, now)
    report.add("claim leases nudged", nudged)
    report.add("claims lapsed", lapsed)


def sweep(session: Session, workflow: WorkflowContext, now: datetime) -> SweepReport:
    """Queue everything due at ``now`` exactly once."""
    report = SweepReport()
    for part in parts():
        part(session, workflow, now, report)
    return report
