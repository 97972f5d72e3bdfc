"""Reading an item for a step, and appending to its event log (who did what, when, from which chat)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, select

from bot.rules.states import ItemView, Refusal
from bot.workflow.context import Actor, WorkflowContext
from bot.workflow.webhook_events import announcer
from storage.models import MAX_ID, Event, Item

_INSERT_EVENT = Event.__table__.insert()  # type: ignore[attr-defined]
_INSERT_EVENT_IDS = _INSERT_EVENT.returning(Event.__table__.c.id, sort_by_parameter_order=True)  # type: ignore[attr-defined]
# the event of an item imported from the office's past: it alone leaves the item history
HISTORY_EVENT = "imported"


def get_item(session: Session, item_id: int, *, lock: bool = False) -> Item:
    """The item as stored now (``lock``: held for this transaction), or a ``not_found`` refusal."""
    if not 0 < item_id <= MAX_ID:
        raise Refusal("not_found", {"id": item_id})
    stmt = select(Item).where(Item.id == item_id)
    if lock:
        stmt = stmt.with_for_update()
    item = session.exec(stmt.execution_options(populate_existing=True)).first()
    if item is None:
        raise Refusal("not_found", {"id": item_id})
    return item


def view(wf: WorkflowContext, item: Item, now: datetime | None = None) -> ItemView:
    """The facts the rules need, with times worded for a refusal said at ``now``."""
    return ItemView(
        id=item.id or 0,
        status=item.status,
        region=item.region,
        region_name=wf.region_name(item.region),
        claimed_by=item.claimed_by,
        claimed_by_name=item.claimed_by_name,
        claimed_at=_when(wf, item.claimed_at, now),
        replied_at=_when(wf, item.replied_at, now),
    )


def _when(wf: WorkflowContext, at: datetime | None, now: datetime | None) -> str | None:
    """``10:02`` when it happened today, ``10-08 10:02`` otherwise."""
    if at is None:
        return None
    local = at.astimezone(wf.tz)
    if now is not None and local.date() == now.astimezone(wf.tz).date():
        return local.strftime("%H:%M")
    return local.strftime("%m-%d %H:%M")


def utc_stamp(at: datetime) -> str:
    """A compact, timezone-free name of an instant for dedupe keys: 20261010T100000Z."""
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def log_event(session: Session, item: Item | None, action: str, actor: Actor, now: datetime,
              **detail: Any) -> None:
    """Append one event to the log (``item`` None: an event about no one item, e.g. a report)."""
    log_events(session, [(item, action, detail)], actor, now)


def log_events(session: Session, entries: Sequence[tuple[Item | None, str, dict[str, Any]]],
               actor: Actor, now: datetime) -> None:
    """Events written with one INSERT, not through the unit of work: the event log is only
    ever appended to, and a flush per event cost more than the rest of a command.

    Every change of an item is recorded here (and every event is a change the changes feed
    serves and a webhook may announce), so this is also where an item imported as history
    becomes live: any event after its import makes it an item like the others."""
    revived = [item for item, action, _ in entries
               if action != HISTORY_EVENT and getattr(item, "history", False)]
    if revived:
        session.connection().execute(update(Item).where(
            Item.id.in_([item.id for item in revived])).values(history=False))  # type: ignore[union-attr]
        for item in revived:
            set_committed_value(item, "history", False)
    if entries:
        rows = [
            {"item_id": item.id if item is not None else None, "at": now, "action": action, "actor_id": actor.user_id,
             "actor_name": actor.name, "chat_id": actor.chat_id, "source": actor.source,
             "detail": json.dumps(detail, ensure_ascii=False, default=str)}
            for item, action, detail in entries]
        hooks = announcer(session)
        if hooks is None or not hooks.wants(entries):
            session.connection().execute(_INSERT_EVENT, rows)
        else:  # webhooks announce these events, each by its id, in this same transaction
            ids = session.connection().execute(_INSERT_EVENT_IDS, rows).scalars().all()
            hooks.queue(session, entries, ids, now)


def json_list(values: Iterable[str]) -> str:
    """A list column's stored form (terms, aliases): JSON, Chinese kept readable."""
    return json.dumps(list(values), ensure_ascii=False)
