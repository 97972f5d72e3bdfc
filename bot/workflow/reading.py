"""Steps that change nothing and answer with what is there: ``/show`` and ``/mine``."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from bot.delivery.outbox import PRIORITY_LANE, enqueue_message
from bot.rules.states import Refusal, Role, Status, check_read
from bot.workflow.answers import say
from bot.workflow.cards import render_card
from bot.workflow.context import Actor, WorkflowContext
from bot.workflow.items import get_item, view
from storage.models import Item


def show(session: Session, wf: WorkflowContext, item_id: int, actor: Actor, now: datetime, *,
         private: bool) -> None:
    """Post the card again as an answer; in a private chat the holder and supervisors get the
    full text (personal numbers unmasked), everyone else the masked card."""
    person = wf.person(actor.user_id, actor.name)
    item = get_item(session, item_id)
    check_read(person, view(wf, item, now))
    full = private and (person.role == Role.SUPERVISOR or item.claimed_by == person.user_id)
    text, buttons = render_card(wf, item, full=full, lang=wf.lang_for(actor))
    assert actor.chat_id is not None
    enqueue_message(session, actor.chat_id, text, now=now, buttons=buttons, lane=PRIORITY_LANE,
                    reply_to_message_id=actor.message_id, item_id=item_id, purpose="show")


def mine(session: Session, wf: WorkflowContext, actor: Actor, now: datetime) -> list[Item]:
    """Items the actor holds and has not replied to, oldest deadline first; answered in the chat."""
    person = wf.person(actor.user_id, actor.name)
    if not person.in_roster:
        raise Refusal("not_in_roster")
    items = list(session.exec(
        select(Item).where(Item.claimed_by == person.user_id,
                           Item.status.in_([str(Status.CLAIMED), str(Status.REOPENED)]))  # type: ignore[attr-defined]
        .order_by(Item.deadline, Item.id)  # type: ignore[arg-type]
    ))
    if actor.chat_id is not None:
        text = wf.renderer.template("item_list.html.j2", wf.lang_for(actor), items=items,
                                    heading="mine", now=now, region_names=wf.region_names)
        say(session, actor.chat_id, text, now, reply_to=actor.message_id, purpose="list")
    return items
