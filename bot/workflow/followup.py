"""回头看: some working days after a reply, the item's chat is asked whether the problem was
actually solved (``[followup] after_days``; without the section nothing is asked).

- ``schedule_followup``: a reply sets when the question falls due (the end of the
  ``after_days``-th working day after it, like a deadline).
- ``sweep_followups`` (each sweep in office hours): asks every item whose question fell due and was
  not asked yet, naming the holder, with the buttons 已解决 / 仍在整改. Recording the question and
  queueing it happen in one transaction, with a conditional UPDATE, so it is asked once.
- ``answer_followup`` (``/followup N solved|ongoing note``, or the buttons): the holder or a
  supervisor answers; "ongoing" is asked again ``after_days`` after the answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import or_, update
from sqlmodel import Session, select

from bot.delivery.outbox import ROUTINE_LANE, Button, enqueue_message
from bot.rules.method import ONGOING, SOLVED, followup_due, in_office_hours, parse_followup_answer
from bot.rules.states import ANSWERED_STATUSES, Refusal, Role
from bot.workflow.answers import say
from bot.workflow.context import Actor, WorkflowContext
from bot.workflow.deadlines import clean_reason, short_title
from bot.workflow.items import get_item, log_event, utc_stamp
from bot.workflow.verification import SCHEDULER, place_chat
from storage.models import Item

if TYPE_CHECKING:
    from scheduler.sweep import SweepReport

CALLBACK_ANSWER = {SOLVED: "fu_ok", ONGOING: "fu_on"}
ASK_PURPOSE = "followup_ask"
_ANSWERED = [str(s) for s in ANSWERED_STATUSES]


def schedule_followup(wf: WorkflowContext, item: Item, now: datetime) -> None:
    """A reply at ``now``: the item's look-back falls due ``after_days`` working days later."""
    cfg = wf.config.followup
    if cfg is not None:
        item.followup_due = followup_due(now, cfg.after_days, wf.policy.hours, wf.tz)


def answer_buttons(wf: WorkflowContext, item_id: int) -> list[list[Button]]:
    return [[Button(wf.renderer.text(f"button.followup_{answer}_plain", None, id=item_id), f"{data}:{item_id}")
             for answer, data in CALLBACK_ANSWER.items()]]


def answer_followup(session: Session, wf: WorkflowContext, item_id: int, actor: Actor, answer: str,
                    note: str | None, now: datetime, *, confirm: bool = True) -> Item:
    """The holder's (or a supervisor's) answer: ``solved`` ends the look-back, ``ongoing`` asks
    again ``after_days`` working days later."""
    cfg = wf.config.followup
    if cfg is None:
        raise Refusal("followup_off")
    word = parse_followup_answer(answer)
    if word is None:
        raise Refusal("bad_followup", {"value": (answer or "")[:30]})
    note = clean_reason(note)
    person = wf.person(actor.user_id, actor.name)
    if not person.in_roster:
        raise Refusal("not_in_roster")
    item = get_item(session, item_id, lock=True)
    if person.role != Role.SUPERVISOR and item.claimed_by != person.user_id:
        raise Refusal("followup_holder_only", {"id": item_id, "holder": item.claimed_by_name or "—"})
    if item.status not in ANSWERED_STATUSES:
        raise Refusal("followup_not_replied", {"id": item_id})
    if item.followup == SOLVED:
        raise Refusal("followup_solved", {"id": item_id})
    item.followup, item.followup_at = word, now
    item.followup_due = followup_due(now, cfg.after_days, wf.policy.hours, wf.tz) if word == ONGOING else None
    session.add(item)
    log_event(session, item, "followup", actor, now, answer=word, note=note or None, next=item.followup_due)
    if confirm and actor.chat_id is not None:
        say(session, actor.chat_id, wf.renderer.text(f"ok.followup_{word}", wf.lang_for(actor), id=item_id,
                                                      next=item.followup_due), now,
            reply_to=actor.message_id, item_id=item_id)
    return item


def sweep_followups(session: Session, wf: WorkflowContext, now: datetime, report: SweepReport) -> None:
    """Ask every item whose look-back fell due and was not asked for it yet (office hours only)."""
    if wf.config.followup is None or not in_office_hours(now, wf.policy.hours, wf.tz):
        return
    unasked = or_(Item.followup_asked_at == None, Item.followup_asked_at < Item.followup_due)  # type: ignore[operator]  # noqa: E711
    due_ids = list(session.exec(select(Item.id).where(
        Item.followup_due <= now, Item.status.in_(_ANSWERED), unasked).order_by(Item.id)))  # type: ignore[attr-defined,operator,arg-type]
    for item_id in due_ids:
        won = session.exec(update(Item).where(  # type: ignore[call-overload]
            Item.id == item_id, Item.followup_due <= now, unasked).values(followup_asked_at=now)).rowcount
        if won != 1:  # another pass asked it a moment ago
            continue
        item = get_item(session, item_id or 0)
        assert item.followup_due is not None
        holder = {"id": item.claimed_by, "name": item.claimed_by_name} if item.claimed_by else None
        text = wf.renderer.text("followup.ask", None, id=item.id, title=short_title(item), holder=holder,
                                replied_at=item.replied_at, again=item.followup == ONGOING)
        stamp = utc_stamp(item.followup_due)
        enqueue_message(session, place_chat(session, wf, item), text, now=now, buttons=answer_buttons(wf, item_id or 0),
                        lane=ROUTINE_LANE, item_id=item_id, purpose=ASK_PURPOSE,
                        dedupe_key=f"followup:{item_id}:{stamp}")
        log_event(session, item, "followup_asked", SCHEDULER, now, due=item.followup_due)
        report.add("followups")


__all__ = ["CALLBACK_ANSWER", "answer_followup", "schedule_followup", "sweep_followups"]
