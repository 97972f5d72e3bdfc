"""What citizens do to an item after intake, through the API: rate its reply (an unsatisfied
rating reopens the item: 重办)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.rules.states import ANSWERED_STATUSES, Refusal
from bot.workflow.context import Actor, WorkflowContext
from bot.workflow.items import get_item, log_event
from bot.workflow.reopening import reopen
from storage.models import Item

CITIZEN = Actor(None, "citizen", source="api")
UNSATISFIED = "unsatisfied"


def rate(session: Session, wf: WorkflowContext, item_id: int, rating: str, comment: str | None,
         now: datetime) -> Item:
    """The citizen's rating of the reply (a replied or closed item only); ``rating`` keeps the
    latest, and an unsatisfied one reopens the item."""
    item = get_item(session, item_id, lock=True)
    if item.status not in ANSWERED_STATUSES:
        raise Refusal("not_replied", {"id": item_id})
    item.rating, item.rating_comment, item.rated_at = rating, comment, now
    session.add(item)
    log_event(session, item, "rated", CITIZEN, now, rating=rating)
    if rating == UNSATISFIED:
        reopen(session, wf, item, CITIZEN, comment, now)
    return item
