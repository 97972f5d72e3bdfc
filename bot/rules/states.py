"""The item state machine and who may move an item along it.

Pure: the workflow asks these functions, then writes. A refusal is a :class:`Refusal` carrying a
catalogue key and its parameters, so every channel (chat reply, pop-up, API error) words it the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    UNROUTED = "unrouted"
    NEW = "new"
    CLAIMED = "claimed"
    REPLIED = "replied"
    CLOSED = "closed"
    REOPENED = "reopened"


class Role(StrEnum):
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    LEADER = "leader"


ALL_REGIONS = "*"

# Open: waiting for a reply (reminders, escalation, overdue lists and counts see these).
# Answered: replied, or closed once the reply is public. Every status is one or the other.
OPEN_STATUSES: tuple[Status, ...] = (Status.UNROUTED, Status.NEW, Status.CLAIMED, Status.REOPENED)
ANSWERED_STATUSES: tuple[Status, ...] = (Status.REPLIED, Status.CLOSED)

# The state machine: action -> (the statuses it may start from, the status it leads to).
# The checks below consult it, so a move missing here is refused whoever asks; who may make an
# allowed move is the checks' other half (roles and regions).
TRANSITIONS: dict[str, tuple[frozenset[Status], Status]] = {
    "route": (frozenset({Status.UNROUTED}), Status.NEW),
    "reroute": (frozenset({Status.NEW, Status.CLAIMED, Status.REOPENED}), Status.NEW),
    "claim": (frozenset({Status.NEW, Status.REOPENED}), Status.CLAIMED),
    # any open item: its holder replies, or a supervisor, who holds it from then on
    "reply": (frozenset(OPEN_STATUSES), Status.REPLIED),
    "close": (frozenset({Status.REPLIED}), Status.CLOSED),
    "reopen": (frozenset({Status.REPLIED, Status.CLOSED}), Status.REOPENED),
    # a supervisor claims on an officer's behalf (派单); a held item changes hands
    "assign": (frozenset({Status.NEW, Status.CLAIMED, Status.REOPENED}), Status.CLAIMED),
    # a claim nobody acted on for twice the lease lapses back to unclaimed
    "release": (frozenset({Status.CLAIMED}), Status.NEW),
}


@dataclass
class Refusal(Exception):
    """Why an action is refused: a catalogue key under ``refuse.`` plus its parameters."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code} {self.params}"


def can_transition(action: str, status: str) -> bool:
    """Whether the state machine lets ``action`` start from ``status``."""
    sources, _ = TRANSITIONS[action]
    return Status(status) in sources


def target(action: str) -> Status:
    """The status ``action`` leads to."""
    return TRANSITIONS[action][1]


def sources(action: str) -> frozenset[Status]:
    """The statuses ``action`` may start from (e.g. the condition of the claim's UPDATE)."""
    return TRANSITIONS[action][0]


@dataclass(frozen=True)
class Person:
    """Who acts, as the roster knows them (``None`` role: not in the roster)."""

    user_id: int
    name: str
    role: str | None
    region: str | None

    @property
    def in_roster(self) -> bool:
        return self.role is not None


@dataclass(frozen=True)
class ItemView:
    """The facts about an item that the rules need."""

    id: int
    status: str
    region: str | None
    region_name: str | None
    claimed_by: int | None
    claimed_by_name: str | None
    claimed_at: str | None  # already formatted for the person (HH:MM or date)
    replied_at: str | None


def _check_scope(person: Person, item: ItemView) -> None:
    if not person.in_roster:
        raise Refusal("not_in_roster")
    if person.role == Role.LEADER:
        raise Refusal("leader_cannot", {"id": item.id})
    if person.role == Role.OFFICER and person.region not in (ALL_REGIONS, item.region):
        if item.region is None:
            raise Refusal("not_routed", {"id": item.id})
        raise Refusal("wrong_region", {"id": item.id, "region": item.region_name or item.region})


def _status_refusal(person: Person, item: ItemView) -> Refusal:
    """Why the state machine refuses a move from the item's status, worded for ``person``."""
    status = Status(item.status)
    if status in ANSWERED_STATUSES:
        return Refusal("already_replied", {"id": item.id, "at": item.replied_at})
    if status == Status.UNROUTED:
        return Refusal("not_routed", {"id": item.id})
    if status == Status.CLAIMED:
        if item.claimed_by == person.user_id:
            return Refusal("held_by_you", {"id": item.id, "since": item.claimed_at})
        return Refusal("held_by", {"id": item.id, "holder": item.claimed_by_name, "since": item.claimed_at})
    return Refusal("wrong_status", {"id": item.id, "status": str(status)})


def check_transition(action: str, person: Person, item: ItemView) -> None:
    """Raise :class:`Refusal` unless :data:`TRANSITIONS` lets ``action`` start from the item's status."""
    if not can_transition(action, item.status):
        raise _status_refusal(person, item)


def check_claim(person: Person, item: ItemView) -> None:
    """Raise :class:`Refusal` unless ``person`` may claim ``item`` now."""
    _check_scope(person, item)
    check_transition("claim", person, item)


def check_reply(person: Person, item: ItemView) -> None:
    """The holder replies; a supervisor may reply to any open item (and holds it from then on)."""
    _check_scope(person, item)
    check_transition("reply", person, item)
    if person.role == Role.SUPERVISOR:
        return
    status = Status(item.status)
    if status == Status.UNROUTED:
        raise Refusal("not_routed", {"id": item.id})
    if status == Status.NEW:
        raise Refusal("claim_first", {"id": item.id})
    if item.claimed_by != person.user_id:
        raise Refusal("not_holder", {"id": item.id, "holder": item.claimed_by_name})


def route_action(item: ItemView) -> str:
    """``route`` for an item no region holds yet, ``reroute`` for one moved elsewhere."""
    return "route" if Status(item.status) == Status.UNROUTED else "reroute"


def check_route(person: Person, item: ItemView) -> None:
    """Routing and re-routing are the provincial office's: supervisors only."""
    if not person.in_roster:
        raise Refusal("not_in_roster")
    if person.role != Role.SUPERVISOR:
        raise Refusal("route_supervisors_only")
    check_transition(route_action(item), person, item)


def check_read(person: Person, item: ItemView) -> None:
    """Who may read an item's full text: its region's officers, supervisors and leaders."""
    if not person.in_roster:
        raise Refusal("not_in_roster")
    if person.role in (Role.SUPERVISOR, Role.LEADER):
        return
    if person.region not in (ALL_REGIONS, item.region):
        raise Refusal("wrong_region", {"id": item.id, "region": item.region_name or item.region or "—"})


def check_assign(person: Person, assignee: Person, item: ItemView) -> None:
    """派单: a supervisor claims an item on behalf of an officer who may act on it (of its region,
    or province-wide); a held item may change hands, not go to its holder again."""
    if not person.in_roster:
        raise Refusal("not_in_roster")
    if person.role != Role.SUPERVISOR:
        raise Refusal("assign_supervisors_only")
    if assignee.role != Role.OFFICER:
        raise Refusal("assign_not_officer", {"name": assignee.name, "role": assignee.role or "—"})
    if assignee.region not in (ALL_REGIONS, item.region):
        if item.region is None:
            raise Refusal("not_routed", {"id": item.id})
        raise Refusal("assign_wrong_region", {"id": item.id, "name": assignee.name,
                                              "region": item.region_name or item.region})
    if not can_transition("assign", item.status):
        raise _status_refusal(person, item)
    if Status(item.status) == Status.CLAIMED and item.claimed_by == assignee.user_id:
        raise Refusal("assign_same_holder", {"id": item.id, "name": assignee.name})
