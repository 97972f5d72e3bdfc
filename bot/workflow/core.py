"""The workflow: the only code that changes an item.

Every public method takes an open session and ``now`` and does one unit of work: it asks the pure
rules whether the change is allowed, writes the item, an :class:`~storage.models.Event` and the
outbox rows that announce the change — all in the caller's transaction (``db.run(wf.claim, ...)``).
Handlers, the intake API, the scheduler and the CLI all come through here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable, Sequence

from sqlalchemy import insert, or_, update
from sqlmodel import Session, select

from bot.config import Config, TriageConfig
from bot.delivery.outbox import (
    PRIORITY_LANE,
    ROUTINE_LANE,
    Button,
    active_cards,
    card_at,
    enqueue_card_edit,
    enqueue_cards,
    enqueue_message,
)
from bot.render import Renderer, fit
from bot.rules.deadlines import DeadlinePolicy, OfficeHours, Priority, compute_deadline
from bot.rules.masking import mask_personal_numbers
from bot.rules.priority import DEFAULT_COMPLEX_TERMS, DEFAULT_URGENT_TERMS, classify_priority
from bot.rules.routing import RegionDirectory, RegionRef
from bot.rules.sensitivity import SensitivityCategory, SensitivityTriage
from bot.rules.states import (
    ItemView,
    Person,
    Refusal,
    Role,
    Status,
    check_claim,
    check_read,
    check_reply,
    check_route,
)
from storage.models import MAX_ID, Event, Item, Officer, Outbox, Region

REPLY_LIMIT = 3000
_INSERT_EVENT = Event.__table__.insert()  # type: ignore[attr-defined]
CALLBACK_CLAIM = "claim"

# callback action -> fn(session, workflow, item_id, actor, chat_id, message_id, now) -> pop-up text.
# Modules of the workflow layer register the buttons they own with :func:`button_action`.
ButtonAction = Callable[..., str]
BUTTON_ACTIONS: dict[str, ButtonAction] = {}


# fn(session, workflow, new_items, now), run in the intake's transaction after the new items are
# stored and their cards queued (e.g. the leaders' early warning of similar messages about one place)
IntakeHook = Callable[..., None]
INTAKE_HOOKS: list[IntakeHook] = []


def after_intake(fn: IntakeHook) -> IntakeHook:
    """Register a step that runs on every intake batch's new items, in the same transaction."""
    INTAKE_HOOKS.append(fn)
    return fn


def button_action(name: str) -> Callable[[ButtonAction], ButtonAction]:
    """Register the handler of inline buttons whose callback data is ``name:<item id>``."""

    def register(fn: ButtonAction) -> ButtonAction:
        BUTTON_ACTIONS[name] = fn
        return fn

    return register


@dataclass(frozen=True)
class Actor:
    """Who is acting and from where (``user_id`` None: the system, the API or the scheduler)."""

    user_id: int | None
    name: str
    chat_id: int | None = None
    message_id: int | None = None  # the command's message, so answers can reply to it
    lang: str | None = None  # Telegram's language_code
    source: str = "telegram"


SYSTEM = Actor(user_id=None, name="system", source="system")


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
    extra: dict[str, Any] = field(default_factory=dict)


class Workflow:
    """Holds the compiled rules (routing, triage) built once from the config."""

    def __init__(self, config: Config, renderer: Renderer) -> None:
        self.config = config
        self.renderer = renderer
        self.tz = config.schedule.tz
        self.directory = RegionDirectory(
            [RegionRef(code=r.code, name=r.name, aliases=tuple(r.aliases)) for r in config.regions]
        )
        self.region_names = {r.code: r.name for r in config.regions}
        d = config.deadlines
        self.policy = DeadlinePolicy(
            ordinary_days=d.ordinary_days,
            complex_days=d.complex_days,
            max_extension_days=d.max_extension_days,
            hours=OfficeHours(start=config.schedule.office_start, end=config.schedule.office_end,
                              calendar=config.calendar),
        )
        t = config.triage
        self.urgent_terms = tuple(t.urgent_terms) if t.urgent_terms is not None else DEFAULT_URGENT_TERMS
        self.complex_terms = tuple(t.complex_terms) if t.complex_terms is not None else DEFAULT_COMPLEX_TERMS
        self.sensitivity = build_sensitivity(t)
        self._roster = {o.user_id: o for o in config.officers}

    # ------------------------------------------------------------------ set-up

    def sync_roster(self, session: Session) -> None:
        """Mirror regions and officers of the config into the database (chat ids already migrated
        by the delivery worker are kept: the database knows better than the file)."""
        from storage.models import ChatState

        migrated = {c.chat_id: c.migrated_to for c in session.exec(select(ChatState)) if c.migrated_to}
        for r in self.config.regions:
            chat_id = r.chat_id
            while chat_id in migrated:
                chat_id = migrated[chat_id]
            row = session.get(Region, r.code)
            if row is None:
                session.add(Region(code=r.code, name=r.name, chat_id=chat_id, aliases=_dumps(r.aliases)))
            else:
                row.name, row.chat_id, row.aliases = r.name, chat_id, _dumps(r.aliases)
        for o in self.config.officers:
            row = session.get(Officer, o.user_id)
            if row is None:
                session.add(Officer(user_id=o.user_id, name=o.name, region=o.region, role=o.role, language=o.language))
            else:
                row.name, row.region, row.role, row.language = o.name, o.region, o.role, o.language

    # ------------------------------------------------------------------ lookups

    def person(self, user_id: int | None, fallback_name: str = "") -> Person:
        officer = self._roster.get(user_id) if user_id is not None else None
        if officer is None:
            return Person(user_id=user_id or 0, name=fallback_name, role=None, region=None)
        return Person(user_id=officer.user_id, name=officer.name, role=officer.role, region=officer.region)

    def lang_for(self, actor: Actor) -> str:
        """An officer's configured language wins; else Telegram's language_code; else the deployment's."""
        officer = self._roster.get(actor.user_id) if actor.user_id is not None else None
        if officer is not None and officer.language:
            return self.renderer.lang(officer.language)
        return self.renderer.lang(actor.lang) if actor.lang else self.renderer.default_lang

    def region_name(self, code: str | None) -> str | None:
        return self.region_names.get(code) if code else None

    def region_chat(self, session: Session, code: str) -> int:
        row = session.get(Region, code)
        if row is not None:
            return row.chat_id
        cfg = self.config.region(code)
        assert cfg is not None, code
        return cfg.chat_id

    def region_of_chat(self, session: Session, chat_id: int) -> str | None:
        row = session.exec(select(Region).where(Region.chat_id == chat_id)).first()
        return row.code if row else None

    def get_item(self, session: Session, item_id: int, *, lock: bool = False) -> Item:
        if not 0 < item_id <= MAX_ID:
            raise Refusal("not_found", {"id": item_id})
        stmt = select(Item).where(Item.id == item_id)
        if lock:
            stmt = stmt.with_for_update()
        item = session.exec(stmt.execution_options(populate_existing=True)).first()
        if item is None:
            raise Refusal("not_found", {"id": item_id})
        return item

    def item_for_card(self, session: Session, chat_id: int, message_id: int) -> int:
        card = card_at(session, chat_id, message_id)
        if card is None:
            raise Refusal("not_a_card")
        return card.item_id

    def view(self, item: Item, now: datetime | None = None) -> ItemView:
        """The facts the rules need, with times worded for a refusal said at ``now``."""
        return ItemView(
            id=item.id or 0,
            status=item.status,
            region=item.region,
            region_name=self.region_name(item.region),
            claimed_by=item.claimed_by,
            claimed_by_name=item.claimed_by_name,
            claimed_at=self._when(item.claimed_at, now),
            replied_at=self._when(item.replied_at, now),
        )

    def _when(self, at: datetime | None, now: datetime | None) -> str | None:
        """``10:02`` when it happened today, ``10-08 10:02`` otherwise."""
        if at is None:
            return None
        local = at.astimezone(self.tz)
        if now is not None and local.date() == now.astimezone(self.tz).date():
            return local.strftime("%H:%M")
        return local.strftime("%m-%d %H:%M")

    # ------------------------------------------------------------------ rendering

    def render_card(self, item: Item, *, full: bool = False, moved_to: str | None = None,
                    lang: str | None = None) -> tuple[str, list[list[Button]]]:
        """The card's HTML and buttons. Group cards mask personal numbers; ``full`` shows all."""
        body = item.body if full else mask_personal_numbers(item.body)
        title = item.title if full else mask_personal_numbers(item.title or "")
        shown = _ItemForCard(item, title)
        reply_excerpt = (item.reply or "")[:300]

        def render(text: str, truncated: bool) -> str:
            return self.renderer.template(
                "card.html.j2", lang, item=shown, body=text, truncated=truncated,
                region_name=self.region_name(item.region), moved_to=moved_to,
                reply_excerpt=reply_excerpt,
            )

        text = fit(render, body)
        buttons: list[list[Button]] = []
        if item.status == Status.NEW and moved_to is None:
            buttons.append([Button(self.renderer.text("button.claim_plain", lang, id=item.id),
                                   f"{CALLBACK_CLAIM}:{item.id}")])
        return text, buttons

    def _refresh_cards(self, session: Session, item: Item, now: datetime, lane: int = ROUTINE_LANE) -> None:
        for card in active_cards(session, item.id or 0):
            text, buttons = self.render_card(item)
            enqueue_card_edit(session, card, text, now=now, buttons=buttons, lane=lane)

    def _log(self, session: Session, item: Item | None, action: str, actor: Actor, now: datetime,
             **detail: Any) -> None:
        self._log_many(session, [(item, action, detail)], actor, now)

    def say(self, session: Session, chat_id: int, text: str, now: datetime, *,
            reply_to: int | None = None, lane: int = PRIORITY_LANE, item_id: int | None = None,
            purpose: str = "answer") -> None:
        """Queue an answer to a person who just acted (priority lane by default)."""
        enqueue_message(session, chat_id, text, now=now, lane=lane, reply_to_message_id=reply_to,
                        item_id=item_id, purpose=purpose)

    def refuse(self, session: Session, actor: Actor, refusal: Refusal, now: datetime) -> str:
        """Queue the refusal's reason as an answer in the actor's chat; returns the text."""
        text = self.refusal_text(refusal, actor)
        if actor.chat_id is not None:
            self.say(session, actor.chat_id, text, now, reply_to=actor.message_id, purpose="refusal")
        return text

    def refusal_text(self, refusal: Refusal, actor: Actor, *, plain: bool = False) -> str:
        lang = self.lang_for(actor)
        key = f"refuse.{refusal.code}" if self.renderer.has_text(f"refuse.{refusal.code}") else refusal.code
        text = self.renderer.text(key, lang, **refusal.params)
        if plain:
            import html as _html

            return _html.unescape(text)
        return text

    # ------------------------------------------------------------------ intake

    def triage_fields(self, title: str, body: str, region_hint: str | None, received_at: datetime,
                      extended_by: int = 0) -> dict[str, Any]:
        """The columns the rules decide for a message: region, status, priority, sensitivity and
        deadline. Pure, so intake can triage a whole batch before it touches the database."""
        route = self.directory.route(region_hint, title, body)
        # CONTRACT §3: a region value that names no region is kept as the hint, routed by text or not
        hint = region_hint if route.hint is not None else None
        priority, terms = classify_priority(title, body, self.urgent_terms, self.complex_terms)
        # the message's own year tells a story of "2019年" apart from news, in old imports too
        assessment = self.sensitivity.assess(title, body, reference_year=received_at.year)
        deadline = compute_deadline(received_at, Priority(priority), self.policy, self.tz,
                                    extension_days=extended_by)
        return {
            "region": route.region, "route_reason": route.reason, "region_hint": hint,
            "status": Status.NEW if route.region else Status.UNROUTED,
            "priority": str(priority), "priority_terms": _dumps(terms),
            "sensitive": assessment.sensitive,
            "sensitive_category": assessment.category if assessment.sensitive else None,
            "sensitive_terms": _dumps(assessment.terms), "sensitive_score": float(assessment.score),
            "deadline": deadline.due, "deadline_provisional": deadline.provisional,
        }

    def intake(self, session: Session, messages: Sequence[Incoming], now: datetime,
               actor: Actor = Actor(None, "api", source="api")) -> list[tuple[Item, bool]]:
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
                    "likes": msg.likes or 0, "received_at": received, "created_at": now,
                    **self.triage_fields(msg.title or "", msg.body, msg.region, received),
                })
            # not sort_by_parameter_order: on SQLite it makes one INSERT per row; the items carry
            # their external_id, and ids follow the order given
            new_items = sorted(session.scalars(insert(Item).returning(Item), rows), key=lambda it: it.id)
            existing.update((item.external_id, item) for item in new_items)
            self._log_many(session, [
                (item, "received", {"region": item.region, "route": item.route_reason,
                                    "priority": item.priority, "sensitive": item.sensitive})
                for item in new_items], actor, now)
            self._post_cards(session, new_items, now)
            for item in new_items:
                if item.sensitive:
                    self.alert_sensitive(session, item, now)
            for hook in INTAKE_HOOKS:
                hook(session, self, new_items, now)
        created = {id(item) for item in new_items}
        results: list[tuple[Item, bool]] = []
        seen: set[str] = set()
        for msg in messages:
            item = existing[msg.external_id]
            results.append((item, id(item) in created and msg.external_id not in seen))
            seen.add(msg.external_id)
        return results

    def _log_many(self, session: Session, entries: Sequence[tuple[Item | None, str, dict[str, Any]]],
                  actor: Actor, now: datetime) -> None:
        """Events written with one INSERT, not through the unit of work: the event log is only
        ever appended to, and a flush per event cost more than the rest of a command."""
        if entries:
            session.connection().execute(_INSERT_EVENT, [
                {"item_id": item.id if item is not None else None, "at": now, "action": action, "actor_id": actor.user_id,
                 "actor_name": actor.name, "chat_id": actor.chat_id, "source": actor.source,
                 "detail": json.dumps(detail, ensure_ascii=False, default=str)}
                for item, action, detail in entries])

    def _post_cards(self, session: Session, items: Sequence[Item], now: datetime) -> None:
        """Queue the cards of new items: their region's chat, or the desk for the unrouted."""
        chats = dict(session.execute(select(Region.code, Region.chat_id)).all())
        cards = []
        for item in items:
            chat_id = (chats.get(item.region) or self.region_chat(session, item.region)
                       if item.region else self.config.desk.chat_id)
            text, buttons = self.render_card(item)
            lane = PRIORITY_LANE if item.priority == Priority.URGENT or item.sensitive else ROUTINE_LANE
            cards.append((item, chat_id, text, buttons, lane))
        enqueue_cards(session, cards, now=now)

    def alert_sensitive(self, session: Session, item: Item, now: datetime) -> None:
        """A sensitive item goes to the leaders and the desk at once, on the priority lane."""
        terms = json.loads(item.sensitive_terms or "[]")
        for chat_id in dict.fromkeys((self.config.leaders.chat_id, self.config.desk.chat_id)):
            text = self.renderer.template(
                "alert.html.j2", None, item=item, terms=terms,
                excerpt=mask_personal_numbers(item.body)[:300],
                region_name=self.region_name(item.region), category=item.sensitive_category,
            )
            buttons = [[Button(self.renderer.text("button.supervise_plain", None, id=item.id),
                               f"supervise:{item.id}")]]
            enqueue_message(session, chat_id, text, now=now, lane=PRIORITY_LANE, item_id=item.id,
                            purpose="alert", buttons=buttons, dedupe_key=f"alert:{item.id}:{chat_id}")

    # ------------------------------------------------------------------ officers' actions

    def claim(self, session: Session, item_id: int, actor: Actor, now: datetime, *,
              confirm: bool = True) -> Item:
        """Claim with one conditional UPDATE, so of many simultaneous claims exactly one wins."""
        person = self.person(actor.user_id, actor.name)
        item = self.get_item(session, item_id)
        check_claim(person, self.view(item, now))
        result = session.exec(
            update(Item)
            .where(Item.id == item_id, Item.status == Status.NEW)
            .values(status=Status.CLAIMED, claimed_by=person.user_id, claimed_by_name=person.name,
                    claimed_at=now)
        )
        if result.rowcount != 1:  # someone else was faster: refuse with their name
            item = self.get_item(session, item_id)
            check_claim(person, self.view(item, now))
            raise Refusal("held_by", {"id": item_id, "holder": item.claimed_by_name, "since": self.view(item, now).claimed_at})
        self._log(session, item, "claimed", actor, now)
        # the person who acted hears first; the card edit follows in the same chat
        if confirm and actor.chat_id is not None:
            self.say(session, actor.chat_id, self.renderer.text("ok.claimed", self.lang_for(actor), id=item_id,
                                                                 name=person.name), now,
                     reply_to=actor.message_id, item_id=item_id)
        self._refresh_cards(session, item, now, lane=PRIORITY_LANE)
        return item

    def reply(self, session: Session, item_id: int, actor: Actor, text: str, now: datetime) -> Item:
        text = (text or "").strip()
        if not text:
            raise Refusal("empty_reply")
        if len(text) > REPLY_LIMIT:
            raise Refusal("reply_too_long", {"length": len(text), "limit": REPLY_LIMIT})
        person = self.person(actor.user_id, actor.name)
        item = self.get_item(session, item_id, lock=True)
        check_reply(person, self.view(item, now))
        if item.status != Status.CLAIMED or item.claimed_by != person.user_id:
            # a supervisor replying to an item holds it from then on
            item.claimed_by, item.claimed_by_name = person.user_id, person.name
            item.claimed_at = item.claimed_at or now
        item.status = Status.REPLIED
        item.reply, item.replied_at = text, now
        item.replied_by, item.replied_by_name = person.user_id, person.name
        session.add(item)
        session.flush()
        on_time = item.deadline is None or now <= item.deadline
        self._log(session, item, "replied", actor, now, on_time=on_time, length=len(text))
        if actor.chat_id is not None:
            self.say(session, actor.chat_id, self.renderer.text("ok.replied", self.lang_for(actor), id=item_id),
                     now, reply_to=actor.message_id, item_id=item_id)
        self._refresh_cards(session, item, now, lane=PRIORITY_LANE)
        return item

    def route(self, session: Session, item_id: int, actor: Actor, region_ref: str, now: datetime) -> Item:
        """Route an unrouted item, or re-route a routed one: the old card says where it went and a
        new card is posted in the new region's chat."""
        person = self.person(actor.user_id, actor.name)
        item = self.get_item(session, item_id, lock=True)
        check_route(person, self.view(item, now))
        ref = (region_ref or "").strip()
        target = self.directory.resolve(ref)
        if target is None:
            raise Refusal("unknown_region", {"ref": ref, "choices": "、".join(
                f"{r.name}({r.code})" for r in self.config.regions)})
        if item.region == target.code:
            raise Refusal("same_region", {"id": item_id, "region": target.name})
        old_region = item.region
        old_cards = active_cards(session, item_id)
        item.region, item.region_hint, item.route_reason = target.code, None, "manual"
        item.status = Status.NEW
        item.claimed_by = item.claimed_by_name = None
        item.claimed_at = None
        session.add(item)
        session.flush()
        for card in old_cards:
            card.active = False
            session.add(card)
            text, buttons = self.render_card(item, moved_to=target.name)
            enqueue_card_edit(session, card, text, now=now, buttons=buttons)
        self._post_cards(session, [item], now)
        self._log(session, item, "rerouted" if old_region else "routed", actor, now,
                  old=old_region, new=target.code)
        if actor.chat_id is not None:
            lang = self.lang_for(actor)
            msg = (self.renderer.text("ok.rerouted", lang, id=item_id, old=self.region_name(old_region),
                                      region=target.name)
                   if old_region else self.renderer.text("ok.routed", lang, id=item_id, region=target.name))
            self.say(session, actor.chat_id, msg, now, reply_to=actor.message_id, item_id=item_id)
        return item

    def show(self, session: Session, item_id: int, actor: Actor, now: datetime, *, private: bool) -> None:
        """Post the card again as an answer; in a private chat the holder and supervisors get the
        full text (personal numbers unmasked), everyone else the masked card."""
        person = self.person(actor.user_id, actor.name)
        item = self.get_item(session, item_id)
        check_read(person, self.view(item, now))
        full = private and (person.role == Role.SUPERVISOR or item.claimed_by == person.user_id)
        text, buttons = self.render_card(item, full=full, lang=self.lang_for(actor))
        assert actor.chat_id is not None
        enqueue_message(session, actor.chat_id, text, now=now, buttons=buttons, lane=PRIORITY_LANE,
                        reply_to_message_id=actor.message_id, item_id=item_id, purpose="show")

    def mine(self, session: Session, actor: Actor, now: datetime) -> list[Item]:
        """Items the actor holds and has not replied to, oldest deadline first; answered in the chat."""
        person = self.person(actor.user_id, actor.name)
        if not person.in_roster:
            raise Refusal("not_in_roster")
        items = list(session.exec(
            select(Item).where(Item.claimed_by == person.user_id, Item.status == Status.CLAIMED)
            .order_by(Item.deadline, Item.id)  # type: ignore[arg-type]
        ))
        if actor.chat_id is not None:
            text = self.renderer.template("item_list.html.j2", self.lang_for(actor), items=items,
                                          heading="mine", now=now, region_names=self.region_names)
            self.say(session, actor.chat_id, text, now, reply_to=actor.message_id, purpose="list")
        return items

    # ------------------------------------------------------------------ buttons, help, supervision

    @property
    def buttons(self) -> frozenset[str]:
        return frozenset(BUTTON_ACTIONS)

    def press(self, session: Session, action: str, item_id: int, actor: Actor, chat_id: int,
              message_id: int, now: datetime) -> str:
        """A button press, checked like the command it stands for; returns the pop-up text."""
        fn = BUTTON_ACTIONS.get(action)
        if fn is None:
            raise Refusal("stale_button")
        actor = Actor(actor.user_id, actor.name, chat_id, None, actor.lang, actor.source)
        return fn(session, self, item_id, actor, chat_id, message_id, now)

    def supervise(self, session: Session, item_id: int, actor: Actor, now: datetime, *,
                  confirm: bool = True) -> Item:
        """督办: a leader or supervisor marks an item supervised; the region is told and the
        remaining time to the deadline shrinks by the configured factor."""
        person = self.person(actor.user_id, actor.name)
        if not person.in_roster:
            raise Refusal("not_in_roster")
        if person.role not in (Role.SUPERVISOR, Role.LEADER):
            raise Refusal("supervise_not_allowed")
        item = self.get_item(session, item_id, lock=True)
        if item.supervised:
            raise Refusal("already_supervised", {"id": item_id})
        if item.status in (Status.REPLIED, Status.CLOSED):
            raise Refusal("already_replied", {"id": item_id, "at": self.view(item, now).replied_at})
        item.supervised, item.supervised_at = True, now
        if item.deadline is not None and item.deadline > now:
            factor = self.config.deadlines.supervised_factor
            item.deadline = now + (item.deadline - now) * factor
        session.add(item)
        session.flush()
        self._log(session, item, "supervised", actor, now, deadline=item.deadline)
        self._refresh_cards(session, item, now, lane=PRIORITY_LANE)
        notice = self.renderer.template("supervised.html.j2", None, item=item, by=person.name,
                                        region_name=self.region_name(item.region))
        target = self.region_chat(session, item.region) if item.region else self.config.desk.chat_id
        enqueue_message(session, target, notice, now=now, lane=PRIORITY_LANE, item_id=item_id,
                        purpose="supervised")
        if confirm and actor.chat_id is not None and actor.chat_id != target:
            self.say(session, actor.chat_id, self.renderer.text("ok.supervised", self.lang_for(actor), id=item_id),
                     now, reply_to=actor.message_id, item_id=item_id)
        return item

    def help(self, session: Session, actor: Actor, now: datetime, *, welcome: bool = False) -> None:
        person = self.person(actor.user_id, actor.name)
        text = self.renderer.template("help.html.j2", self.lang_for(actor), person=person, welcome=welcome,
                                      region_name=self.region_name(person.region) if person.region else None)
        if actor.chat_id is not None:
            self.say(session, actor.chat_id, text, now, reply_to=actor.message_id, purpose="help")

    def remember_private_chat(self, session: Session, user_id: int, chat_id: int | None) -> None:
        row = session.get(Officer, user_id)
        if row is not None and chat_id is not None:
            row.private_chat_id = chat_id
            session.add(row)

    # ------------------------------------------------------------------ citizens

    def rate(self, session: Session, item_id: int, rating: str, comment: str | None, now: datetime) -> Item:
        item = self.get_item(session, item_id, lock=True)
        if item.status not in (Status.REPLIED, Status.CLOSED):
            raise Refusal("not_replied", {"id": item_id})
        item.rating, item.rating_comment, item.rated_at = rating, comment, now
        session.add(item)
        self._log(session, item, "rated", Actor(None, "citizen", source="api"), now, rating=rating)
        return item


@button_action(CALLBACK_CLAIM)
def _press_claim(session: Session, wf: Workflow, item_id: int, actor: Actor, chat_id: int,
                 message_id: int, now: datetime) -> str:
    """The pressed message must be this item's live card in this chat: a forwarded or replayed
    callback naming another item changes nothing. Its message id may not be recorded yet if the
    press comes within moments of the card's delivery."""
    pressed = card_at(session, chat_id, message_id)
    if pressed is not None:
        if pressed.item_id != item_id or not pressed.active:
            raise Refusal("stale_button")
    # (re-read: the worker may have recorded the id between the two queries)
    elif not any(c.chat_id == chat_id and c.message_id in (None, message_id) for c in active_cards(session, item_id)):
        raise Refusal("stale_button")
    wf.claim(session, item_id, actor, now, confirm=False)
    return wf.renderer.text("ok.popup_claimed_plain", wf.lang_for(actor), id=item_id)


@button_action("supervise")
def _press_supervise(session: Session, wf: Workflow, item_id: int, actor: Actor, chat_id: int,
                     message_id: int, now: datetime) -> str:
    """Only the alert (or card) about this very item, sent in this chat, carries this button."""
    sent = session.exec(select(Outbox).where(
        Outbox.chat_id == chat_id, Outbox.message_id == message_id, Outbox.item_id == item_id)).first()
    if sent is None and card_at(session, chat_id, message_id) is None:
        # a press within moments of the alert's delivery, before its message id is recorded
        in_flight = session.exec(select(Outbox).where(
            Outbox.chat_id == chat_id, Outbox.item_id == item_id, Outbox.purpose == "alert",
            or_(Outbox.message_id.is_(None), Outbox.message_id == message_id))).first()  # type: ignore[union-attr]
        other = session.exec(select(Outbox).where(
            Outbox.chat_id == chat_id, Outbox.message_id == message_id)).first()
        if in_flight is None or (other is not None and other.item_id != item_id):
            raise Refusal("stale_button")
    wf.supervise(session, item_id, actor, now, confirm=False)
    return wf.renderer.text("ok.popup_supervised_plain", wf.lang_for(actor), id=item_id)


class _ItemForCard:
    """The item as a card shows it (title masked for group chats), read-only for templates."""

    def __init__(self, item: Item, title: str) -> None:
        self._item = item
        self.title = title

    def __getattr__(self, name: str) -> Any:
        return getattr(self._item, name)


def build_sensitivity(t: TriageConfig) -> SensitivityTriage:
    """The compiled sensitivity triage: the built-in categories unless the config names its own."""
    kwargs: dict[str, Any] = {}
    if t.sensitivity_categories is not None:
        kwargs["categories"] = [SensitivityCategory(c.key, c.name_zh, c.name_en, tuple(c.terms), c.weight)
                                for c in t.sensitivity_categories]
    if t.exclusions is not None:
        kwargs["exclusions"] = tuple(t.exclusions)
    if t.sensitivity_threshold is not None:
        kwargs["threshold"] = t.sensitivity_threshold
    return SensitivityTriage(**kwargs)


def _dumps(values: Iterable[str]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


