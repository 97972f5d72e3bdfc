"""The office's past messages, stored for reports and for learning (``liuyan import --history``).

A history item is triaged like any message (region, priority, sensitivity, deadline), so reports and
the routing model see it as it would have been handled; but it is on no one's clock and nothing is
said about it: no card, reminder, escalation or alert, and the open-item lists leave it out
(``Item.history``). A row with a reply is stored as replied at its reply time. The first thing done
to a history item afterwards (a rating, ``/route``, a close) makes it live like any other
(:func:`bot.workflow.items.log_events`).

A reply whose time the export does not give is stored as replied at the message's own time: the
reply certainly exists and reports must count it, and of the times at hand only that one never
makes the past look later than it was; the event records ``replied_at_unknown`` so a count of such
rows stays possible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert
from sqlmodel import Session, select

from bot.rules.states import Status
from bot.workflow.context import Actor, WorkflowContext
from bot.workflow.intake import Incoming, triage_fields
from bot.workflow.items import HISTORY_EVENT, log_events
from storage.models import Item

IMPORT = Actor(None, "import", source="cli")


@dataclass(frozen=True)
class PastMessage:
    """A message of the office's past, with its reply when it had one."""

    message: Incoming
    reply: str | None = None
    replied_at: datetime | None = None


def import_history(session: Session, wf: WorkflowContext, past: Sequence[PastMessage],
                   now: datetime) -> list[tuple[Item, bool]]:
    """Store past messages as history items (idempotent on ``external_id``, like intake): one
    multi-row INSERT and one event each, nothing queued. Returns (item, created) in input order."""
    ids = [p.message.external_id for p in past]
    existing = {it.external_id: it for it in session.exec(
        select(Item).where(Item.external_id.in_(ids)))} if ids else {}  # type: ignore[attr-defined]
    first: dict[str, PastMessage] = {}
    for p in past:
        first.setdefault(p.message.external_id, p)
    fresh = [p for p in first.values() if p.message.external_id not in existing]
    created: set[int] = set()
    if fresh:
        rows = [_row(wf, p, now) for p in fresh]
        new_items = sorted(session.scalars(insert(Item).returning(Item), rows), key=lambda it: it.id or 0)
        unknown_time = {p.message.external_id for p in fresh if p.reply and p.replied_at is None}
        log_events(session, [
            (item, HISTORY_EVENT, {"history": True, "region": item.region, "status": item.status,
                                   **({"replied_at_unknown": True} if item.external_id in unknown_time else {})})
            for item in new_items], IMPORT, now)
        existing.update((item.external_id, item) for item in new_items)
        created = {id(item) for item in new_items}
    results: list[tuple[Item, bool]] = []
    seen: set[str] = set()
    for p in past:
        item = existing[p.message.external_id]
        results.append((item, id(item) in created and p.message.external_id not in seen))
        seen.add(p.message.external_id)
    return results


def _row(wf: WorkflowContext, p: PastMessage, now: datetime) -> dict:
    msg = p.message
    received = msg.received_at or now
    row = {
        "external_id": msg.external_id, "title": msg.title or "", "body": msg.body,
        "author": msg.author, "category": msg.category, "kind": msg.kind, "url": msg.url,
        "likes": msg.likes or 0, "dislikes": msg.dislikes or 0, "received_at": received, "created_at": now,
        "history": True,
        **triage_fields(wf, msg.title or "", msg.body, msg.region, received, category=msg.category),
    }
    if p.reply:
        row.update(status=str(Status.REPLIED), reply=p.reply, replied_at=p.replied_at or received)
    return row
