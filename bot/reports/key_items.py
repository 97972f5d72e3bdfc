"""Key items of a period: the few messages leaders should read themselves, chosen by weight.

Order: **sensitive** items first (highest sensitivity score first), then the others by **weight** =
supporters (the board's likes) + the other people who wrote about the same matter (its hot-issue
group's people − 1): both count citizens who back the matter, the first by a vote, the second by a
message of their own ("most supported and most widespread"). Ties go to the earlier message.
A non-sensitive item of weight 0 is not key. Of a hot-issue group only its heaviest member is
listed: the roundup's hot issues already show the group, and ten copies of one complaint would
crowd out everything else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

__all__ = ["Candidate", "KeyItem", "select_key_items"]

DEFAULT_LIMIT = 10


@dataclass(frozen=True)
class Candidate:
    """An item of the period as key-item selection sees it."""

    id: int
    title: str
    region: str | None
    received_at: datetime
    likes: int = 0
    sensitive: bool = False
    sensitive_score: float = 0.0
    sensitive_category: str | None = None
    status: str = "new"
    supervised: bool = False


@dataclass(frozen=True)
class KeyItem:
    """A chosen item and why: ``reason`` is ``sensitive``, ``supported`` or ``widespread``."""

    candidate: Candidate
    weight: int
    supporters: int
    others: int  # other people who wrote about the same matter
    reason: str


def select_key_items(candidates: Iterable[Candidate], group_of: Mapping[int, int] | None = None,
                     people_of_group: Mapping[int, int] | None = None, *,
                     limit: int = DEFAULT_LIMIT) -> list[KeyItem]:
    """The key items, most important first.

    ``group_of`` maps an item id to its hot-issue group (any hashable id); ``people_of_group`` gives
    each group's number of people. Items in no group stand alone.
    """
    group_of = group_of or {}
    people_of_group = people_of_group or {}
    scored: list[tuple[tuple, KeyItem, object]] = []
    for c in candidates:
        group = group_of.get(c.id)
        others = max(people_of_group.get(group, 1) - 1, 0) if group is not None else 0
        supporters = max(c.likes, 0)
        weight = supporters + others
        if not c.sensitive and weight <= 0:
            continue
        if c.sensitive:
            reason = "sensitive"
        else:
            reason = "supported" if supporters >= others else "widespread"
        key = (0 if c.sensitive else 1, -(c.sensitive_score if c.sensitive else 0.0), -weight,
               c.received_at, c.id)
        scored.append((key, KeyItem(c, weight, supporters, others, reason), group))
    scored.sort(key=lambda s: s[0])
    chosen: list[KeyItem] = []
    taken: set[object] = set()
    for _, item, group in scored:
        if group is not None and not item.candidate.sensitive:
            if group in taken:
                continue
            taken.add(group)
        chosen.append(item)
        if len(chosen) >= limit:
            break
    return chosen
