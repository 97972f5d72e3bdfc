"""When a year becomes known to the working-day calendar (a package upgrade, or its days typed into
``[calendar]``), the provisional deadlines of open items are counted again.

Deadlines reaching into a year nobody has confirmed were counted Monday to Friday and flagged
provisional. The calendar is read once per process (the package and the config are loaded at
start), so this runs once per process, at its first sweep: an item whose deadline moved is
updated, its card refreshed, the move logged as ``deadline_moved``, and its holder (or, unclaimed,
its chat) told the new deadline; an item whose deadline stays gets only the provisional mark removed.
"""

from __future__ import annotations

import logging
import weakref
from datetime import datetime

from sqlalchemy import event
from sqlmodel import Session, select

from bot.rules.states import OPEN_STATUSES
from bot.workflow.cards import refresh_cards
from bot.workflow.context import SYSTEM, WorkflowContext
from bot.workflow.deadlines import announce_deadline_change, deadline_for
from bot.workflow.items import log_event
from storage.models import Item

log = logging.getLogger(__name__)

# the workflow contexts (one per process, in tests several) whose open items were counted again
_DONE: weakref.WeakSet[WorkflowContext] = weakref.WeakSet()


def refresh_provisional(session: Session, wf: WorkflowContext, now: datetime) -> int:
    """Count the provisional deadlines of open items again; the number of items changed."""
    if wf in _DONE:
        return 0
    items = session.exec(select(Item).where(Item.status.in_(OPEN_STATUSES),  # type: ignore[attr-defined]
                                            Item.deadline_provisional == True)).all()  # noqa: E712
    changed = 0
    for item in items:
        due, provisional = deadline_for(wf, item)
        if due == item.deadline and provisional:
            continue  # its year is still not known
        old = item.deadline
        item.deadline, item.deadline_provisional = due, provisional
        session.add(item)
        changed += 1
        refresh_cards(session, wf, item, now)
        if due == old:
            continue
        log_event(session, item, "deadline_moved", SYSTEM, now, old_deadline=old.isoformat() if old else None,
                  deadline=due.isoformat(), provisional=provisional, reason="calendar")
        announce_deadline_change(session, wf, item, SYSTEM, "deadlines.calendar_moved", now, id=item.id, old=old,
                                 deadline=due, provisional=provisional)
        log.info("deadline of #%s moved by the calendar: %s -> %s", item.id, old, due,
                 extra={"item": item.id, "event": "deadline_moved"})
    # done once the transaction commits (a sweep that fails tries again at the next tick)
    event.listen(session, "after_commit", lambda _session: _DONE.add(wf), once=True)
    return changed
