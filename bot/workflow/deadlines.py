"""Workflow steps for the deadline clock: priority, complex items, extensions, due and overdue lists.

Each step is one unit of work in the caller's transaction (``s.act(step, s.workflow, ...)``): it
checks who may do what, writes the item, an Event and the outbox rows that announce the change.

How a deadline is recomputed (priority change, extension): always from stored facts, never by
nudging the current value, so the same inputs give the same deadline whoever computes it::

    deadline = apply_supervision(compute_deadline(received_at, priority, extended_by),
                                 supervised_at, deadlines.supervised_factor, hours, tz)

That is the arithmetic :func:`~bot.workflow.supervision.supervise` applied at the moment of
supervision (督办): what remained then is shrunk by the factor. So supervision stays applied after any later change, as if the
new priority or the new extension total had been in force when the item was supervised; an extension
approved for a supervised item is shrunk by the same factor, and the approval shows the result.
The shrinking counts working time (office hours on working days), so the result lies inside them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, select

from bot.config import OfficerConfig
from bot.delivery.outbox import PRIORITY_LANE, Button, enqueue_message
from bot.rules.deadlines import (
    Priority,
    apply_supervision,
    compute_deadline,
    due_soon_until,
    extension_refusal,
    parse_priority,
)
from bot.rules.masking import mask_personal_numbers
from bot.rules.states import (
    ALL_REGIONS,
    ANSWERED_STATUSES,
    OPEN_STATUSES,
    Person,
    Refusal,
    Role,
    Status,
)
from bot.workflow.answers import say
from bot.workflow.cards import refresh_cards
from bot.workflow.context import Actor, WorkflowContext
from bot.workflow.items import get_item, log_event, view
from bot.workflow.roster import item_chat, region_of_chat
from storage import reminders as _reminders  # noqa: F401  (registers the reminders_sent table)
from storage.models import ExtensionRequest, Item, Outbox, live_items

# events after which an item's deadline may differ: the reminder ladder restarts from them
DEADLINE_EVENTS = ("supervised", "priority_changed", "marked_complex", "extension_approved")
REASON_LIMIT = 500
LIST_LIMIT = 30  # items shown by /due and /overdue (the rest are counted)
CALLBACK_APPROVE = "ext_ok"
CALLBACK_REFUSE = "ext_no"


# ---------------------------------------------------------------------------- shared helpers


def deadline_for(wf: WorkflowContext, item: Item, *, extended_by: int | None = None) -> tuple[datetime, bool]:
    """The item's deadline from its stored facts (see the module docstring) and its provisional
    flag; ``extended_by`` previews another extension total."""
    start = item.reopened_at or item.received_at  # a reopened item (重办) counts from its reopening
    base = compute_deadline(start, Priority(item.priority), wf.policy, wf.tz,
                            extension_days=item.extended_by if extended_by is None else extended_by)
    supervised_at = max(item.supervised_at, start) if item.supervised and item.supervised_at else None
    due = apply_supervision(base.due, supervised_at, wf.config.deadlines.supervised_factor, wf.policy.hours, wf.tz)
    return due, base.provisional


def recompute_deadline(wf: WorkflowContext, item: Item) -> None:
    item.deadline, item.deadline_provisional = deadline_for(wf, item)


def responsible_supervisors(wf: WorkflowContext, region: str | None) -> list[OfficerConfig]:
    """Supervisors who answer for ``region``: the province-wide ones and the region's own."""
    return [o for o in wf.config.officers
            if o.role == Role.SUPERVISOR and o.region in (ALL_REGIONS, region)]


def mentionable(people: Iterable[OfficerConfig]) -> list[dict[str, Any]]:
    """People as templates mention them (``<a href="tg://user?id=…">name</a>``), each once."""
    seen: dict[int, dict[str, Any]] = {}
    for p in people:
        seen.setdefault(p.user_id, {"id": p.user_id, "name": p.name})
    return list(seen.values())


def holder_of(item: Item) -> dict[str, Any] | None:
    if item.status in (Status.CLAIMED, Status.REOPENED) and item.claimed_by is not None:
        return {"id": item.claimed_by, "name": item.claimed_by_name or str(item.claimed_by)}
    return None


def short_title(item: Item, limit: int = 30) -> str:
    """A masked one-line title for group chats (the body's start when there is no title)."""
    text = " ".join((item.title or item.body or "").split())
    text = mask_personal_numbers(text)
    return text if len(text) <= limit else text[:limit] + "…"


def _person(wf: WorkflowContext, actor: Actor) -> Person:
    person = wf.person(actor.user_id, actor.name)
    if not person.in_roster:
        raise Refusal("not_in_roster")
    return person


def _open_item(wf: WorkflowContext, session: Session, item_id: int) -> Item:
    item = get_item(session, item_id, lock=True)
    if item.status in ANSWERED_STATUSES:
        raise Refusal("already_replied", {"id": item_id, "at": view(wf, item).replied_at})
    return item


def _check_holder(wf: WorkflowContext, person: Person, item: Item, refusal: str) -> None:
    """Only the officer holding the item (or, where allowed by the caller, a supervisor)."""
    if person.role == Role.LEADER:
        raise Refusal("leader_cannot", {"id": item.id})
    if item.status == Status.UNROUTED:
        raise Refusal("not_routed", {"id": item.id})
    if item.status == Status.NEW:
        raise Refusal("claim_first", {"id": item.id})
    if item.claimed_by != person.user_id:
        raise Refusal(refusal, {"id": item.id, "holder": item.claimed_by_name or "—"})


def clean_reason(text: str | None) -> str:
    """A reason or note on one line, refused when longer than :data:`REASON_LIMIT`."""
    reason = " ".join((text or "").split())
    if len(reason) > REASON_LIMIT:
        raise Refusal("reason_too_long", {"length": len(reason), "limit": REASON_LIMIT})
    return reason


def _label(wf: WorkflowContext, priority: str, lang: str | None) -> str:
    return wf.renderer.text(f"priority.{priority}", lang)


def announce_deadline_change(session: Session, wf: WorkflowContext, item: Item, actor: Actor, key: str,
                        now: datetime, **params: Any) -> None:
    """Tell the item's chat (its region's or unit's, or the desk for an unrouted one) about a
    changed deadline, mentioning the holder, unless the change was made in that very chat."""
    target = item_chat(session, wf, item)
    if target == actor.chat_id:
        return
    text = wf.renderer.text(key, None, holder=holder_of(item), **params)
    enqueue_message(session, target, text, now=now, lane=PRIORITY_LANE, item_id=item.id,
                    purpose="deadline_changed")


def describe_item(wf: WorkflowContext, item: Item, now: datetime) -> dict[str, Any]:
    """One item as a line of a reminder or a list shows it (group chats: masked title)."""
    deadline = item.deadline
    overdue = deadline is not None and now >= deadline
    left = (deadline - now).total_seconds() / 3600 if deadline is not None and not overdue else None
    calendar = wf.policy.hours.calendar
    return {
        "id": item.id,
        "title": short_title(item),
        "priority": item.priority,
        "urgent": item.priority == Priority.URGENT,
        "status": item.status,
        "region_name": wf.region_name(item.region),
        "deadline": deadline,
        "provisional": item.deadline_provisional,
        "extended_by": item.extended_by,
        "supervised": item.supervised,
        "overdue": overdue,
        "overdue_days": calendar.workdays_between(deadline.astimezone(wf.tz), now.astimezone(wf.tz)) if overdue else 0,
        "left_hours": math.ceil(left) if left is not None else None,
        "left_workdays": calendar.workdays_between(now.astimezone(wf.tz), deadline.astimezone(wf.tz))
        if deadline is not None and not overdue else None,
        "holder": holder_of(item),
    }


# ---------------------------------------------------------------------------- priority


def set_priority(session: Session, wf: WorkflowContext, item_id: int, actor: Actor, value: str,
                 now: datetime, reason: str | None = None) -> Item:
    """``/priority N urgent|ordinary|complex``: a supervisor re-classifies an item; the deadline
    is recomputed (supervision kept) and the card, the actor and the item's chat are told."""
    person = _person(wf, actor)
    if person.role != Role.SUPERVISOR:
        raise Refusal("priority_supervisors_only")
    priority = parse_priority(value)
    if priority is None:
        raise Refusal("bad_priority", {"value": (value or "")[:30]})
    item = _open_item(wf, session, item_id)
    lang = wf.lang_for(actor)
    if item.priority == priority:
        raise Refusal("same_priority", {"id": item_id, "priority": _label(wf, priority, lang)})
    return _change_priority(session, wf, item, actor, priority, clean_reason(reason), now,
                            action="priority_changed")


def mark_complex(session: Session, wf: WorkflowContext, item_id: int, actor: Actor, reason: str,
                 now: datetime) -> Item:
    """``/complex N reason``: the holder (or a supervisor) says the item needs investigation, so
    it gets the complex deadline (10 working days after receipt by default)."""
    person = _person(wf, actor)
    item = _open_item(wf, session, item_id)
    if person.role != Role.SUPERVISOR:
        _check_holder(wf, person, item, "complex_holder_only")
    reason = clean_reason(reason)
    if not reason:
        raise Refusal("complex_needs_reason", {"id": item_id})
    if item.priority == Priority.COMPLEX:
        raise Refusal("same_priority", {"id": item_id,
                                        "priority": _label(wf, Priority.COMPLEX, wf.lang_for(actor))})
    return _change_priority(session, wf, item, actor, Priority.COMPLEX, reason, now,
                            action="marked_complex")


def _change_priority(session: Session, wf: WorkflowContext, item: Item, actor: Actor, priority: Priority,
                     reason: str, now: datetime, *, action: str) -> Item:
    old, old_deadline = item.priority, item.deadline
    item.priority = str(priority)
    if priority == Priority.COMPLEX and reason:
        item.complex_reason = reason
    recompute_deadline(wf, item)
    session.add(item)
    session.flush()
    log_event(session, item, action, actor, now, old=old, new=item.priority, reason=reason or None,
            old_deadline=old_deadline, deadline=item.deadline, provisional=item.deadline_provisional)
    refresh_cards(session, wf, item, now, lane=PRIORITY_LANE)
    params = dict(id=item.id, priority=_label(wf, item.priority, None), deadline=item.deadline,
                  provisional=item.deadline_provisional, by=wf.person(actor.user_id, actor.name).name,
                  reason=reason)
    announce_deadline_change(session, wf, item, actor, "deadlines.priority_changed_notice", now, **params)
    if actor.chat_id is not None:
        lang = wf.lang_for(actor)
        params["priority"] = _label(wf, item.priority, lang)
        say(session, actor.chat_id, wf.renderer.text("ok.priority_changed", lang, **params), now,
            reply_to=actor.message_id, item_id=item.id)
    return item


# ---------------------------------------------------------------------------- extensions


def pending_extension(session: Session, item_id: int) -> ExtensionRequest | None:
    return session.exec(select(ExtensionRequest).where(
        ExtensionRequest.item_id == item_id, ExtensionRequest.status == "pending")).first()


def request_extension(session: Session, wf: WorkflowContext, item_id: int, actor: Actor, days: int,
                      reason: str, now: datetime) -> ExtensionRequest:
    """``/extend N days reason``: the holder asks for more working days. The desk gets the request
    with approve/refuse buttons, mentioning the supervisors who answer for the item's region."""
    person = _person(wf, actor)
    item = _open_item(wf, session, item_id)
    _check_holder(wf, person, item, "extend_holder_only")
    reason = clean_reason(reason)
    if not reason:
        raise Refusal("extension_needs_reason", {"id": item_id})
    cap = wf.policy.max_extension_days
    why = extension_refusal(item.extended_by, days, wf.policy)
    if why == "not_positive":
        raise Refusal("extension_not_positive", {"days": days})
    if why == "over_cap":
        raise Refusal("extension_over_cap", {"id": item_id, "days": days, "used": item.extended_by,
                                             "cap": cap, "left": max(cap - item.extended_by, 0)})
    pending = pending_extension(session, item_id)
    if pending is not None:
        raise Refusal("extension_pending", {"id": item_id, "days": pending.days,
                                            "by": pending.requested_by_name or "—"})
    request = ExtensionRequest(item_id=item_id, days=days, reason=reason, requested_by=person.user_id,
                               requested_by_name=person.name, requested_at=now, chat_id=actor.chat_id)
    session.add(request)
    session.flush()
    new_deadline, provisional = deadline_for(wf, item, extended_by=item.extended_by + days)
    log_event(session, item, "extension_requested", actor, now, request=request.id, days=days, reason=reason)
    desk = wf.config.desk.chat_id
    text = wf.renderer.template(
        "extension_request.html.j2", None, item=item, title=short_title(item), request=request,
        region_name=wf.region_name(item.region), cap=cap, new_deadline=new_deadline,
        provisional=provisional, supervisors=mentionable(responsible_supervisors(wf, item.region)),
    )
    buttons = [[Button(wf.renderer.text("button.approve_plain", None, id=item_id), f"{CALLBACK_APPROVE}:{item_id}"),
                Button(wf.renderer.text("button.refuse_plain", None, id=item_id), f"{CALLBACK_REFUSE}:{item_id}")]]
    enqueue_message(session, desk, text, now=now, buttons=buttons, lane=PRIORITY_LANE, item_id=item_id,
                    purpose="extension_request", dedupe_key=_request_key(request))
    if actor.chat_id is not None and actor.chat_id != desk:
        say(session, actor.chat_id, wf.renderer.text("ok.extension_requested", wf.lang_for(actor),
                                                      id=item_id, days=days), now,
            reply_to=actor.message_id, item_id=item_id)
    return request


def _request_key(request: ExtensionRequest) -> str:
    return f"extension:{request.id}"


def decide_extension(session: Session, wf: WorkflowContext, item_id: int, actor: Actor, approve: bool,
                     now: datetime, *, chat_id: int, message_id: int) -> str:
    """A supervisor's button press on a request: approve (the deadline moves) or refuse. The
    pressed message must be the request now pending, so an old request's buttons change nothing.
    Returns the pop-up text; the holder is told in the chat they asked from, the desk in reply to
    the request."""
    person = _person(wf, actor)
    if person.role != Role.SUPERVISOR:
        raise Refusal("decide_supervisors_only")
    item = get_item(session, item_id, lock=True)
    if person.region not in (ALL_REGIONS, item.region):
        raise Refusal("decide_supervisors_only")
    request = pending_extension(session, item_id)
    pressed = session.exec(select(Outbox).where(
        Outbox.chat_id == chat_id, Outbox.message_id == message_id, Outbox.item_id == item_id,
        Outbox.purpose == "extension_request")).first()
    if pressed is None and request is not None:
        # pressed within moments of delivery, before the worker recorded the message id
        # (or just recorded: the worker may have written it between the two queries)
        pressed = session.exec(select(Outbox).where(
            Outbox.dedupe_key == _request_key(request), Outbox.chat_id == chat_id,
            or_(Outbox.message_id.is_(None), Outbox.message_id == message_id))).first()  # type: ignore[union-attr]
    if pressed is None:
        raise Refusal("stale_button")
    if request is None or pressed.dedupe_key != _request_key(request):
        raise Refusal("no_pending_extension", {"id": item_id})
    lang = wf.lang_for(actor)
    if item.status in ANSWERED_STATUSES:  # replied meanwhile: nothing left to extend
        raise Refusal("already_replied", {"id": item_id, "at": view(wf, item).replied_at})
    if approve:
        why = extension_refusal(item.extended_by, request.days, wf.policy)
        if why is not None:
            cap = wf.policy.max_extension_days
            raise Refusal("extension_over_cap", {"id": item_id, "days": request.days, "used": item.extended_by,
                                                 "cap": cap, "left": max(cap - item.extended_by, 0)})
        old_deadline = item.deadline
        item.extended_by += request.days
        recompute_deadline(wf, item)
        session.add(item)
    request.status = "approved" if approve else "refused"
    request.decided_by, request.decided_by_name, request.decided_at = person.user_id, person.name, now
    session.add(request)
    session.flush()
    if approve:
        log_event(session, item, "extension_approved", actor, now, request=request.id, days=request.days,
                total=item.extended_by, old_deadline=old_deadline, deadline=item.deadline,
                provisional=item.deadline_provisional)
        refresh_cards(session, wf, item, now, lane=PRIORITY_LANE)
    else:
        log_event(session, item, "extension_refused", actor, now, request=request.id, days=request.days)
    ctx = dict(item=item, request=request, by=person.name, approved=approve, title=short_title(item))
    desk_note = wf.renderer.template("extension_decided.html.j2", None, holder=None, **ctx)
    enqueue_message(session, chat_id, desk_note, now=now, lane=PRIORITY_LANE, item_id=item_id,
                    purpose="extension_decided", reply_to_message_id=message_id)
    if request.chat_id is not None and request.chat_id != chat_id:
        holder = {"id": request.requested_by, "name": request.requested_by_name} if request.requested_by else None
        note = wf.renderer.template("extension_decided.html.j2", None, holder=holder, **ctx)
        enqueue_message(session, request.chat_id, note, now=now, lane=PRIORITY_LANE, item_id=item_id,
                        purpose="extension_decided")
    key = "ok.popup_extension_approved_plain" if approve else "ok.popup_extension_refused_plain"
    return wf.renderer.text(key, lang, id=item_id, days=request.days)


# ---------------------------------------------------------------------------- due and overdue lists


def chat_scope(session: Session, wf: WorkflowContext, actor: Actor) -> tuple[str, str | None]:
    """Which items a listing in this chat covers: ("region", code) in a region's group chat,
    ("all", None) in the desk or leaders' chat and for province-wide people in private,
    ("region", code) for a region's officer in private."""
    person = _person(wf, actor)
    chat = actor.chat_id
    if chat is not None:
        code = region_of_chat(session, chat)
        if code is not None:
            return "region", code
        if chat in (wf.config.desk.chat_id, wf.config.leaders.chat_id):
            return "all", None
    if person.role in (Role.SUPERVISOR, Role.LEADER) or person.region == ALL_REGIONS:
        return "all", None
    return "region", person.region


def _open_in_scope(session: Session, scope: tuple[str, str | None]):  # type: ignore[no-untyped-def]
    stmt = select(Item).where(Item.status.in_([str(s) for s in OPEN_STATUSES]),  # type: ignore[attr-defined]
                              Item.deadline != None, live_items())  # noqa: E711
    kind, code = scope
    if kind == "region":
        stmt = stmt.where(Item.region == code)
    return stmt.order_by(Item.deadline, Item.id)  # type: ignore[arg-type]


def list_due(session: Session, wf: WorkflowContext, actor: Actor, now: datetime) -> list[Item]:
    """``/due``: open items of this chat due by the end of the next working day, soonest first."""
    scope = chat_scope(session, wf, actor)
    until = due_soon_until(now, wf.tz, wf.policy.hours)
    items = list(session.exec(_open_in_scope(session, scope).where(Item.deadline > now, Item.deadline <= until)))
    _answer_list(session, wf, actor, now, items, "due", scope, until=until)
    return items


def list_overdue(session: Session, wf: WorkflowContext, actor: Actor, now: datetime) -> list[Item]:
    """``/overdue``: open items of this chat past their deadline, longest overdue first."""
    scope = chat_scope(session, wf, actor)
    items = list(session.exec(_open_in_scope(session, scope).where(Item.deadline <= now)))
    _answer_list(session, wf, actor, now, items, "overdue", scope)
    return items


def _answer_list(session: Session, wf: WorkflowContext, actor: Actor, now: datetime, items: list[Item],
                 heading: str, scope: tuple[str, str | None], until: datetime | None = None) -> None:
    if actor.chat_id is None:
        return
    shown = [describe_item(wf, it, now) for it in items[:LIST_LIMIT]]
    text = wf.renderer.template("reminder_list.html.j2", wf.lang_for(actor), heading=heading, items=shown,
                                more=max(len(items) - LIST_LIMIT, 0), until=until,
                                region_name=wf.region_name(scope[1]) if scope[0] == "region" else None)
    say(session, actor.chat_id, text, now, reply_to=actor.message_id, purpose="list")


__all__ = [
    "DEADLINE_EVENTS",
    "chat_scope",
    "deadline_for",
    "decide_extension",
    "describe_item",
    "list_due",
    "list_overdue",
    "mark_complex",
    "mentionable",
    "pending_extension",
    "recompute_deadline",
    "request_extension",
    "responsible_supervisors",
    "set_priority",
]

