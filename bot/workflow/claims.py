"""Taking an item in hand and answering it: ``/claim`` (or the card's button) and ``/reply``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session

from bot.delivery.outbox import PRIORITY_LANE
from bot.rules.states import Refusal, Status, check_claim, check_reply, sources, target
from bot.workflow.answers import say
from bot.workflow.cards import refresh_cards
from bot.workflow.context import Actor, WorkflowContext
from bot.workflow.followup import schedule_followup
from bot.workflow.items import get_item, log_event, view
from storage.models import Item

REPLY_LIMIT = 3000


def claim(session: Session, wf: WorkflowContext, item_id: int, actor: Actor, now: datetime, *,
          confirm: bool = True) -> Item:
    """Claim with one conditional UPDATE, so of many simultaneous claims exactly one wins."""
    person = wf.person(actor.user_id, actor.name)
    item = get_item(session, item_id)
    check_claim(person, view(wf, item, now))
    result = session.exec(
        update(Item)
        .where(Item.id == item_id, Item.status.in_([str(s) for s in sorted(sources("claim"))]))  # type: ignore[attr-defined]
        .values(status=target("claim"), claimed_by=person.user_id, claimed_by_name=person.name,
                claimed_at=now)
    )
    if result.rowcount != 1:  # someone else was faster: refuse with their name
        item = get_item(session, item_id)
        check_claim(person, view(wf, item, now))
        raise Refusal("held_by", {"id": item_id, "holder": item.claimed_by_name, "since": view(wf, item, now).claimed_at})
    log_event(session, item, "claimed", actor, now)
    # the person who acted hears first; the card edit follows in the same chat
    if confirm and actor.chat_id is not None:
        say(session, actor.chat_id, wf.renderer.text("ok.claimed", wf.lang_for(actor), id=item_id,
                                                      name=person.name), now,
            reply_to=actor.message_id, item_id=item_id)
    refresh_cards(session, wf, item, now, lane=PRIORITY_LANE)
    return item


def reply(session: Session, wf: WorkflowContext, item_id: int, actor: Actor, text: str,
          now: datetime) -> Item:
    """The holder's (or a supervisor's) answer to the citizen; the card shows it."""
    text = (text or "").strip()
    if not text:
        raise Refusal("empty_reply")
    if len(text) > REPLY_LIMIT:
        raise Refusal("reply_too_long", {"length": len(text), "limit": REPLY_LIMIT})
    person = wf.person(actor.user_id, actor.name)
    item = get_item(session, item_id, lock=True)
    check_reply(person, view(wf, item, now))
    if item.status != Status.CLAIMED or item.claimed_by != person.user_id:
        # a supervisor replying to an item holds it from then on
        item.claimed_by, item.claimed_by_name = person.user_id, person.name
        item.claimed_at = item.claimed_at or now
    item.status = target("reply")
    item.reply, item.replied_at = text, now
    item.replied_by, item.replied_by_name = person.user_id, person.name
    schedule_followup(wf, item, now)
    session.add(item)
    session.flush()
    on_time = item.deadline is None or now <= item.deadline
    log_event(session, item, "replied", actor, now, on_time=on_time, length=len(text))
    if actor.chat_id is not None:
        say(session, actor.chat_id, wf.renderer.text("ok.replied", wf.lang_for(actor), id=item_id),
            now, reply_to=actor.message_id, item_id=item_id)
    refresh_cards(session, wf, item, now, lane=PRIORITY_LANE)
    return item
