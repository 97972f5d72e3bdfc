"""The record of reminders: which (item, reminder point) has been said, so none is said twice.

One reminder message lists several items, and one item's reminder may be folded into another's
(a half-way nudge that fell due during a stop is superseded by the "1 working day left" one). So
the unit of exactly-once is not the outbox row but the (item, point) pair: every pair a sweep
handles gets a row here, in the same transaction as the outbox row that says it. ``key`` is
unique, so a second sweep (after a restart, in a cron job, in a second process) finds it and
stays silent, and a race between two processes ends with one of them rolling back.

Imported by :mod:`scheduler.reminders` and :mod:`bot.workflow.deadlines`, which registers the table
on ``SQLModel.metadata`` before the schema is created.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import UTCDateTime


class ReminderSent(SQLModel, table=True):
    """One (item, reminder point) handled by a sweep: sent in ``outbox_id``, or ``skipped``
    because a later point (or the overdue notice) said it better in the same breath."""

    __tablename__ = "reminders_sent"
    __table_args__ = (UniqueConstraint("key", name="uq_reminders_sent_key"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200)
    item_id: int = Field(foreign_key="items.id", index=True)
    kind: str = Field(max_length=20)  # unclaimed | before | overdue | repeat
    point: str = Field(max_length=40)  # e.g. "before:50%", "overdue", "repeat:2026-10-12"
    audience: str = Field(max_length=80)  # "region:620100" | "desk"
    chat_id: int | None = Field(default=None, sa_type=BigInteger)
    outbox_id: int | None = None
    skipped: bool = False
    deadline: datetime = Field(sa_type=UTCDateTime)  # the deadline it was about (a new one restarts)
    due_at: datetime = Field(sa_type=UTCDateTime)  # when the point fell due
    sent_at: datetime = Field(sa_type=UTCDateTime)  # the sweep's ``now`` that handled it


__all__ = ["ReminderSent"]
