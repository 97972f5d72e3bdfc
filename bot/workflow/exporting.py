"""``/export [YYYY-MM]``: the ledger (台账) as an xlsx document, sent to the chat that asked.

Who gets what (:func:`ledger_scope`, pure): a supervisor in the desk or a private chat gets the
whole ledger; in a region's own chat its items only, for that region's officers (and province-wide
people); anyone else is refused with the reason. The file is built in a read-only transaction (a
large ledger takes seconds and must not hold up the writers), then queued through the outbox like
a report's document.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session

from bot.delivery.outbox import PRIORITY_LANE, enqueue_file
from bot.platform.exporter import write_from_store
from bot.reports.builder import month_of
from bot.rules.states import ALL_REGIONS, Person, Refusal, Role
from bot.workflow.context import Actor, WorkflowContext
from bot.workflow.items import log_event
from bot.workflow.roster import region_of_chat


@dataclass(frozen=True)
class ChatPlace:
    """Where a command was sent: the desk, a private chat, the own chat of a target (a region's
    code; a unit's code once units have chats), or elsewhere."""

    kind: str  # desk | private | target | other
    code: str | None = None
    name: str | None = None


def ledger_scope(person: Person, place: ChatPlace) -> str | None:
    """The target whose items ``person`` may export in ``place``; None for the whole ledger.
    Raises :class:`Refusal` when they may export nothing there."""
    if not person.in_roster:
        raise Refusal("not_in_roster")
    if place.kind == "target":
        if person.role in (Role.SUPERVISOR, Role.LEADER) or person.region in (ALL_REGIONS, place.code):
            return place.code
        raise Refusal("export_wrong_region", {"region": place.name or place.code})
    if place.kind in ("desk", "private") and person.role == Role.SUPERVISOR:
        return None
    raise Refusal("export_not_allowed")


@dataclass(frozen=True)
class LedgerFile:
    filename: str
    data: bytes
    caption: str


def place_of(session: Session, wf: WorkflowContext, actor: Actor, private: bool) -> ChatPlace:
    if private:
        return ChatPlace("private")
    if actor.chat_id == wf.config.desk.chat_id:
        return ChatPlace("desk")
    code = region_of_chat(session, actor.chat_id) if actor.chat_id is not None else None
    if code is not None:
        return ChatPlace("target", code, wf.region_name(code))
    return ChatPlace("other")


def build_ledger_file(session: Session, wf: WorkflowContext, actor: Actor, month: date | None, now: datetime,
                      *, private: bool = False) -> LedgerFile:
    """The xlsx for ``actor`` in their chat (``month``: items received that month; None: all).
    Read-only: run it with ``db.read``."""
    person = wf.person(actor.user_id, actor.name)
    target = ledger_scope(person, place_of(session, wf, actor, private))
    lang = wf.lang_for(actor)
    period = month_of(month, wf.tz) if month is not None else None
    buffer = io.BytesIO()
    count = write_from_store(session, wf, buffer, "xlsx", now, start=period.start if period else None,
                             end=period.end if period else None, target=target, lang=lang)
    label = period.label if period else wf.renderer.text("export.all", lang)
    # an ASCII name, like the reports': a non-ASCII one reaches some clients percent-encoded
    filename = "-".join(part for part in ("ledger", target, period.label if period else None) if part) + ".xlsx"
    caption = wf.renderer.text("export.caption", lang, region=wf.region_name(target) if target else None,
                               period=label, count=count)
    return LedgerFile(filename, buffer.getvalue(), caption)


def send_ledger_file(session: Session, wf: WorkflowContext, actor: Actor, ledger: LedgerFile,
                     now: datetime) -> None:
    """Queue the document in the actor's chat (priority lane: it answers a person who asked)."""
    if actor.chat_id is None:
        return
    enqueue_file(session, actor.chat_id, "sendDocument", ledger.filename, ledger.data, now=now,
                 caption=ledger.caption, lane=PRIORITY_LANE, purpose="ledger")
    log_event(session, None, "ledger_exported", actor, now, file=ledger.filename, size=len(ledger.data))
