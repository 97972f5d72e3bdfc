"""The inline buttons: every callback the bot puts on a message, and what a press of it does.

A button's callback data is ``<action>:<item id>``. A press is checked like the command it stands
for, and also that the pressed message really is the one that carries this button for this item
(so a forwarded or replayed callback changes nothing); it returns the pop-up text. A new button is
one line in :data:`BUTTONS` and one function here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import Session, select

from bot.delivery.outbox import active_cards, card_at
from bot.rules.states import Refusal
from bot.workflow import followup, verification
from bot.workflow.cards import CALLBACK_CLAIM, CALLBACK_SELECT
from bot.workflow.claims import claim
from bot.workflow.context import Actor, WorkflowContext
from bot.workflow.deadlines import CALLBACK_APPROVE, CALLBACK_REFUSE, decide_extension
from bot.workflow.items import get_item
from bot.workflow.routing import route
from bot.workflow.suggestions import CALLBACK_PICKS, REASON_SUGGESTION, offered
from bot.workflow.supervision import CALLBACK_SUPERVISE, supervise
from storage.models import Outbox

# fn(session, wf, item_id, actor, chat_id, message_id, now) -> the pop-up text
ButtonAction = Callable[[Session, WorkflowContext, int, Actor, int, int, datetime], str]


def press(session: Session, wf: WorkflowContext, action: str, item_id: int, actor: Actor,
          chat_id: int, message_id: int, now: datetime) -> str:
    """A button press, checked like the command it stands for; returns the pop-up text."""
    fn = BUTTONS.get(action)
    if fn is None:
        raise Refusal("stale_button")
    actor = Actor(actor.user_id, actor.name, chat_id, None, actor.lang, actor.source)
    return fn(session, wf, item_id, actor, chat_id, message_id, now)


def _press_claim(session: Session, wf: WorkflowContext, item_id: int, actor: Actor, chat_id: int,
                 message_id: int, now: datetime) -> str:
    """The pressed message must be this item's live card in this chat: a forwarded or replayed
    callback naming another item changes nothing."""
    _check_card(session, item_id, chat_id, message_id)
    claim(session, wf, item_id, actor, now, confirm=False)
    return wf.renderer.text("ok.popup_claimed_plain", wf.lang_for(actor), id=item_id)


def _check_card(session: Session, item_id: int, chat_id: int, message_id: int) -> None:
    """The pressed message must be this item's live card in this chat. Its message id may not be
    recorded yet if the press comes within moments of the card's delivery."""
    if not _is_card(session, item_id, chat_id, message_id):
        raise Refusal("stale_button")


def _press_pick(rank: int) -> ButtonAction:
    """A learned suggestion on a desk card: routes the item where the button said (supervisors
    only, checked like ``/route``); a training example for the routing model."""

    def press_pick(session: Session, wf: WorkflowContext, item_id: int, actor: Actor, chat_id: int,
                   message_id: int, now: datetime) -> str:
        _check_card(session, item_id, chat_id, message_id)
        item = get_item(session, item_id)
        choices = offered(item)
        if item.region is not None or rank >= len(choices):
            raise Refusal("stale_button")
        pick = choices[rank]
        route(session, wf, item_id, actor, str(pick.get("target")), now, reason=REASON_SUGGESTION,
              terms=pick.get("terms") or (), confirm=False)
        return wf.renderer.text("judgement.popup_routed_plain", wf.lang_for(actor), id=item_id,
                                region=wf.region_name(str(pick.get("target"))))

    return press_pick


def _is_card(session: Session, item_id: int, chat_id: int, message_id: int) -> bool:
    """Whether the pressed message is the item's live card in this chat."""
    pressed = card_at(session, chat_id, message_id)
    if pressed is not None:
        return pressed.item_id == item_id and pressed.active
    # (re-read: the worker may have recorded the id between the two queries)
    return any(c.chat_id == chat_id and c.message_id in (None, message_id) for c in active_cards(session, item_id))


def _is_message_about(session: Session, item_id: int, chat_id: int, message_id: int,
                      purposes: tuple[str, ...]) -> bool:
    """Whether the pressed message is one of ours about this item, of one of ``purposes`` (or one
    still in flight, pressed before its message id was recorded)."""
    rows = session.exec(select(Outbox).where(
        Outbox.chat_id == chat_id, Outbox.item_id == item_id, Outbox.purpose.in_(purposes),  # type: ignore[attr-defined]
        or_(Outbox.message_id.is_(None), Outbox.message_id == message_id))).all()  # type: ignore[union-attr]
    if any(r.message_id == message_id for r in rows):
        return True
    other = session.exec(select(Outbox).where(Outbox.chat_id == chat_id, Outbox.message_id == message_id)).first()
    return bool(rows) and other is None


def _press_supervise(session: Session, wf: WorkflowContext, item_id: int, actor: Actor, chat_id: int,
                     message_id: int, now: datetime) -> str:
    """Only the alert (or card) about this very item, sent in this chat, carries this button."""
    sent = session.exec(select(Outbox).where(
        Outbox.chat_id == chat_id, Outbox.message_id == message_id, Outbox.item_id == item_id)).first()
    # (or a press within moments of the alert's delivery, before its message id is recorded)
    if (sent is None and card_at(session, chat_id, message_id) is None
            and not _is_message_about(session, item_id, chat_id, message_id, ("alert",))):
        raise Refusal("stale_button")
    supervise(session, wf, item_id, actor, now, confirm=False)
    return wf.renderer.text("ok.popup_supervised_plain", wf.lang_for(actor), id=item_id)


def _press_approve(session: Session, wf: WorkflowContext, item_id: int, actor: Actor, chat_id: int,
                   message_id: int, now: datetime) -> str:
    """The desk approves an extension request (the request itself checks the pressed message)."""
    return decide_extension(session, wf, item_id, actor, True, now, chat_id=chat_id, message_id=message_id)


def _press_refuse(session: Session, wf: WorkflowContext, item_id: int, actor: Actor, chat_id: int,
                  message_id: int, now: datetime) -> str:
    """The desk refuses an extension request."""
    return decide_extension(session, wf, item_id, actor, False, now, chat_id=chat_id, message_id=message_id)


def _press_select(session: Session, wf: WorkflowContext, item_id: int, actor: Actor, chat_id: int,
                  message_id: int, now: datetime) -> str:
    """报前核查: a card of the item, or the desk's proposal of key items that offers it."""
    if not _is_card(session, item_id, chat_id, message_id):
        proposal = session.exec(select(Outbox).where(
            Outbox.chat_id == chat_id, Outbox.message_id == message_id,
            Outbox.purpose == verification.PROPOSAL_PURPOSE)).first()
        if proposal is None or not verification.proposal_offers(proposal, item_id):
            raise Refusal("stale_button")
    verification.select_item(session, wf, item_id, actor, now, confirm=False)
    return wf.renderer.text("ok.popup_selected_plain", wf.lang_for(actor), id=item_id)


def _press_verdict(verdict: str) -> ButtonAction:
    def press_verdict(session: Session, wf: WorkflowContext, item_id: int, actor: Actor, chat_id: int,
                      message_id: int, now: datetime) -> str:
        """The request to verify this item (or its reminder) in this chat carries these buttons."""
        if not _is_message_about(session, item_id, chat_id, message_id, verification.ASK_PURPOSES):
            raise Refusal("stale_button")
        verification.verify(session, wf, item_id, actor, verdict, None, now, confirm=False)
        lang = wf.lang_for(actor)
        return wf.renderer.text("ok.popup_verified_plain", lang, id=item_id,
                                verdict=wf.renderer.text(f"verdict.{verdict}", lang))
    return press_verdict


def _press_followup(answer: str) -> ButtonAction:
    def press_followup(session: Session, wf: WorkflowContext, item_id: int, actor: Actor, chat_id: int,
                       message_id: int, now: datetime) -> str:
        """The look-back question about this item in this chat carries these buttons."""
        if not _is_message_about(session, item_id, chat_id, message_id, (followup.ASK_PURPOSE,)):
            raise Refusal("stale_button")
        followup.answer_followup(session, wf, item_id, actor, answer, None, now, confirm=False)
        return wf.renderer.text("ok.popup_followup_plain", wf.lang_for(actor), id=item_id)
    return press_followup


# callback action -> what a press does
BUTTONS: dict[str, ButtonAction] = {
    CALLBACK_CLAIM: _press_claim,          # a card (cards.py)
    CALLBACK_SUPERVISE: _press_supervise,  # a sensitive alert (leaders.py)
    CALLBACK_APPROVE: _press_approve,      # an extension request in the desk (deadlines.py)
    CALLBACK_REFUSE: _press_refuse,
    # the learned routing suggestions on a desk card (suggestions.py)
    **{action: _press_pick(rank) for rank, action in enumerate(CALLBACK_PICKS)},
    CALLBACK_SELECT: _press_select,        # a card, the desk's proposal of key items (verification.py)
    **{data: _press_verdict(verdict) for verdict, data in verification.CALLBACK_VERDICT.items()},
    **{data: _press_followup(answer) for answer, data in followup.CALLBACK_ANSWER.items()},  # followup.py
}
