"""派单: ``/assign N <officer>``, a supervisor claims an item on an officer's behalf.

The officer is named by user id or by name. The item is claimed for them with one conditional
UPDATE (as a claim is); a held item changes hands and its former holder is told. The assignee is
named in the item's chat (its topic, where it has one) and told privately where they have started
the bot. The event is ``claimed``, with who assigned it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, select

from bot.config import OfficerConfig
from bot.delivery.outbox import PRIORITY_LANE, enqueue_message
from bot.rules.states import Refusal, Status, check_assign, sources, target
from bot.workflow.answers import say
from bot.workflow.cards import refresh_cards
from bot.workflow.context import Actor, WorkflowContext
from bot.workflow.items import get_item, log_event, view
from bot.workflow.roster import item_chat
from storage.models import Item, Officer


def find_officer(wf: WorkflowContext, ref: str, item_id: int) -> OfficerConfig:
    """The roster entry ``ref`` names (a user id, or a name exactly); a refusal when none or
    several do (listing them)."""
    ref = (ref or "").strip().lstrip("@")
    if ref.isdigit() and int(ref) in wf.roster:
        return wf.roster[int(ref)]
    named = [o for o in wf.config.officers if o.name == ref]
    if not named:
        raise Refusal("assign_unknown_officer", {"ref": ref[:40]})
    if len(named) > 1:
        choices = "、".join(f"{o.name}（{o.user_id}，{wf.region_name(o.region) or o.region}）" for o in named)
        raise Refusal("assign_ambiguous", {"ref": ref, "count": len(named), "choices": choices, "id": item_id,
                                           "example": named[0].user_id})
    return named[0]


def assign(session: Session, wf: WorkflowContext, item_id: int, actor: Actor, officer_ref: str,
           now: datetime) -> Item:
    person = wf.person(actor.user_id, actor.name)
    if not person.in_roster:
        raise Refusal("not_in_roster")
    officer = find_officer(wf, officer_ref, item_id)
    assignee = wf.person(officer.user_id, officer.name)
    item = get_item(session, item_id)
    current = view(wf, item, now)
    check_assign(person, assignee, current)
    former_id, former_name = (item.claimed_by, item.claimed_by_name) if item.status == Status.CLAIMED else (None, None)
    stmt = update(Item).where(Item.id == item_id, Item.status == item.status,
                              Item.status.in_([str(s) for s in sources("assign")]))  # type: ignore[attr-defined]
    stmt = stmt.where(Item.claimed_by == former_id) if former_id is not None else stmt
    result = session.exec(stmt.values(status=target("assign"), claimed_by=assignee.user_id,
                                      claimed_by_name=assignee.name, claimed_at=now, released_from=None))
    if result.rowcount != 1:  # it changed meanwhile (claimed, replied): refuse as it stands now
        item = get_item(session, item_id)
        check_assign(person, assignee, view(wf, item, now))
        raise Refusal("held_by", {"id": item_id, "holder": item.claimed_by_name,
                                  "since": view(wf, item, now).claimed_at})
    item = get_item(session, item_id)
    log_event(session, item, "claimed", actor, now, assigned_to=assignee.user_id, assigned_by=person.user_id,
              former=former_id)
    chat = item_chat(session, wf, item)
    said = wf.renderer.text("ok.assigned", None, id=item_id, name=assignee.name, former=former_name)
    if actor.chat_id is not None:
        say(session, actor.chat_id, wf.renderer.text("ok.assigned", wf.lang_for(actor), id=item_id,
                                                      name=assignee.name, former=former_name),
            now, reply_to=actor.message_id, item_id=item_id)
    if actor.chat_id != chat:
        enqueue_message(session, chat, said, now=now, lane=PRIORITY_LANE, item_id=item_id, purpose="assigned")
    privately = _private_chats(session, [assignee.user_id] + ([former_id] if former_id else []))
    if assignee.user_id in privately:
        lang = wf.lang_for(Actor(assignee.user_id, assignee.name))
        enqueue_message(session, privately[assignee.user_id], wf.renderer.text(
            "ok.assigned_private", lang, by=person.name, id=item_id, title=item.title or item.body[:40],
            region=wf.region_name(item.region) or "", deadline=item.deadline),
            now=now, lane=PRIORITY_LANE, item_id=item_id, purpose="assigned")
    if former_id is not None and former_id in privately:
        lang = wf.lang_for(Actor(former_id, former_name or ""))
        enqueue_message(session, privately[former_id], wf.renderer.text(
            "ok.assign_taken_from", lang, id=item_id, by=person.name, name=assignee.name),
            now=now, lane=PRIORITY_LANE, item_id=item_id, purpose="assigned")
    elif former_id is not None:  # no private chat known: told where the item is handled
        enqueue_message(session, chat, wf.renderer.text("ok.assign_taken_from", None, id=item_id, by=person.name,
                                                        name=assignee.name),
                        now=now, lane=PRIORITY_LANE, item_id=item_id, purpose="assigned")
    refresh_cards(session, wf, item, now, lane=PRIORITY_LANE)
    return item


def _private_chats(session: Session, user_ids: list[int]) -> dict[int, int]:
    """Where these officers started the bot privately (``/start``), by user id."""
    rows = session.exec(select(Officer.user_id, Officer.private_chat_id).where(
        Officer.user_id.in_(user_ids), Officer.private_chat_id != None))  # type: ignore[attr-defined]  # noqa: E711
    return {uid: chat for uid, chat in rows if chat is not None}
