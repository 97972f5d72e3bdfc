"""Claim leases: a claim (or an assignment) with neither a reply nor a note for ``[claims]
lease_hours`` working hours is nudged once in the item's chat (its topic, where it has one),
naming the holder; after twice that it lapses back to ``new``: the card says so, the chat and
the desk are told, and the event ``released`` is logged.

Restart-proof and exactly once, like the reminders: the nudge's outbox row carries a dedupe key
made of the item and the moment its lease started (a later note starts a new lease, and so a new
key); the lapse is one conditional UPDATE that also requires the claim it judged (same holder, same
claim time, still ``claimed``), so a reply or a second sweep racing it finds nothing to do.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, update
from sqlmodel import Session, select

from bot.delivery.outbox import ROUTINE_LANE, enqueue_message
from bot.rules.leases import lease_points
from bot.rules.states import Status, sources, target
from bot.workflow.cards import refresh_cards
from bot.workflow.context import SCHEDULER, WorkflowContext
from bot.workflow.items import get_item, log_event
from bot.workflow.notes import NOTE_ACTION
from bot.workflow.roster import item_chat
from storage.models import Event, Item


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def sweep_leases(session: Session, wf: WorkflowContext, now: datetime) -> tuple[int, int]:
    """Nudge and lapse the claims due at ``now``; (nudged, lapsed)."""
    hours = wf.config.claims.lease_hours
    if not hours:
        return 0, 0
    claims = list(session.execute(select(Item.id, Item.claimed_at, Item.claimed_by).where(
        Item.status == str(Status.CLAIMED), Item.claimed_at != None)))  # noqa: E711
    if not claims:
        return 0, 0
    noted = dict(session.execute(
        select(Event.item_id, func.max(Event.at)).join(Item, Item.id == Event.item_id)  # type: ignore[arg-type]
        .where(Event.action == NOTE_ACTION, Item.status == str(Status.CLAIMED)).group_by(Event.item_id)).all())
    nudged = lapsed = 0
    for item_id, claimed_at, holder in claims:
        since = max(claimed_at, noted[item_id]) if noted.get(item_id) else claimed_at
        nudge_at, lapse_at = lease_points(since, hours, wf.tz, wf.policy.hours)
        if now >= lapse_at:
            lapsed += lapse(session, wf, item_id, holder, claimed_at, now)
        elif now >= nudge_at:
            nudged += nudge(session, wf, item_id, since, now)
    return nudged, lapsed


def _hours(wf: WorkflowContext) -> str:
    return f"{wf.config.claims.lease_hours:g}"


def nudge(session: Session, wf: WorkflowContext, item_id: int, since: datetime, now: datetime) -> int:
    """Once per lease: the holder is reminded in the item's chat."""
    item = get_item(session, item_id)
    text = wf.renderer.text("leases.nudge", None, holder=item.claimed_by_name, id=item_id,
                            title=item.title or item.body[:40], hours=_hours(wf))
    row = enqueue_message(session, item_chat(session, wf, item), text, now=now, lane=ROUTINE_LANE, item_id=item_id,
                          purpose="lease_nudge", dedupe_key=f"lease:{item_id}:{_stamp(since)}")
    return 1 if row is not None else 0


def lapse(session: Session, wf: WorkflowContext, item_id: int, holder: int | None, claimed_at: datetime,
          now: datetime) -> int:
    """The claim goes back to ``new`` if it is still the very claim judged; 1 when it lapsed."""
    item = get_item(session, item_id)
    holder_name = item.claimed_by_name
    result = session.exec(
        update(Item).where(Item.id == item_id, Item.status.in_([str(s) for s in sources("release")]),  # type: ignore[attr-defined]
                           Item.claimed_by == holder, Item.claimed_at == claimed_at)
        .values(status=target("release"), claimed_by=None, claimed_by_name=None, claimed_at=None,
                released_from=holder_name))
    if result.rowcount != 1:
        return 0
    item = get_item(session, item_id)
    log_event(session, item, "released", SCHEDULER, now, holder=holder, holder_name=holder_name,
              claimed_at=claimed_at.isoformat())
    refresh_cards(session, wf, item, now)
    params = {"id": item_id, "title": item.title or item.body[:40], "holder": holder_name, "hours": f"{2 * (wf.config.claims.lease_hours or 0):g}", "region": wf.region_name(item.region) or ""}
    chat = item_chat(session, wf, item)
    enqueue_message(session, chat, wf.renderer.text("leases.lapsed", None, **params), now=now, lane=ROUTINE_LANE,
                    item_id=item_id, purpose="lease_lapsed")
    if chat != wf.config.desk.chat_id:
        enqueue_message(session, wf.config.desk.chat_id, wf.renderer.text("leases.lapsed_desk", None, **params),
                        now=now, lane=ROUTINE_LANE, item_id=item_id, purpose="lease_lapsed")
    return 1
