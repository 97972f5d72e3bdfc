"""Reminders and escalation (issue 4)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

if TYPE_CHECKING:
    from bot.workflow import Workflow
    from scheduler.sweep import SweepReport


def sweep_reminders(session: Session, workflow: "Workflow", now: datetime, report: "SweepReport") -> None:
    """Filled in with issue 4."""
