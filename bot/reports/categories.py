"""The period's categories: how many items of each, against the period before, and which are rising.

A category **rises** when it has at least ``RISING_MIN`` items in the period and at least
``RISING_FACTOR`` times as many as in the period of the same length just before (a category absent
before and present ``RISING_MIN`` times now rises too): a few more of a common category is noise,
doubling is a change a leader should hear of. Items without a category (the classifier unsure) are
not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from storage.models import Item

RISING_MIN = 3
RISING_FACTOR = 1.5


@dataclass(frozen=True)
class CategoryCount:
    name: str
    count: int
    previous: int

    @property
    def rising(self) -> bool:
        return self.count >= RISING_MIN and self.count >= RISING_FACTOR * self.previous and self.count > self.previous


def _counts(session: Session, start: datetime, end: datetime) -> dict[str, int]:
    rows = session.execute(
        select(Item.category_label, func.count())  # type: ignore[call-overload]
        .where(Item.received_at >= start, Item.received_at < end, Item.category_label.is_not(None))  # type: ignore[union-attr]
        .group_by(Item.category_label))
    return {str(name): int(n) for name, n in rows}


def category_counts(session: Session, start: datetime, end: datetime) -> tuple[CategoryCount, ...]:
    """The categories of ``[start, end)``, most items first, each with the previous period's count."""
    now = _counts(session, start, end)
    before = _counts(session, start - (end - start), start)
    return tuple(sorted((CategoryCount(name, n, before.get(name, 0)) for name, n in now.items()),
                        key=lambda c: (-c.count, c.name)))
