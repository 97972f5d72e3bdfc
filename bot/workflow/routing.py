"""Routing by hand: ``/route N <target>`` sends an unrouted item to a region or a unit (a
department; both are looked up by code, name or alias), or a routed one to another (its old card says where it went; the new region's chat gets a new card)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from bot.delivery.outbox import active_cards, enqueue_card_edit
from bot.rules.states import Refusal, check_route, route_action, target
from bot.workflow.answers import say
from bot.workflow.cards import post_cards, render_card
from bot.workflow.context import Actor, WorkflowContext
from bot.workflow.items import get_item, json_list, log_event, view
from bot.workflow.suggestions import RETRAIN_AFTER_ROUTE
from storage.models import Item


def route(session: Session, wf: WorkflowContext, item_id: int, actor: Actor, region_ref: str,
          now: datetime, *, reason: str = "manual", terms: Sequence[str] = (),
          confirm: bool = True) -> Item:
    """Route an unrouted item, or re-route a routed one: the old card says where it went and a
    new card is posted in the new region's chat. ``reason`` and ``terms`` say why (a tap on a
    learned suggestion: its words). A supervisor's route is a training example: the routing model
    is retrained a few seconds later."""
    person = wf.person(actor.user_id, actor.name)
    item = get_item(session, item_id, lock=True)
    current = view(wf, item, now)
    check_route(person, current)
    ref = (region_ref or "").strip()
    region = wf.directory.resolve(ref)
    if region is None:
        raise Refusal("unknown_region", {"ref": ref, "choices": "、".join(
            f"{r.name}({r.code})" for r in wf.config.targets)})
    if item.region == region.code:
        raise Refusal("same_region", {"id": item_id, "region": region.name})
    old_region = item.region
    old_cards = active_cards(session, item_id)
    item.region, item.region_hint, item.route_reason = region.code, None, reason
    item.route_terms = json_list(terms)
    item.status = target(route_action(current))
    item.claimed_by = item.claimed_by_name = None
    item.claimed_at = None
    session.add(item)
    session.flush()
    for card in old_cards:
        card.active = False
        session.add(card)
        text, buttons = render_card(wf, item, moved_to=region.name)
        enqueue_card_edit(session, card, text, now=now, buttons=buttons)
    post_cards(session, wf, [item], now)
    log_event(session, item, "rerouted" if old_region else "routed", actor, now,
              old=old_region, new=region.code, **({"by": reason} if reason != "manual" else {}))
    wf.learner.request(RETRAIN_AFTER_ROUTE)
    if confirm and actor.chat_id is not None:
        lang = wf.lang_for(actor)
        msg = (wf.renderer.text("ok.rerouted", lang, id=item_id, old=wf.region_name(old_region),
                                region=region.name)
               if old_region else wf.renderer.text("ok.routed", lang, id=item_id, region=region.name))
        say(session, actor.chat_id, msg, now, reply_to=actor.message_id, item_id=item_id)
    return item
