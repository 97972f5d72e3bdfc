"""What the reports show of 报前核查, 回头看 and 重办.

- **Verification** (weekly roundup): every item chosen for this roundup — chosen since the previous
  roundup was due — with its verdict and note; one not verified when the report is built is shown
  as 未核查 (``verdict`` None).
- **Verification on time** (monthly): of the choices whose verification deadline fell in the
  period, how many were verified by it, late, or not at all.
- **Still rectifying** (monthly): items whose latest look-back answer is "ongoing", with their age
  in working days since the reply.
- **重办**: how many items were reopened in the period, and of the reopened items rated again in
  the period, how many were satisfied (the satisfaction after re-handling). Satisfaction elsewhere
  counts each item's latest rating, which is the one the item keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from bot.config import Config
from bot.rules.masking import mask_personal_numbers
from bot.rules.method import ONGOING, next_weekly
from bot.rules.states import ANSWERED_STATUSES
from storage.models import Event, Item, Selection

__all__ = [
    "RectifyingEntry",
    "VerificationEntry",
    "method_extras",
    "proposed_key_items",
    "roundup_due",
]

RECTIFYING_KEPT = 100
SATISFIED = ("satisfied", "basically_satisfied")


@dataclass(frozen=True)
class VerificationEntry:
    id: int
    title: str
    region_name: str | None
    verdict: str | None  # true | partly | false; None: 未核查
    note: str | None
    verified_by: str | None
    on_time: bool | None


@dataclass(frozen=True)
class RectifyingEntry:
    id: int
    title: str
    region_name: str | None
    holder: str | None
    replied_at: datetime | None
    age_workdays: int


def roundup_due(config: Config, period_start: datetime) -> datetime:
    """The moment the roundup of the week starting ``period_start`` is due (the first weekly
    roundup moment after that week ends)."""
    s = config.schedule
    end = period_start + timedelta(days=7)
    return next_weekly(end - timedelta(seconds=1), s.weekly_day, s.weekly_time, s.tz)


def verification_entries(session: Session, config: Config, round_due: datetime) -> tuple[VerificationEntry, ...]:
    names = config.target_names
    rows = session.execute(
        select(Selection.item_id, Item.title, Item.region, Selection.verdict, Selection.note,
               Selection.verified_by_name, Selection.verified_at, Selection.due_at)
        .join(Item, Item.id == Selection.item_id)  # type: ignore[arg-type]
        .where(Selection.round_due == round_due)
        .order_by(Selection.selected_at, Selection.id)  # type: ignore[arg-type]
    ).all()
    return tuple(VerificationEntry(
        id=i, title=mask_personal_numbers(title or ""), region_name=names.get(region) if region else None,
        verdict=verdict, note=note, verified_by=by,
        on_time=(verified_at <= due_at) if verified_at is not None else None)
        for i, title, region, verdict, note, by, verified_at, due_at in rows)


def verification_counts(session: Session, start: datetime, end: datetime, now: datetime) -> dict[str, int]:
    """Choices whose verification fell due in ``[start, end)`` (and by ``now``): verified on
    time, late, or not at all."""
    rows = session.execute(select(Selection.verified_at, Selection.due_at).where(
        Selection.due_at >= start, Selection.due_at < end, Selection.due_at <= now)).all()
    on_time = sum(1 for v, due in rows if v is not None and v <= due)
    late = sum(1 for v, due in rows if v is not None and v > due)
    return {"due": len(rows), "on_time": on_time, "late": late, "missing": len(rows) - on_time - late}


def rectifying(session: Session, config: Config, now: datetime) -> tuple[tuple[RectifyingEntry, ...], int]:
    """Items still being rectified (latest look-back answer "ongoing"), oldest reply first."""
    names = config.target_names
    cal = config.calendar
    tz = config.schedule.tz
    cond = (Item.followup == ONGOING, Item.status.in_([str(s) for s in ANSWERED_STATUSES]))  # type: ignore[attr-defined]
    total = session.execute(select(func.count()).where(*cond)).scalar_one()
    rows = session.execute(
        select(Item.id, Item.title, Item.region, Item.claimed_by_name, Item.replied_at).where(*cond)
        .order_by(Item.replied_at, Item.id).limit(RECTIFYING_KEPT)  # type: ignore[arg-type]
    ).all()
    entries = tuple(RectifyingEntry(
        id=i, title=mask_personal_numbers(title or ""), region_name=names.get(region) if region else None,
        holder=holder, replied_at=replied_at,
        age_workdays=cal.workdays_between(replied_at.astimezone(tz).date(), now.astimezone(tz).date()) if replied_at else 0)
        for i, title, region, holder, replied_at in rows)
    return entries, int(total)


def reopen_figures(session: Session, start: datetime, end: datetime, now: datetime) -> dict[str, Any]:
    """重办 in ``[start, end)``: items reopened, and the ratings of reopened items given in the
    period after their reopening (each item's latest)."""
    reopened = session.execute(select(func.count(func.distinct(Event.item_id))).where(
        Event.action == "reopened", Event.at >= start, Event.at < end, Event.at <= now)).scalar_one()
    rows = session.execute(select(Item.rating).where(
        Item.reopen_count > 0, Item.rated_at >= start, Item.rated_at < end, Item.rated_at <= now,
        Item.rated_at > Item.reopened_at)).all()  # type: ignore[operator]
    rated = len(rows)
    satisfied = sum(1 for (r,) in rows if r in SATISFIED)
    return {"reopened": int(reopened), "rated_after": rated, "satisfied_after": satisfied,
            "satisfaction_after": satisfied / rated if rated else None}


def method_extras(session: Session, config: Config, kind: str, start: datetime, end: datetime,
                  now: datetime) -> dict[str, Any]:
    """The report's ``extra`` entries: the roundup's verification list, the month's counts."""
    extra: dict[str, Any] = {"reopen": reopen_figures(session, start, end, now)}
    if kind == "weekly":
        extra["verification"] = verification_entries(session, config, roundup_due(config, start))
    else:
        extra["verification_counts"] = verification_counts(session, start, end, now)
        extra["rectifying"], extra["rectifying_total"] = rectifying(session, config, now)
    return extra


def proposed_key_items(session: Session, config: Config, round_due: datetime, now: datetime) -> list[dict[str, Any]]:
    """The key items the roundup at ``round_due`` will show, as known at ``now`` (id, masked
    title, region name, why), most important first: proposed to the desk for verification."""
    from bot.reports.builder import WEEKLY, Period, key_items_between

    local = round_due.astimezone(config.schedule.tz)
    monday = local.date() - timedelta(days=local.weekday() + 7)
    start = datetime.combine(monday, datetime.min.time(), tzinfo=config.schedule.tz)
    period = Period(WEEKLY, "", start, min(start + timedelta(days=7), now))
    out = []
    for k in key_items_between(session, config, period):
        c = k.item.candidate
        if k.item.reason == "sensitive":
            why = "🚨"
        else:
            why = " ".join(x for x in (f"👍{k.item.supporters}" if k.item.supporters else "",
                                       f"👥{k.item.others}" if k.item.others else "") if x)
        out.append({"id": c.id, "title": k.title, "region": k.region_name, "why": why, "routed": c.region is not None})
    return [e for e in out if e["routed"]]
