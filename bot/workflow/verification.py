"""报前核查: the desk chooses items for the leaders' weekly roundup, and the item's own place (its
region's chat) verifies the facts before the roundup is built.

- ``select`` (``/select N``, a card's button, a button on the desk's proposal of key items): a
  supervisor chooses a routed item for the next roundup; its chat is asked to verify it by the
  round's deadline (:func:`bot.rules.method.verification_due`), with buttons.
- ``verify`` (``/verify N true|partly|false note``, or the buttons): an officer of the item's place
  or a supervisor records the verdict and a note.
- ``sweep_verification`` (each sweep): the one reminder of each unverified item, and the proposal
  of the coming roundup's key items to the desk. Each is recorded in the same transaction that
  queues it, so a restart or a second process never says it twice.

Who acts for an item's place, and where its chat is, are asked of :func:`check_place` and
:func:`place_chat` only, so a new kind of place (a department) changes those two and nothing else.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.delivery.outbox import PRIORITY_LANE, ROUTINE_LANE, Button, enqueue_message
from bot.rules.deadlines import QuietHours, in_quiet_time
from bot.rules.method import last_weekly_before, next_weekly, parse_verdict, reminder_at, verification_due
from bot.rules.states import ALL_REGIONS, Person, Refusal, Role
from bot.workflow.answers import say
from bot.workflow.cards import CALLBACK_SELECT
from bot.workflow.context import SCHEDULER, Actor, WorkflowContext
from bot.workflow.deadlines import clean_reason, short_title
from bot.workflow.items import get_item, log_event, log_events, utc_stamp
from bot.workflow.roster import item_chat
from storage.models import Item, Meta, Outbox, Selection

if TYPE_CHECKING:
    from scheduler.sweep import SweepReport

CALLBACK_VERDICT = {"true": "vf_t", "partly": "vf_p", "false": "vf_f"}
ASK_PURPOSES = ("verify_ask", "verify_remind")
PROPOSAL_PURPOSE = "verify_proposal"
PROPOSED_MOST = 8  # key items proposed to the desk at once


# ---------------------------------------------------------------------------- the item's place


def place_chat(session: Session, wf: WorkflowContext, item: Item) -> int:
    """The chat of the item's place (its region's), or the desk for an unrouted item."""
    return item_chat(session, wf, item)


def place_name(wf: WorkflowContext, item: Item) -> str | None:
    return wf.region_name(item.region)


def check_place(wf: WorkflowContext, person: Person, item: Item) -> None:
    """Who acts for the item's place: its officers (province-wide ones too) and supervisors."""
    if not person.in_roster:
        raise Refusal("not_in_roster")
    if person.role == Role.SUPERVISOR:
        return
    if person.role == Role.LEADER:
        raise Refusal("leader_cannot", {"id": item.id})
    if person.region not in (ALL_REGIONS, item.region):
        raise Refusal("wrong_region", {"id": item.id, "region": place_name(wf, item) or "—"})


# ---------------------------------------------------------------------------- rounds


def round_after(wf: WorkflowContext, now: datetime) -> datetime:
    """The weekly roundup an item chosen at ``now`` belongs to: the first one due after it."""
    schedule = wf.config.schedule
    return next_weekly(now, schedule.weekly_day, schedule.weekly_time, wf.tz)


def latest_selection(session: Session, item_id: int) -> Selection | None:
    return session.exec(select(Selection).where(Selection.item_id == item_id)
                        .order_by(Selection.round_due.desc())).first()  # type: ignore[attr-defined]


def verdict_buttons(wf: WorkflowContext, item_id: int) -> list[list[Button]]:
    return [[Button(wf.renderer.text(f"button.verify_{verdict}_plain", None, id=item_id), f"{data}:{item_id}")
             for verdict, data in CALLBACK_VERDICT.items()]]



# ---------------------------------------------------------------------------- steps


def select_item(session: Session, wf: WorkflowContext, item_id: int, actor: Actor, now: datetime, *,
                confirm: bool = True) -> Selection:
    """``/select N``: a supervisor chooses a routed item for the next roundup; its chat is asked
    to verify it by the round's deadline."""
    person = wf.person(actor.user_id, actor.name)
    if not person.in_roster:
        raise Refusal("not_in_roster")
    if person.role != Role.SUPERVISOR:
        raise Refusal("select_supervisors_only")
    item = get_item(session, item_id, lock=True)
    if item.region is None:
        raise Refusal("not_routed", {"id": item_id})
    round_due = round_after(wf, now)
    v = wf.config.verification
    due_at = verification_due(now, round_due, v.due_day, v.due_time, wf.tz)
    chat = place_chat(session, wf, item)
    selection = Selection(item_id=item_id, round_due=round_due, due_at=due_at, selected_at=now,
                          selected_by=person.user_id, selected_by_name=person.name, chat_id=chat)
    try:
        with session.begin_nested():
            session.add(selection)
    except IntegrityError:
        raise Refusal("already_selected", {"id": item_id, "round": round_due}) from None
    log_event(session, item, "selected", actor, now, round=round_due, due=due_at)
    text = wf.renderer.text("verify.ask", None, id=item_id, title=short_title(item), due=due_at,
                            region=place_name(wf, item), by=person.name)
    enqueue_message(session, chat, text, now=now, buttons=verdict_buttons(wf, item_id), lane=PRIORITY_LANE,
                    item_id=item_id, purpose="verify_ask", dedupe_key=f"verify-ask:{selection.id}")
    if confirm and actor.chat_id is not None and actor.chat_id != chat:
        say(session, actor.chat_id, wf.renderer.text("ok.selected", wf.lang_for(actor), id=item_id, due=due_at,
                                                      region=place_name(wf, item), round=round_due),
            now, reply_to=actor.message_id, item_id=item_id)
    return selection


def verify(session: Session, wf: WorkflowContext, item_id: int, actor: Actor, verdict: str, note: str | None,
           now: datetime, *, confirm: bool = True) -> Selection:
    """``/verify N true|partly|false note``: the verdict on the item's latest selection, by an
    officer of its place or a supervisor; once per selection."""
    word = parse_verdict(verdict)
    if word is None:
        raise Refusal("bad_verdict", {"value": (verdict or "")[:30]})
    note = clean_reason(note)
    person = wf.person(actor.user_id, actor.name)
    item = get_item(session, item_id, lock=True)
    check_place(wf, person, item)
    selection = latest_selection(session, item_id)
    if selection is None:
        raise Refusal("not_selected", {"id": item_id})
    if selection.verdict is not None:
        raise Refusal("already_verified", {"id": item_id, "by": selection.verified_by_name or "—",
                                           "verdict": wf.renderer.text(f"verdict.{selection.verdict}", wf.lang_for(actor))})
    selection.verdict, selection.note = word, note or None
    selection.verified_at, selection.verified_by, selection.verified_by_name = now, person.user_id, person.name
    session.add(selection)
    on_time = now <= selection.due_at
    log_event(session, item, "verified", actor, now, verdict=word, note=note or None, on_time=on_time,
              round=selection.round_due)
    if confirm and actor.chat_id is not None:
        say(session, actor.chat_id, wf.renderer.text("ok.verified", wf.lang_for(actor), id=item_id,
                                                      verdict=wf.renderer.text(f"verdict.{word}", wf.lang_for(actor))),
            now, reply_to=actor.message_id, item_id=item_id)
    return selection


# ---------------------------------------------------------------------------- the sweep


def sweep_verification(session: Session, wf: WorkflowContext, now: datetime, report: SweepReport) -> None:
    """The one reminder of each unverified selection, and the desk's proposal of key items."""
    quiet = QuietHours(wf.config.schedule.quiet_start, wf.config.schedule.quiet_end)
    if in_quiet_time(now, quiet, wf.tz, workdays_only=False):
        return
    _remind(session, wf, now, report)
    _propose(session, wf, now, report)


def _remind(session: Session, wf: WorkflowContext, now: datetime, report: SweepReport) -> None:
    hours = wf.config.verification.remind_before_hours
    rows = session.exec(select(Selection).where(
        Selection.verdict == None, Selection.reminded_at == None,  # noqa: E711
        Selection.due_at > now, Selection.due_at <= now + timedelta(hours=hours))).all()
    for selection in rows:
        at = reminder_at(selection.selected_at, selection.due_at, hours)
        if at is None or at > now:
            continue
        # the record and the message in one transaction; of two racing passes one wins the UPDATE
        won = session.exec(update(Selection).where(  # type: ignore[call-overload]
            Selection.id == selection.id, Selection.reminded_at == None, Selection.verdict == None)  # noqa: E711
            .values(reminded_at=now)).rowcount
        if won != 1:
            continue
        item = get_item(session, selection.item_id)
        text = wf.renderer.text("verify.remind", None, id=item.id, title=short_title(item), due=selection.due_at,
                                region=place_name(wf, item))
        enqueue_message(session, place_chat(session, wf, item), text, now=now, buttons=verdict_buttons(wf, item.id or 0),
                        lane=ROUTINE_LANE, item_id=item.id, purpose="verify_remind",
                        dedupe_key=f"verify-remind:{selection.id}")
        log_event(session, item, "verify_reminded", SCHEDULER, now, round=selection.round_due)
        report.add("verification_reminders")


def _propose(session: Session, wf: WorkflowContext, now: datetime, report: SweepReport) -> None:
    """Once per round, from ``propose_before_hours`` before its verification deadline: the key
    items of the week the roundup will cover, not yet chosen, each with a button to choose it."""
    from bot.reports.method import proposed_key_items

    v = wf.config.verification
    round_due = round_after(wf, now)
    due = last_weekly_before(round_due, v.due_day, v.due_time, wf.tz)
    if not due - timedelta(hours=v.propose_before_hours) <= now < due:
        return
    key = f"verify-propose:{utc_stamp(round_due)}"
    # considered once per round, also when there is nothing to propose: finding the key items
    # clusters the week's messages, too much to repeat at every sweep
    if session.get(Meta, key) is not None:
        return
    try:
        with session.begin_nested():
            session.add(Meta(key=key, value=now.isoformat()))
    except IntegrityError:  # another pass is proposing them
        return
    chosen = set(session.exec(select(Selection.item_id).where(Selection.round_due == round_due)))
    entries = [e for e in proposed_key_items(session, wf.config, round_due, now) if e["id"] not in chosen]
    entries = entries[:PROPOSED_MOST]
    if not entries:
        return
    text = wf.renderer.text("verify.proposal", None, items=entries, due=due, round=round_due)
    buttons = [[Button(wf.renderer.text("button.select_plain", None, id=e["id"]), f"{CALLBACK_SELECT}:{e['id']}")]
               for e in entries]
    row = enqueue_message(session, wf.config.desk.chat_id, text, now=now, buttons=buttons, lane=ROUTINE_LANE,
                          purpose=PROPOSAL_PURPOSE, dedupe_key=key)
    if row is not None:
        log_events(session, [(None, "key_items_proposed", {"items": [e["id"] for e in entries],
                                                           "round": round_due})], SCHEDULER, now)
        report.add("verification_proposals")


def proposal_offers(row: Outbox, item_id: int) -> bool:
    """Whether a desk proposal (an outbox row) carries the button choosing ``item_id``."""
    buttons: Any = json.loads(row.payload).get("buttons") or []
    return any(b.get("callback_data") == f"{CALLBACK_SELECT}:{item_id}" for line in buttons for b in line)


__all__ = [
    "CALLBACK_SELECT",
    "CALLBACK_VERDICT",
    "check_place",
    "latest_selection",
    "place_chat",
    "proposal_offers",
    "round_after",
    "select_item",
    "sweep_verification",
    "verify",
]
