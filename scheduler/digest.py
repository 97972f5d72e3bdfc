"""Weekly roundup, monthly report, early warnings (issue 5)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session

if TYPE_CHECKING:
    from bot.workflow import Workflow
    from scheduler.sweep import SweepReport


def sweep_reports(session: Session, workflow: "Workflow", now: datetime, report: "SweepReport") -> None:
    """Filled in with issue 5."""


def build_and_queue_digest(session: Session, workflow: "Workflow", period: str, now: datetime, send: bool) -> str:
    """Filled in with issue 5: returns the report's HTML and, with ``send``, queues it."""
    raise NotImplementedError("digests arrive with issue 5")
