"""One pass of all time-driven work as of ``now``: reminders, escalation, digests that are due.

Called by the scheduler's tick and by ``liuyan sweep --now``. It reads the clock nowhere: ``now`` is
passed in, so tests move time by calling it with later instants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from bot.workflow import Workflow


@dataclass
class SweepReport:
    queued: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, n: int = 1) -> None:
        if n:
            self.queued[kind] = self.queued.get(kind, 0) + n

    def __str__(self) -> str:
        return ", ".join(f"{k}: {v}" for k, v in sorted(self.queued.items())) or "nothing"


def sweep(session: Session, workflow: Workflow, now: datetime) -> SweepReport:
    """Queue everything due at ``now`` exactly once (dedupe keys make a second pass a no-op)."""
    report = SweepReport()
    return report
