"""Repeats: a citizen writing again about the same issue, and many citizens about one issue.

A **repeat** is a message whose author (exactly the same string; a message without an author never
matches) wrote about the **same issue** in the ``REPEAT_DAYS`` (60) days before it. It is linked to
the earliest such item (``duplicate_of``), also when both arrive in one batch, and:

- goes to the same target (region or unit) as that item, whatever the text names: the office that
  handles the first message knows the case;
- when that item has a holder (someone claimed it, whether or not it was replied since), is claimed
  on the holder's behalf (a ``claimed`` event with ``on_behalf``): the same officer answers the same
  citizen about the same matter, and a replied item coming back usually means "still not solved";
- its card names the first item (``#N``).

**Same issue** (:func:`same_issue`): the cosine of the two messages' shingle vectors - the
character bigrams the hot-issue report compares (title bigrams weigh 2, bigrams of the body's first
80 characters 0.5, stopword bigrams left out; no IDF, as two messages of one author are no corpus) -
is at least ``SAME_ISSUE_MIN`` (0.5). On the real A-city data (4,326 messages, 532 authors with more
than one message) this links 345 of the 2,443 pairs of one author's messages within 60 days; read by
hand, pairs at 0.55-0.65 were all one matter, at 0.45-0.55 about four in five, and below 0.45 a
prolific author's template ("请A市加快…建设力度") or one estate's different troubles dominated.

**Many authors about one issue** are grouped by the early warning; each member of a group that
reaches the warning's size records the group's size in people (``issue_group_size``), and its card
says so.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session, select

from bot.reports.hot_issues import (
    SHINGLE_WEIGHT,
    TITLE_WEIGHT,
    body_shingles,
    title_shingles,
)
from bot.rules.states import Status
from bot.workflow.context import Actor, WorkflowContext
from bot.workflow.items import log_events
from storage.models import Item

REPEAT_DAYS = 60
SAME_ISSUE_MIN = 0.5


def shingle_vector(title: str, body: str) -> dict[str, float]:
    """A message as the weighted bag of bigrams the hot-issue report compares."""
    vec: defaultdict[str, float] = defaultdict(float)
    for s in title_shingles(title or ""):
        vec[s] += TITLE_WEIGHT
    for s in body_shingles(body or ""):
        vec[s] += SHINGLE_WEIGHT
    return vec


def cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    dot = sum(w * b[k] for k, w in a.items() if k in b)
    norm = math.sqrt(sum(w * w for w in a.values())) * math.sqrt(sum(w * w for w in b.values()))
    return dot / norm if norm else 0.0


def same_issue(a: dict[str, float], b: dict[str, float], threshold: float = SAME_ISSUE_MIN) -> bool:
    """Whether two messages (as :func:`shingle_vector`) are about the same issue."""
    return cosine(a, b) >= threshold


def link_repeats(session: Session, wf: WorkflowContext, new_items: Sequence[Item], actor: Actor,
                 now: datetime) -> list[Item]:
    """Link each new item that repeats an earlier one (see the module docstring); the linked ones."""
    authored = [it for it in new_items if (it.author or "") != "" and it.id is not None]
    if not authored:
        return []
    window = timedelta(days=REPEAT_DAYS)
    earliest = min(it.received_at for it in authored) - window
    authors = sorted({it.author for it in authored if it.author})
    candidates: dict[str, list[Item]] = {}
    for other in session.exec(select(Item).where(
            Item.author.in_(authors), Item.received_at >= earliest)):  # type: ignore[union-attr]
        candidates.setdefault(other.author or "", []).append(other)
    vectors: dict[int, dict[str, float]] = {}

    def vector(it: Item) -> dict[str, float]:
        if it.id not in vectors:
            vectors[it.id] = shingle_vector(it.title or "", it.body)  # type: ignore[index]
        return vectors[it.id]  # type: ignore[index]

    linked: list[Item] = []
    claimed: list[Item] = []
    for item in sorted(authored, key=lambda it: (it.received_at, it.id)):
        before = sorted((o for o in candidates.get(item.author or "", ())
                         if (o.received_at, o.id) < (item.received_at, item.id)
                         and o.received_at >= item.received_at - window),
                        key=lambda o: (o.received_at, o.id))
        first = next((o for o in before if same_issue(vector(item), vector(o))), None)
        if first is None:
            continue
        item.duplicate_of = first.id
        if first.region is not None:
            item.region, item.route_reason, item.region_hint = first.region, "repeat", None
            if item.status == Status.UNROUTED:
                item.status = Status.NEW
        if first.claimed_by is not None and item.region == first.region and item.status == Status.NEW:
            item.status = Status.CLAIMED
            item.claimed_by, item.claimed_by_name, item.claimed_at = first.claimed_by, first.claimed_by_name, now
            claimed.append(item)
        session.add(item)
        linked.append(item)
    if linked:
        session.flush()
        log_events(session, [(it, "repeat", {"duplicate_of": it.duplicate_of, "region": it.region})
                             for it in linked], actor, now)
        log_events(session, [(it, "claimed", {"by": it.claimed_by, "name": it.claimed_by_name,
                                              "on_behalf": True, "duplicate_of": it.duplicate_of})
                             for it in claimed], actor, now)
    return linked


def note_issue_group(session: Session, wf: WorkflowContext, ids: Sequence[int], people: int,
                     now: datetime) -> None:
    """Record that the items ``ids`` are one issue reported by ``people`` people, and edit the cards
    of those whose count changed."""
    from bot.workflow.cards import card_lane, refresh_cards  # lazily: cards import this module's neighbours

    changed = list(session.exec(select(Item).where(Item.id.in_(ids), Item.issue_group_size != people)))  # type: ignore[union-attr]
    if not changed:
        return
    for item in changed:
        item.issue_group_size = people
        session.add(item)
        refresh_cards(session, wf, item, now, lane=card_lane(item))
