"""What is said back to the person who acted: answers, refusals and ``/help``. Each is queued on
the priority lane, ahead of routine cards in the same chat."""

from __future__ import annotations

import html
from datetime import datetime

from sqlmodel import Session

from bot.delivery.outbox import PRIORITY_LANE, enqueue_message
from bot.rules.states import Refusal
from bot.workflow.context import Actor, WorkflowContext


def say(session: Session, chat_id: int, text: str, now: datetime, *,
        reply_to: int | None = None, lane: int = PRIORITY_LANE, item_id: int | None = None,
        purpose: str = "answer") -> None:
    """Queue an answer to a person who just acted (priority lane by default)."""
    enqueue_message(session, chat_id, text, now=now, lane=lane, reply_to_message_id=reply_to,
                    item_id=item_id, purpose=purpose)


def refusal_text(wf: WorkflowContext, refusal: Refusal, actor: Actor, *, plain: bool = False) -> str:
    """The refusal's reason in the actor's language (``plain``: unescaped, for a pop-up)."""
    lang = wf.lang_for(actor)
    key = f"refuse.{refusal.code}" if wf.renderer.has_text(f"refuse.{refusal.code}") else refusal.code
    text = wf.renderer.text(key, lang, **refusal.params)
    return html.unescape(text) if plain else text


def refuse(session: Session, wf: WorkflowContext, actor: Actor, refusal: Refusal, now: datetime) -> str:
    """Queue the refusal's reason as an answer in the actor's chat; returns the text."""
    text = refusal_text(wf, refusal, actor)
    if actor.chat_id is not None:
        say(session, actor.chat_id, text, now, reply_to=actor.message_id, purpose="refusal")
    return text


def send_help(session: Session, wf: WorkflowContext, actor: Actor, now: datetime, *,
              welcome: bool = False) -> None:
    """``/help`` (and ``/start``'s welcome): what this person may do, by their role."""
    person = wf.person(actor.user_id, actor.name)
    text = wf.renderer.template("help.html.j2", wf.lang_for(actor), person=person, welcome=welcome,
                                region_name=wf.region_name(person.region) if person.region else None)
    if actor.chat_id is not None:
        say(session, actor.chat_id, text, now, reply_to=actor.message_id, purpose="help")
