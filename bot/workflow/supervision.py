"""督办: a leader or supervisor marks an item supervised (``/supervise N``, or the alert's button)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.delivery.outbox import PRIORITY_LANE, enqueue_message
from bot.rules.deadlines import apply_supervision
from bot.rules.states import ANSWERED_STATUSES, Refusal, Role
from bot.workflow.answers import say
from bot.workflow.cards import refresh_cards
from bot.workflow.context import Actor, WorkflowContext
from bot.workflow.items import get_item, log_event, view
from bot.workflow.roster import item_chat
from storage.models import Item

CALLBACK_SUPERVISE = "supervise"


def supervise(session: Session, wf: WorkflowContext, item_id: int, actor: Actor, now: datetime, *,
              confirm: bool = True) -> Item:
    """督办: a leader or supervisor marks an item supervised; the region is told and the
    remaining working time to the deadline shrinks by the configured factor."""
    person = wf.person(actor.user_id, actor.name)
    if not person.in_roster:
        raise Refusal("not_in_roster")
    if person.role not in (Role.SUPERVISOR, Role.LEADER):
        raise Refusal("supervise_not_allowed")
    item = get_item(session, item_id, lock=True)
    if item.supervised:
        raise Refusal("already_supervised", {"id": item_id})
    if item.status in ANSWERED_STATUSES:
        raise Refusal("already_replied", {"id": item_id, "at": view(wf, item, now).replied_at})
    item.supervised, item.supervised_at = True, now
    if item.deadline is not None and item.deadline > now:
        item.deadline = apply_supervision(item.deadline, now, wf.config.deadlines.supervised_factor,
                                          wf.policy.hours, wf.tz)
    session.add(item)
    session.flush()
    log_event(session, item, "supervised", actor, now, deadline=item.deadline)
    refresh_cards(session, wf, item, now, lane=PRIORITY_LANE)
    notice = wf.renderer.template("supervised.html.j2", None, item=item, by=person.name,
                                  region_name=wf.region_name(item.region))
    chat = item_chat(session, wf, item)
    enqueue_message(session, chat, notice, now=now, lane=PRIORITY_LANE, item_id=item_id,
                    purpose="supervised")
    if confirm and actor.chat_id is not None and actor.chat_id != chat:
        say(session, actor.chat_id, wf.renderer.text("ok.supervised", wf.lang_for(actor), id=item_id),
            now, reply_to=actor.message_id, item_id=item_id)
    return item
