"""The changes feed: which items changed after a cursor, so a crawler can post replies back.

A change is a row of the event log. The trap of every "since" feed is a cursor on an id or a time:
two transactions take ids 10 and 11, 11 commits first, a poller reads up to 11 and never sees 10.

- On PostgreSQL every event row carries the id of the transaction that wrote it (``txid``, filled in
  by the server: ``DEFAULT txid_current()``). The feed serves only events of transactions older than
  a horizon — the oldest transaction still running *in this database* (``pg_stat_activity``), or
  the next transaction id when none runs — in (txid, id) order. A transaction running now has a
  txid at or above that horizon, and so does every later one, so an event not yet served always
  sorts after the cursor: nothing is skipped, whatever order transactions commit in. The cost is a
  lag of as long as the longest transaction of this database running at the time of the poll.
  (Transaction ids are shared by the whole server; ``txid_snapshot_xmin`` alone would also wait for
  a long transaction in another database on the same server, which writes no events of ours.)
  The next id is read first and the running transactions after it, so one that ends in between
  has committed before the events are read.
- On SQLite writers take turns (one write transaction at a time), so events commit in id order and
  the id alone is a safe cursor; ``txid`` stays NULL and counts as 0.

The cursor is opaque to clients: ``"<txid>.<event id>"``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, literal, select, text, tuple_
from sqlmodel import Session

from storage.models import Event, Item

_CURSOR = re.compile(r"^(\d{1,19})\.(\d{1,19})$")
_MAX = 2**63 - 1
SCAN_CHUNK = 4000  # events read per query while a page fills


@dataclass(frozen=True, order=True)
class Cursor:
    """A position in the feed: after the event ``event_id`` of transaction ``txid``."""

    txid: int = 0
    event_id: int = 0

    def __str__(self) -> str:
        return f"{self.txid}.{self.event_id}"


START = Cursor()


def parse_cursor(text: str | None) -> Cursor:
    """The cursor a client sent back, or :data:`START` when absent; ValueError when malformed."""
    if text is None or text == "":
        return START
    match = _CURSOR.match(text)
    if match is None:
        raise ValueError(f"not a cursor of this feed: {text!r}")
    txid, event_id = int(match[1]), int(match[2])
    if txid > _MAX or event_id > _MAX:
        raise ValueError(f"not a cursor of this feed: {text!r}")
    return Cursor(txid, event_id)


@dataclass(frozen=True)
class Page:
    """Items in the order of their oldest change in the page, and where the next poll starts.
    Each item is a read-only row with the attributes of :class:`Item` but ``body``."""

    items: list[Any]
    next: Cursor


def changes_page(session: Session, after: Cursor, limit: int, status: str | None = None) -> Page:
    """Up to ``limit`` items with a change after ``after`` (only those now in ``status``, if given).

    Events of items already on the page, or of items the status filter leaves out, are passed over
    and the cursor moves past them; the page stops before the first event of one item too many.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    columns: tuple[Any, ...]
    if postgres:
        columns = (Event.txid, Event.id)
        horizon = Event.txid < _horizon(session)  # type: ignore[operator]
    else:
        columns = (literal(0), Event.id)
        horizon = literal(True)
    chosen: dict[int, None] = {}
    cursor = after
    scan = min(limit + 1, SCAN_CHUNK)  # enough when every event is of another item; more after that
    while True:
        position = (tuple_(Event.txid, Event.id) > tuple_(literal(cursor.txid), literal(cursor.event_id))
                    if postgres else Event.id > cursor.event_id)  # type: ignore[operator]
        stmt = (select(*columns, Event.item_id, Item.status)  # type: ignore[call-overload]
                .join(Item, Item.id == Event.item_id)
                .where(position, horizon)
                .order_by(*(columns if postgres else (Event.id,))).limit(scan))
        rows: Sequence = session.execute(stmt).all()
        for row_txid, event_id, item_id, item_status in rows:
            wanted = item_id not in chosen and (status is None or item_status == status)
            if wanted and len(chosen) >= limit:
                return Page(_load(session, list(chosen)), cursor)
            if wanted:
                chosen[item_id] = None
            cursor = Cursor(int(row_txid or 0), int(event_id))
        if len(rows) < scan:
            return Page(_load(session, list(chosen)), cursor)
        scan = SCAN_CHUNK


_XID_SPACE = 2**32
_RUNNING_HERE = text(
    "SELECT min(backend_xid::text::bigint) FROM pg_stat_activity"
    " WHERE datname = current_database() AND backend_xid IS NOT NULL")


def _horizon(session: Session) -> int:
    """The txid below which every transaction of this database has ended (PostgreSQL)."""
    next_txid = int(session.execute(select(func.txid_snapshot_xmax(func.txid_current_snapshot()))).scalar_one())
    oldest = session.execute(_RUNNING_HERE).scalar()
    if oldest is None:
        return next_txid
    # pg_stat_activity shows the 32-bit xid; a running one is within 2^31 below the next txid
    behind = (next_txid % _XID_SPACE - int(oldest)) % _XID_SPACE
    return min(next_txid, next_txid - behind)


def _load(session: Session, ids: list[int]) -> list[Any]:
    """The page's items as read-only rows with the item's attributes (building ORM objects was
    most of a page's time). The body comes too: an unrouted item's suggestions are read from it."""
    if not ids:
        return []
    stmt = select(*_ITEM_COLUMNS).where(Item.id.in_(ids))  # type: ignore[union-attr]
    by_id = {row.id: row for row in session.execute(stmt)}
    return [by_id[i] for i in ids if i in by_id]


_ITEM_COLUMNS = tuple(Item.__table__.columns)  # type: ignore[attr-defined]
