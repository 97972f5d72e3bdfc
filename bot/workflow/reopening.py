"""重办: a citizen unsatisfied with the reply reopens the item.

The item goes back to work with the same holder: status ``reopened``, a new deadline counted from
the rating with the item's priority (a supervised item stays supervised, its remaining time shrunk
from the reopening on), extensions of the first round dropped, the look-back (回头看) reset. Its
old cards are edited to show it, and a new card — a new message, so the chat notices — carries the
citizen's comment and names the holder; all of them follow the item from then on.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.rules.states import Refusal, can_transition, target
from bot.workflow.cards import post_cards, refresh_cards
from bot.workflow.context import Actor, WorkflowContext
from bot.workflow.deadlines import recompute_deadline
from bot.workflow.items import log_event
from storage.models import Item


def reopen(session: Session, wf: WorkflowContext, item: Item, actor: Actor, comment: str | None,
           now: datetime) -> Item:
    """Reopen a replied or closed item (the caller holds its row lock)."""
    if not can_transition("reopen", item.status):
        raise Refusal("not_replied", {"id": item.id})
    old_deadline = item.deadline
    item.status = target("reopen")
    item.reopened_at, item.reopen_count = now, item.reopen_count + 1
    item.extended_by = 0
    item.followup = item.followup_due = item.followup_asked_at = item.followup_at = None
    recompute_deadline(wf, item)
    session.add(item)
    session.flush()
    refresh_cards(session, wf, item, now)  # the old cards keep following the item
    post_cards(session, wf, [item], now)
    log_event(session, item, "reopened", actor, now, comment=comment, old_deadline=old_deadline,
              deadline=item.deadline, holder=item.claimed_by_name, count=item.reopen_count)
    return item


__all__ = ["reopen"]
