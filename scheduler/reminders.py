"""Reminders and escalation: the deadline clock of every open item, one idempotent pass at a time.

What a pass (``sweep_reminders(session, wf, now, report)``) says, per open item:

- **Unclaimed**: an item nobody claimed ``reminders.unclaimed_after_minutes`` after it reached its
  chat (receipt, or its latest routing) is nagged once in that chat (the desk for an unrouted one).
- **Before the deadline**: the ladder ``reminders.before_deadline`` (e.g. half-way, 1 working day,
  2 hours before; :func:`bot.rules.deadlines.reminder_points`), in the item's chat, mentioning the
  holder of a claimed item. When several rungs fell due unsaid (a stop, a night, a weekend), only
  the latest is said; the earlier ones are recorded as skipped, since they would only repeat it.
- **Overdue (督办)**: at the deadline the desk chat is told, mentioning the supervisors who answer
  for the item's region (province-wide ones and the region's own), and so is the item's chat
  (mentioning the holder). Both are repeated once each working day from
  ``schedule.overdue_repeat_time`` until the item is replied to.

Supervisors are told by a mention in the desk chat rather than in private: 督办 is the desk's
work, every supervisor sits there, a private chat exists only once someone has written to the bot,
and one place gives one notification per supervisor instead of two.

A ladder belongs to one deadline: a changed deadline (priority, extension, supervision) starts a
new one, from which only rungs after the change are said.

Batching: everything due for one chat in one pass is ONE message listing the items (shortened with
a count when it would pass Telegram's 4,096 characters). Quiet hours and non-working days hold
every routine reminder until the first pass after them; urgent items are exempt unless
``reminders.quiet_for_urgent``.

Exactly once: every (item, point, audience) handled gets a :class:`~storage.reminders.ReminderSent`
row with a unique key, written in the same transaction as the outbox row that says it (whose own
``dedupe_key`` is derived from the keys it carries). The database is the truth: after a restart or
a day's stop the next pass says what is still due, once; a second pass, process or cron job finds
the keys and says nothing.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from bot.delivery.outbox import PRIORITY_LANE, ROUTINE_LANE, enqueue_message
from bot.render import TEXT_LIMIT, visible_length
from bot.rules.deadlines import (
    OfficeHours,
    Priority,
    QuietHours,
    ReminderPoint,
    in_quiet_time,
    overdue_repeat_due,
    parse_reminder_point,
    reminder_points,
)
from bot.rules.states import OPEN_STATUSES, Status
from bot.workflow.context import SCHEDULER
from bot.workflow.deadlines import (
    DEADLINE_EVENTS,
    describe_item,
    mentionable,
    responsible_supervisors,
)
from bot.workflow.items import log_events, utc_stamp
from bot.workflow.roster import region_chat
from storage.models import Event, Item, live_items
from storage.reminders import ReminderSent

if TYPE_CHECKING:
    from bot.workflow import WorkflowContext
    from scheduler.sweep import SweepReport

log = logging.getLogger(__name__)

DESK = "desk"
_SECTION = {"overdue": "overdue", "repeat": "overdue", "before": "due", "unclaimed": "unclaimed"}
_SEVERITY = {"overdue": 0, "repeat": 0, "before": 1, "unclaimed": 2}


@dataclass
class Due:
    """One (item, point, audience) that falls due in this pass."""

    item: Any  # the item's clock columns (:data:`_CLOCK_COLUMNS`); whole items only for the lines shown
    kind: str  # unclaimed | before | overdue | repeat
    point: str  # "unclaimed", "before:50%", "overdue", "repeat:2026-10-12"
    key: str
    due_at: datetime
    audience: str  # "region:<code>" | "desk"
    chat_id: int
    show: bool = True  # False: superseded by a later rung said in the same breath
    extra: dict[str, Any] = field(default_factory=dict)


def sweep_reminders(session: Session, workflow: WorkflowContext, now: datetime, report: SweepReport) -> None:
    """Queue every reminder and overdue notice due at ``now`` that was not handled before."""
    wf = workflow
    cfg = wf.config
    hushed = in_quiet_time(now, QuietHours(cfg.schedule.quiet_start, cfg.schedule.quiet_end), wf.tz,
                           calendar=wf.policy.hours.calendar)
    if hushed and cfg.reminders.quiet_for_urgent:
        return
    open_ = [str(s) for s in OPEN_STATUSES]
    # the clock needs only a few columns; whole items are loaded for the few that are due
    stmt = select(*_CLOCK_COLUMNS).where(Item.status.in_(open_), Item.deadline != None,  # type: ignore[attr-defined]  # noqa: E711
                                         live_items())
    if hushed:  # only urgent items may speak in quiet hours and on days off
        stmt = stmt.where(Item.priority == str(Priority.URGENT))
    clocks = list(session.exec(stmt.order_by(Item.id)))  # type: ignore[arg-type]
    if not clocks:
        return
    keys, last_notice = _history(session, open_, now, wf.tz)
    changed = _latest_events(session, DEADLINE_EVENTS, open_)
    routed = _latest_events(session, ("routed", "rerouted"), open_)
    region_chats: dict[str | None, int] = {None: cfg.desk.chat_id}
    dues: list[Due] = []
    for clock in clocks:
        if clock.region not in region_chats:
            region_chats[clock.region] = region_chat(session, wf, clock.region)
        dues.extend(_due_for(wf, clock, now, keys.get(clock.id, set()), last_notice.get(clock.id),
                             changed.get(clock.id), routed.get(clock.id), region_chats[clock.region]))
    if not dues:
        return
    by_chat: dict[int, list[Due]] = defaultdict(list)
    for due in dues:
        by_chat[due.chat_id].append(due)
    for chat_id, entries in by_chat.items():
        _queue_batch(session, wf, chat_id, entries, now, report)


# ---------------------------------------------------------------------------- what is due

_CLOCK_COLUMNS = (Item.id, Item.status, Item.region, Item.priority, Item.received_at, Item.deadline,
                  Item.claimed_by_name, Item.reopened_at)


def _load_items(session: Session, ids: list[int], chunk: int = 500) -> dict[int, Item]:
    items: dict[int, Item] = {}
    for start in range(0, len(ids), chunk):
        part = ids[start:start + chunk]
        items.update((i.id, i) for i in session.exec(select(Item).where(Item.id.in_(part))))  # type: ignore[attr-defined,misc]
    return items


def _due_for(wf: WorkflowContext, item: Any, now: datetime, keys: set[str], last_notice: datetime | None,
             changed_at: datetime | None, routed_at: datetime | None, item_chat: int) -> list[Due]:
    cfg = wf.config
    deadline = item.deadline
    assert deadline is not None and item.id is not None
    stamp = utc_stamp(deadline)
    audience = f"region:{item.region}" if item.region else DESK
    out: list[Due] = []

    if now >= deadline:
        audiences = [(DESK, cfg.desk.chat_id)] + ([(audience, item_chat)] if item.region else [])
        if last_notice is None:
            for aud, chat in audiences:
                key = f"{item.id}:overdue@{stamp}:{aud}"
                if key not in keys:
                    out.append(Due(item, "overdue", "overdue", key, deadline, aud, chat))
        elif overdue_repeat_due(last_notice, now, wf.tz, cfg.schedule.overdue_repeat_time, wf.policy.hours.calendar):
            day = now.astimezone(wf.tz).date()
            slot = datetime.combine(day, cfg.schedule.overdue_repeat_time, tzinfo=wf.tz)
            for aud, chat in audiences:
                key = f"{item.id}:repeat:{day.isoformat()}@{stamp}:{aud}"
                if key not in keys:
                    out.append(Due(item, "repeat", f"repeat:{day.isoformat()}", key, slot, aud, chat))
        return out

    start = item.reopened_at or item.received_at  # a reopened item's clock starts again (重办)
    since = max(start, changed_at) if changed_at else start
    ladder = _ladder(start, deadline, item.status in (Status.CLAIMED, Status.REOPENED),
                     tuple(cfg.reminders.before_deadline), wf.tz, wf.policy.hours)
    unsaid = [p for p in ladder if since < p.at <= now and f"{item.id}:{p.key}@{stamp}" not in keys]
    for i, point in enumerate(unsaid):
        spec = parse_reminder_point(point.key.split(":", 1)[1])
        out.append(Due(item, "before", point.key, f"{item.id}:{point.key}@{stamp}", point.at, audience,
                       item_chat, show=i == len(unsaid) - 1,
                       extra={"point": {"kind": spec.kind, "amount": spec.amount}}))

    if item.status in (Status.NEW, Status.UNROUTED):
        base = max(item.received_at, routed_at) if routed_at else item.received_at
        at = base + timedelta(minutes=cfg.reminders.unclaimed_after_minutes)
        key = f"{item.id}:unclaimed@{utc_stamp(base)}"
        if at <= now and key not in keys:
            out.append(Due(item, "unclaimed", "unclaimed", key, at, audience, item_chat, show=not unsaid))
    return out


@lru_cache(maxsize=8192)
def _ladder(received_at: datetime, deadline: datetime, claimed: bool, points: tuple[str, ...],
            tz: ZoneInfo, hours: OfficeHours) -> tuple[ReminderPoint, ...]:
    """The item's rungs; cached because every pass asks again for the same open items."""
    return tuple(reminder_points(received_at, deadline, claimed, list(points), tz, hours))



def _history(session: Session, open_: list[str], now: datetime, tz: ZoneInfo) -> tuple[dict[int, set[str]], dict[int, datetime]]:
    """What was already said about the open items' current deadlines: the keys handled (per item)
    and when the latest overdue notice went out. Rows about earlier deadlines and daily repeats of
    earlier days cannot matter any more, so they are not read (their number grows every day)."""
    today = datetime.combine(now.astimezone(tz).date(), datetime.min.time(), tzinfo=tz)
    current = or_(ReminderSent.deadline == Item.deadline, ReminderSent.kind == "unclaimed")  # type: ignore[arg-type]
    rows = session.exec(
        select(ReminderSent.item_id, ReminderSent.key)
        .join(Item, Item.id == ReminderSent.item_id)  # type: ignore[arg-type]
        .where(Item.status.in_(open_), current,  # type: ignore[attr-defined]
               or_(ReminderSent.kind != "repeat", ReminderSent.sent_at >= today))
    )
    keys: dict[int, set[str]] = defaultdict(set)
    for item_id, key in rows:
        keys[item_id].add(key)
    last = session.exec(
        select(ReminderSent.item_id, func.max(ReminderSent.sent_at))
        .join(Item, Item.id == ReminderSent.item_id)  # type: ignore[arg-type]
        .where(Item.status.in_(open_), ReminderSent.deadline == Item.deadline,  # type: ignore[attr-defined]
               ReminderSent.kind.in_(("overdue", "repeat")))  # type: ignore[attr-defined]
        .group_by(ReminderSent.item_id)
    )
    return keys, {item_id: at for item_id, at in last if at is not None}


def _latest_events(session: Session, actions: tuple[str, ...], open_: list[str]) -> dict[int, datetime]:
    """The latest event of ``actions`` per open item (one grouped query, not one per item)."""
    rows = session.exec(
        select(Event.item_id, func.max(Event.at))
        .join(Item, Item.id == Event.item_id)  # type: ignore[arg-type]
        .where(Event.action.in_(actions), Item.status.in_(open_))  # type: ignore[attr-defined]
        .group_by(Event.item_id)
    )
    return {item_id: at for item_id, at in rows if item_id is not None and at is not None}


# ---------------------------------------------------------------------------- one message per chat


def _queue_batch(session: Session, wf: WorkflowContext, chat_id: int, entries: list[Due], now: datetime,
                 report: SweepReport) -> None:
    """One message for everything due in ``chat_id`` now, and a record of every (item, point)."""
    entries.sort(key=lambda d: (_SEVERITY[d.kind], d.item.deadline, d.item.id))
    lines: dict[int, Due] = {}
    for due in entries:
        if due.show and due.item.id not in lines:
            lines[due.item.id or 0] = due
    desk = chat_id == wf.config.desk.chat_id
    shown = list(lines.values())
    supervisors = []
    if desk:
        regions = dict.fromkeys(d.item.region for d in shown)
        supervisors = mentionable(o for region in regions for o in responsible_supervisors(wf, region))
    # whole items only for the lines that can fit in one message: after a long stop thousands of
    # items can be overdue at once, and loading them all held hundreds of MB for nothing
    head = shown[:MOST_LINES]
    full = _load_items(session, [d.item.id for d in head])
    described = [(d, {**describe_item(wf, full[d.item.id], now), **d.extra, "repeat": d.kind == "repeat"})
                 for d in head]
    text = _fit(wf, described, supervisors, desk, total=len(shown))
    urgent = any(d.item.priority == Priority.URGENT for d in entries)
    keys = sorted(d.key for d in entries)
    digest = hashlib.sha1(f"{chat_id}|{'|'.join(keys)}".encode()).hexdigest()
    try:
        with session.begin_nested():
            row = enqueue_message(
                session, chat_id, text, now=now, lane=PRIORITY_LANE if urgent else ROUTINE_LANE,
                item_id=shown[0].item.id if len(lines) == 1 else None,
                purpose="escalation" if any(d.kind in ("overdue", "repeat") for d in shown) and desk else "reminder",
                dedupe_key=f"remind:{digest}",
            )
            if row is None:  # another pass queued this very batch
                return
            session.execute(insert(ReminderSent.__table__), [  # type: ignore[attr-defined]
                dict(key=due.key, item_id=due.item.id, kind=due.kind, point=due.point, audience=due.audience,
                     chat_id=chat_id, outbox_id=row.id, skipped=lines.get(due.item.id or 0) is not due,
                     deadline=due.item.deadline, due_at=due.due_at, sent_at=now)
                for due in entries
            ])
            log_events(session, [
                (due.item, "overdue", {"deadline": due.item.deadline, "holder": due.item.claimed_by_name})
                for due in entries if due.kind == "overdue" and due.audience == DESK], SCHEDULER, now)
            session.flush()
    except IntegrityError:  # a concurrent pass recorded these keys first: it says them, not us
        log.info("reminders for chat %s were queued by another pass", chat_id)
        return
    report.add("reminder_messages")
    for due in shown:
        report.add(due.kind)


# no line is shorter than ~25 characters, so no more than this many can ever fit in one message
MOST_LINES = TEXT_LIMIT // 25


def _fit(wf: WorkflowContext, described: list[tuple[Due, dict[str, Any]]], supervisors: list[dict[str, Any]],
         desk: bool, total: int | None = None) -> str:
    """The message with as many of ``described`` as fit in one Telegram message; the rest of
    ``total`` lines are counted."""
    total = len(described) if total is None else total

    def render(count: int) -> str:
        sections: dict[str, list[dict[str, Any]]] = {"overdue": [], "due": [], "unclaimed": []}
        for due, line in described[:count]:
            sections[_SECTION[due.kind]].append(line)
        return wf.renderer.template("reminder.html.j2", None, desk=desk, supervisors=supervisors,
                                    more=total - count, **sections)

    most = min(len(described), MOST_LINES)
    text = render(most)
    if visible_length(text) <= TEXT_LIMIT:
        return text
    lo, hi, best = 0, most - 1, render(0)
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = render(mid)
        if visible_length(candidate) <= TEXT_LIMIT:
            best, lo = candidate, mid + 1
        else:
            hi = mid - 1
    return best


__all__ = ["Due", "sweep_reminders"]
