"""The ledger (台账) read from the store: ``liuyan export`` and the file ``/export`` sends.

Items are read in chunks of :data:`CHUNK` by id (only the columns the ledger shows, never the
message bodies), and handed to :func:`bot.platform.ledger.write_ledger` one at a time, which writes
them out as it goes: a ledger of 100,000 items never sits in memory.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlmodel import Session

from bot.config import Config
from bot.platform.ledger import LedgerRow, write_ledger
from bot.rules.states import ANSWERED_STATUSES
from bot.workflow.context import WorkflowContext
from storage.models import Item

CHUNK = 2000
FORMATS = ("xlsx", "csv")
EXIT_BAD_INPUT = 2

_COLUMNS = (Item.id, Item.external_id, Item.title, Item.region, Item.category_label, Item.priority, Item.sensitive,
            Item.status, Item.claimed_by_name, Item.received_at, Item.claimed_at, Item.replied_at,
            Item.deadline, Item.extended_by, Item.supervised, Item.rating, Item.reply)


def on_time(status: str, replied_at: datetime | None, deadline: datetime | None, now: datetime) -> bool | None:
    """按期: a replied item by whether the reply met the deadline; an open one is late once the
    deadline has passed, and not yet judged (None) while it has not."""
    if status in ANSWERED_STATUSES and replied_at is not None:
        return deadline is None or replied_at <= deadline
    if deadline is not None and now >= deadline:
        return False
    return None


def ledger_rows(session: Session, wf: WorkflowContext, now: datetime, *, start: datetime | None = None,
                end: datetime | None = None, target: str | None = None, lang: str | None = None) -> Iterator[LedgerRow]:
    """Every item received in ``[start, end)`` (either open-ended when None), of ``target`` (a
    region's code; None: all), in id order, worded in ``lang``."""
    text = wf.renderer.text
    words: dict[str, str] = {}

    def word(key: str) -> str:
        if key not in words:
            words[key] = text(key, lang) if wf.renderer.has_text(key) else key.split(".", 1)[1]
        return words[key]

    after = 0
    while True:
        stmt = select(*_COLUMNS).where(Item.id > after)  # type: ignore[call-overload,operator]
        if start is not None:
            stmt = stmt.where(Item.received_at >= start)
        if end is not None:
            stmt = stmt.where(Item.received_at < end)
        if target is not None:
            stmt = stmt.where(Item.region == target)
        rows = session.execute(stmt.order_by(Item.id).limit(CHUNK)).all()  # type: ignore[arg-type]
        for r in rows:
            yield LedgerRow(
                number=r.id, external_id=r.external_id, title=r.title or "",
                region=wf.region_name(r.region) or r.region, category=r.category_label,
                priority=word(f"priority.{r.priority}"), sensitive=bool(r.sensitive),
                status=word(f"status.{r.status}"), holder=r.claimed_by_name,
                received_at=r.received_at, claimed_at=r.claimed_at, replied_at=r.replied_at,
                deadline=r.deadline, on_time=on_time(r.status, r.replied_at, r.deadline, now),
                extended_days=r.extended_by or 0, supervised=bool(r.supervised),
                rating=word(f"rating.{r.rating}") if r.rating else None, reply=r.reply,
            )
        if len(rows) < CHUNK:
            return
        after = rows[-1].id


def write_from_store(session: Session, wf: WorkflowContext, out: Path | BinaryIO, fmt: str, now: datetime,
                     **scope: Any) -> int:
    """Write the ledger of ``scope`` (see :func:`ledger_rows`) to ``out``; returns the rows written."""
    lang = scope.get("lang")
    return write_ledger(ledger_rows(session, wf, now, **scope), out, tz=wf.tz, lang=lang or "zh", fmt=fmt)


def parse_day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{option}: not a date (YYYY-MM-DD): {value[:40]!r}") from None


def run_export(config: Config, out: Path, start: str | None, end: str | None) -> int:
    """``liuyan export``: the ledger of items received from ``start`` up to (not including) ``end``,
    both dates in the configured timezone. One clear line and exit 2 on bad options."""
    fmt = out.suffix.lower().lstrip(".")
    tz = config.schedule.tz
    try:
        if fmt not in FORMATS:
            raise ValueError(f"--out: {out.name!r} must end in .xlsx or .csv")
        first, after_last = parse_day(start, "--from"), parse_day(end, "--to")
        if first and after_last and after_last <= first:
            raise ValueError("--to must be a later day than --from (the ledger covers [from, to))")
    except ValueError as exc:
        print(f"liuyan export: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    from bot.app_context import AppContext

    s = AppContext.create(config)
    partial = out.with_name(f".{out.name}.part")
    try:
        count = s.db.call_read(write_from_store, s.workflow, partial, fmt, s.now(),
                               start=datetime.combine(first, time(), tzinfo=tz) if first else None,
                               end=datetime.combine(after_last, time(), tzinfo=tz) if after_last else None,
                               lang=config.language)
        partial.replace(out)  # a reader never finds half a ledger under the name asked for
    except OSError as exc:
        print(f"liuyan export: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        partial.unlink(missing_ok=True)
        s.db.dispose()
    print(f"wrote {count} items to {out}")
    return 0
