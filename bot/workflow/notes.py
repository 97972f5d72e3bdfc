"""Progress notes (``/note N text``): what the holder or a supervisor did so far, kept in the
event log (action ``note``, detail ``{"text": ...}``) and shown by ``/show``. Inside an item's
topic any message of its holder counts as one. A note also renews the holder's claim lease."""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import Session, select

from bot.rules.states import Refusal, Role, Status
from bot.workflow.answers import say
from bot.workflow.context import Actor, WorkflowContext
from bot.workflow.items import get_item, log_event
from bot.workflow.reading import show
from bot.workflow.topics import topic_item
from storage.models import Event

NOTE_ACTION = "note"
NOTE_LIMIT = 2000
SHOWN_NOTES = 10  # /show lists the latest this many


def note(session: Session, wf: WorkflowContext, item_id: int, actor: Actor, text: str, now: datetime) -> None:
    """A progress note by the holder or a supervisor."""
    text = (text or "").strip()
    if not text:
        raise Refusal("empty_note")
    if len(text) > NOTE_LIMIT:
        raise Refusal("note_too_long", {"length": len(text), "limit": NOTE_LIMIT})
    person = wf.person(actor.user_id, actor.name)
    if not person.in_roster:
        raise Refusal("not_in_roster")
    item = get_item(session, item_id)
    if person.role != Role.SUPERVISOR and item.claimed_by != person.user_id:
        if person.role == Role.LEADER:
            raise Refusal("leader_cannot", {"id": item_id})
        if item.claimed_by is None or item.status in (Status.NEW, Status.UNROUTED):
            raise Refusal("note_unclaimed", {"id": item_id})
        raise Refusal("note_not_allowed", {"id": item_id, "holder": item.claimed_by_name})
    log_event(session, item, NOTE_ACTION, actor, now, text=text)
    if actor.chat_id is not None:
        say(session, actor.chat_id, wf.renderer.text("ok.noted", wf.lang_for(actor), id=item_id), now,
            reply_to=actor.message_id, item_id=item_id)


def holder_message(session: Session, wf: WorkflowContext, chat_id: int, thread_id: int | None, actor: Actor,
                   text: str, now: datetime) -> bool:
    """A plain message in an item's topic: a note when its holder wrote it (nothing is said back,
    the topic is the holder's own working space). Returns whether it was taken as one."""
    topic = topic_item(session, chat_id, thread_id)
    if topic is None or actor.user_id is None or not (text or "").strip():
        return False
    item = get_item(session, topic.item_id)
    if item.claimed_by != actor.user_id or item.status != Status.CLAIMED:
        return False
    log_event(session, item, NOTE_ACTION, actor, now, text=text.strip()[:NOTE_LIMIT], source="topic")
    return True


def notes_of(session: Session, item_id: int, limit: int = SHOWN_NOTES) -> list[Event]:
    """The item's latest notes, oldest first."""
    rows = session.exec(select(Event).where(Event.item_id == item_id, Event.action == NOTE_ACTION)
                        .order_by(Event.at.desc(), Event.id.desc()).limit(limit))  # type: ignore[attr-defined]
    return list(reversed(list(rows)))


def show_with_notes(session: Session, wf: WorkflowContext, item_id: int, actor: Actor, now: datetime, *,
                    private: bool) -> None:
    """``/show``: the card, then the progress notes (when there are any) as a second message."""
    show(session, wf, item_id, actor, now, private=private)
    notes = notes_of(session, item_id)
    if not notes or actor.chat_id is None:
        return
    lang = wf.lang_for(actor)
    lines = [wf.renderer.text("topics.notes_heading", lang, id=item_id)]
    for event in notes:
        lines.append(wf.renderer.text("topics.note_line", lang, at=event.at, name=event.actor_name or "",
                                      text=json.loads(event.detail or "{}").get("text", "")))
    say(session, actor.chat_id, "\n".join(lines)[:4000], now, reply_to=actor.message_id, purpose="show")
