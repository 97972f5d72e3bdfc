"""An item's card: what it shows, posting it in the item's chat, and editing it as the item changes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from bot.delivery.outbox import (
    PRIORITY_LANE,
    ROUTINE_LANE,
    Button,
    active_cards,
    card_at,
    enqueue_card_edit,
    enqueue_cards,
)
from bot.render import fit
from bot.rules.deadlines import Priority
from bot.rules.masking import mask_personal_numbers
from bot.rules.states import Refusal, Status
from bot.workflow.context import WorkflowContext
from bot.workflow.roster import item_chat
from bot.workflow.suggestions import judgement_why, suggestion_buttons
from bot.workflow.topics import open_topics, sync_topics
from storage.models import Item, Region

CALLBACK_CLAIM = "claim"
CALLBACK_SELECT = "select"  # chooses the item for the weekly roundup (verification.py)


def render_card(wf: WorkflowContext, item: Item, *, full: bool = False, moved_to: str | None = None,
                lang: str | None = None) -> tuple[str, list[list[Button]]]:
    """The card's HTML and buttons. Group cards mask personal numbers; ``full`` shows all."""
    body = item.body if full else mask_personal_numbers(item.body)
    title = item.title if full else mask_personal_numbers(item.title or "")
    shown = _ItemForCard(item, title)
    shown.rating_comment = item.rating_comment if full else mask_personal_numbers(item.rating_comment or "")
    reply_excerpt = (item.reply or "")[:300]

    def render(text: str, truncated: bool) -> str:
        return wf.renderer.template(
            "card.html.j2", lang, item=shown, body=text, truncated=truncated,
            region_name=wf.region_name(item.region), moved_to=moved_to,
            reply_excerpt=reply_excerpt, why=judgement_why(wf, item), **_target_and_category(wf, item),
        )

    text = fit(render, body)
    buttons: list[list[Button]] = []
    if item.status == Status.NEW and moved_to is None:
        buttons.append([Button(wf.renderer.text("button.claim_plain", lang, id=item.id),
                               f"{CALLBACK_CLAIM}:{item.id}")])
        if item.region is not None:  # 报前核查: a supervisor may choose it for the roundup here
            buttons.append([Button(wf.renderer.text("button.select_plain", lang, id=item.id),
                                   f"{CALLBACK_SELECT}:{item.id}")])
    if item.status == Status.UNROUTED and moved_to is None:
        buttons.extend(suggestion_buttons(wf, item, lang))
    return text, buttons


def _target_and_category(wf: WorkflowContext, item: Item) -> dict[str, Any]:
    """What the card says of the item's target kind and category (with the words that decided a
    classified one)."""
    terms = json.loads(item.category_terms or "[]") if item.category_by == "model" else []
    return {"is_unit": wf.is_unit(item.region), "category": item.category_label, "category_terms": terms}


def card_lane(item: Item) -> int:
    """Urgent and sensitive items' cards go ahead of routine ones."""
    return PRIORITY_LANE if item.priority == Priority.URGENT or item.sensitive else ROUTINE_LANE


def post_cards(session: Session, wf: WorkflowContext, items: Sequence[Item], now: datetime) -> None:
    """Queue the cards of new items: their region's chat, or the desk for the unrouted."""
    chats = dict(session.execute(select(Region.code, Region.chat_id)).all())
    cards = []
    for item in items:
        chat_id = chats.get(item.region) or item_chat(session, wf, item)
        if item.released_from is not None:  # a lapsed claim is news only in the chat it lapsed in
            item.released_from = None
            session.add(item)
        text, buttons = render_card(wf, item)
        cards.append((item, chat_id, text, buttons, card_lane(item)))
    enqueue_cards(session, cards, now=now, topics=open_topics(session, wf, cards, now))


def refresh_cards(session: Session, wf: WorkflowContext, item: Item, now: datetime,
                  lane: int = ROUTINE_LANE) -> None:
    """Queue an edit of each live card of the item to show it as it is now."""
    for card in active_cards(session, item.id or 0):
        text, buttons = render_card(wf, item)
        enqueue_card_edit(session, card, text, now=now, buttons=buttons, lane=lane)
    sync_topics(session, wf, item, now)


def item_for_card(session: Session, chat_id: int, message_id: int) -> int:
    """The item whose card this message is (``/reply text`` sent as a reply to a card)."""
    card = card_at(session, chat_id, message_id)
    if card is None:
        raise Refusal("not_a_card")
    return card.item_id


class _ItemForCard:
    """The item as a card shows it (title masked for group chats), read-only for templates."""

    def __init__(self, item: Item, title: str) -> None:
        self._item = item
        self.title = title

    def __getattr__(self, name: str) -> Any:
        return getattr(self._item, name)
