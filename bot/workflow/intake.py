"""Intake: a citizen's message becomes an item, triaged by the rules, with its card queued, the
leaders alerted when it is sensitive and warned when it joins a burst of similar messages."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, select

from bot.rules.deadlines import Priority, compute_deadline
from bot.rules.priority import classify_priority, with_danger
from bot.rules.routing import route_target
from bot.rules.states import Status
from bot.workflow.cards import post_cards
from bot.workflow.categories import categorize, retrain_if_due
from bot.workflow.context import Actor, WorkflowContext
from bot.workflow.items import json_list, log_events
from bot.workflow.leaders import alert_sensitive, early_warning
from bot.workflow.repeats import link_repeats
from bot.workflow.suggestions import REASON_LEARNED, RETRAIN_AFTER_INTAKE, learned_route
from storage.models import Item

log = logging.getLogger(__name__)

API = Actor(None, "api", source="api")


@dataclass
class Incoming:
    """A citizen message as the intake API or an import delivers it, already validated."""

    external_id: str
    body: str
    title: str = ""
    region: str | None = None
    author: str | None = None
    category: str | None = None
    kind: str | None = None
    received_at: datetime | None = None
    url: str | None = None
    likes: int = 0
    dislikes: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def triage_fields(wf: WorkflowContext, title: str, body: str, region_hint: str | None,
                  received_at: datetime, extended_by: int = 0,
                  category: str | None = None) -> dict[str, Any]:
    """The columns the rules decide for a message: category, target (region or unit), status,
    priority, sensitivity and deadline, and why (the terms behind each). Pure (the learned model is
    a snapshot), so intake can triage a whole batch before it touches the database."""
    sort = categorize(wf, category, title, body)
    route = route_target(wf.directory, region_hint, title, body, sort.label, wf.unit_by_category)
    # a region value that names no region is kept as the hint, routed by text or not
    hint = region_hint if route.hint is not None else None
    # the message's own year tells a story of "2019年" apart from news, in old imports too
    assessment = wf.sensitivity.assess(title, body, reference_year=received_at.year)
    priority, terms = with_danger(*classify_priority(title, body, wf.urgent_terms, wf.complex_terms),
                                  assessment.sensitive, assessment.category, assessment.terms)
    deadline = compute_deadline(received_at, Priority(priority), wf.policy, wf.tz,
                                extension_days=extended_by)
    region, reason, route_terms, suggested = learned_route(wf, route, title, body)
    return {
        "region": region, "route_reason": reason, "region_hint": hint,
        "route_terms": json_list(route_terms), "suggested": json.dumps(suggested, ensure_ascii=False),
        "status": Status.NEW if region else Status.UNROUTED,
        "priority": str(priority), "priority_terms": json_list(terms),
        "sensitive": assessment.sensitive,
        "sensitive_category": assessment.category if assessment.sensitive else None,
        "sensitive_terms": json_list(assessment.terms), "sensitive_score": float(assessment.score),
        "deadline": deadline.due, "deadline_provisional": deadline.provisional,
        **sort.columns(),
    }


def _ids(items: Sequence[Item], shown: int = 20) -> str:
    """The first ids of a batch (``#12, #13 … (+80)``), for a log line."""
    ids = [f"#{it.id}" for it in items[:shown]]
    return ", ".join(ids) + (f" … (+{len(items) - shown})" if len(items) > shown else "")


def intake(session: Session, wf: WorkflowContext, messages: Sequence[Incoming], now: datetime,
           actor: Actor = API) -> list[tuple[Item, bool]]:
    """Store new messages (idempotent on ``external_id``), triage them and queue their cards.

    A batch is written with one multi-row INSERT per table (items, events, outbox, cards), not
    row by row: a crawler's batch of 100 is one short write transaction, which is what keeps
    intake within a small factor of a bare insert of the same rows."""
    ids = [m.external_id for m in messages]
    existing = {
        it.external_id: it for it in session.exec(select(Item).where(Item.external_id.in_(ids)))  # type: ignore[attr-defined]
    } if ids else {}
    first: dict[str, Incoming] = {}
    for msg in messages:
        first.setdefault(msg.external_id, msg)  # a repeat within the batch is the same message
    fresh = [msg for msg in first.values() if msg.external_id not in existing]
    new_items: list[Item] = []
    if fresh:
        rows = []
        for msg in fresh:
            received = msg.received_at or now
            rows.append({
                "external_id": msg.external_id, "title": msg.title or "", "body": msg.body,
                "author": msg.author, "category": msg.category, "kind": msg.kind, "url": msg.url,
                "likes": msg.likes or 0, "dislikes": msg.dislikes or 0, "received_at": received, "created_at": now,
                **triage_fields(wf, msg.title or "", msg.body, msg.region, received, category=msg.category),
            })
        # not sort_by_parameter_order: on SQLite it makes one INSERT per row; the items carry
        # their external_id, and ids follow the order given
        new_items = sorted(session.scalars(insert(Item).returning(Item), rows), key=lambda it: it.id)
        existing.update((item.external_id, item) for item in new_items)
        link_repeats(session, wf, new_items, actor, now)
        log_events(session, [
            (item, "received", {"region": item.region, "route": item.route_reason,
                                "priority": item.priority, "sensitive": item.sensitive,
                                "category": item.category_label, "duplicate_of": item.duplicate_of})
            for item in new_items], actor, now)
        log_events(session, [  # routed by the model, not a rule: in the log as such
            (item, "auto_routed", {"region": item.region, "score": json.loads(item.suggested)[0]["score"]})
            for item in new_items if item.route_reason == REASON_LEARNED], actor, now)
        if any(item.region for item in new_items):
            wf.learner.request(RETRAIN_AFTER_INTAKE)
        post_cards(session, wf, new_items, now)
        for item in new_items:
            if item.sensitive:
                alert_sensitive(session, wf, item, now)
        early_warning(session, wf, new_items, now)
        retrain_if_due(session, wf, new_items)
    if messages:
        log.info("intake: %d new (%s), %d known, from %s", len(new_items), _ids(new_items), len(messages) - len(fresh),
                 actor.source, extra={"items": [it.id for it in new_items], "source": actor.source})
    created = {id(item) for item in new_items}
    results: list[tuple[Item, bool]] = []
    seen: set[str] = set()
    for msg in messages:
        item = existing[msg.external_id]
        results.append((item, id(item) in created and msg.external_id not in seen))
        seen.add(msg.external_id)
    return results
