"""Closing (办结): the reply has been made public on the platform, so the item's handling ends.

Said by the crawler that posts replies back (``POST /api/v1/messages/{id}/close``). Closing a closed
item again changes nothing, so a crawler may repeat itself safely.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.rules.states import Refusal, Status, can_transition, target
from bot.workflow.cards import refresh_cards
from bot.workflow.context import Actor, WorkflowContext
from bot.workflow.items import get_item, log_event
from storage.models import Item

PLATFORM = Actor(None, "platform", source="api")


def close(session: Session, wf: WorkflowContext, item_id: int, now: datetime, *,
          published_at: datetime | None = None, url: str | None = None, actor: Actor = PLATFORM) -> Item:
    """The replied item becomes ``closed``: published at ``published_at`` (default: now), its
    public page ``url`` when given; the cards say so. A ``not_replied`` refusal when the item has
    no reply (yet, or again after reopening)."""
    item = get_item(session, item_id, lock=True)
    if item.status == Status.CLOSED:
        return item
    if not can_transition("close", item.status):
        raise Refusal("close_not_replied", {"id": item_id})
    item.status = target("close")
    item.closed_at = now
    item.published_at = published_at or now
    if url:
        item.url = url
    session.add(item)
    session.flush()
    log_event(session, item, "closed", actor, now, published_at=item.published_at, url=url)
    refresh_cards(session, wf, item, now)
    return item
