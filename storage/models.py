"""Tables of liuyan.

The database is the truth: items and their event log, the outbox of everything that must be said in
Telegram, the cards already posted (so later edits find them), and per-chat delivery state.
Times are stored as naive UTC by :class:`UTCDateTime` and come back timezone-aware, so SQLite and
PostgreSQL behave the same.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Optional

from sqlalchemy import BigInteger, DateTime, FetchedValue, Index, LargeBinary, Text, UniqueConstraint, false
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, naive UTC on disk (SQLite keeps no offset)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Optional[datetime], dialect: Any) -> Optional[datetime]:
        if value is None:
            return None
        if isinstance(value, str):  # raw SQLite text, e.g. from a hand-written query
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _dt(**kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, **kw)


# ids are INTEGER columns: PostgreSQL refuses a larger number outright (it is no id of ours either)
MAX_ID = 2**31 - 1


class Item(SQLModel, table=True):
    """One citizen message and where it stands in its handling."""

    __tablename__ = "items"
    # the overdue list and the reports ask "open items by deadline" over a million rows
    __table_args__ = (Index("ix_items_status_deadline", "status", "deadline"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    external_id: str = Field(max_length=200, unique=True, index=True)
    title: str = Field(default="", sa_type=Text)
    body: str = Field(sa_type=Text)
    author: Optional[str] = Field(default=None, max_length=200)
    category: Optional[str] = Field(default=None, max_length=100)
    kind: Optional[str] = Field(default=None, max_length=100)
    url: Optional[str] = Field(default=None, sa_type=Text)
    likes: int = 0
    dislikes: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # imported from the office's past (``liuyan import --history``): kept for reports and learning,
    # on no one's clock and announced nowhere, until something is done to it (then it is live)
    history: bool = Field(default=False, sa_column_kwargs={"server_default": false()})

    # the target's code: a region's or a unit's (departments share the regions' namespace, so one
    # column serves every "the item's chat / the officers of its place" question for both)
    region: Optional[str] = Field(default=None, max_length=64, index=True)
    region_hint: Optional[str] = Field(default=None, max_length=200)
    route_reason: Optional[str] = Field(default=None, max_length=20)
    status: str = Field(default="new", max_length=20, index=True)

    priority: str = Field(default="ordinary", max_length=20)
    priority_terms: str = Field(default="[]", sa_type=Text)  # JSON list
    sensitive: bool = False
    sensitive_category: Optional[str] = Field(default=None, max_length=50)
    sensitive_terms: str = Field(default="[]", sa_type=Text)  # JSON list
    sensitive_score: float = 0.0
    supervised: bool = False
    supervised_at: Optional[datetime] = _dt(default=None)

    received_at: datetime = _dt(index=True)
    created_at: datetime = _dt()
    deadline: Optional[datetime] = _dt(default=None, index=True)
    deadline_provisional: bool = False
    extended_by: int = 0
    complex_reason: Optional[str] = Field(default=None, sa_type=Text)

    claimed_by: Optional[int] = Field(default=None, sa_type=BigInteger, index=True)
    claimed_by_name: Optional[str] = Field(default=None, max_length=200)
    claimed_at: Optional[datetime] = _dt(default=None)
    reply: Optional[str] = Field(default=None, sa_type=Text)
    replied_at: Optional[datetime] = _dt(default=None)
    replied_by: Optional[int] = Field(default=None, sa_type=BigInteger)
    replied_by_name: Optional[str] = Field(default=None, max_length=200)

    rating: Optional[str] = Field(default=None, max_length=30)
    rating_comment: Optional[str] = Field(default=None, sa_type=Text)
    rated_at: Optional[datetime] = _dt(default=None)
    # the reply made public on the platform (closed); ``url`` then names its public page
    closed_at: Optional[datetime] = _dt(default=None)
    published_at: Optional[datetime] = _dt(default=None)

    # the platform's category (one of the known ones, or None when unsure); ``category`` above is
    # the source's own value as given
    category_label: Optional[str] = Field(default=None, max_length=100, index=True)
    category_by: Optional[str] = Field(default=None, max_length=10)  # "source" | "model"
    category_terms: str = Field(default="[]", sa_type=Text)  # JSON list: the words that decided it
    # a repeat: the earliest item of the same author about the same issue
    duplicate_of: Optional[int] = Field(default=None, index=True)
    # people who reported the same issue (the early warning's group), 0 when it is in none
    issue_group_size: int = 0

    # why the judgement: the place names (or learned words) that routed it; the suggestions offered
    route_terms: str = Field(default="[]", sa_type=Text)  # JSON list
    suggested: str = Field(default="[]", sa_type=Text)  # JSON list of {target, score, terms}

    # 重办: an unsatisfied rating reopened the item; its new deadline counts from ``reopened_at``
    reopened_at: Optional[datetime] = _dt(default=None)
    reopen_count: int = 0
    # 回头看: when the item's chat is next asked whether the problem is solved, and the answer
    followup: Optional[str] = Field(default=None, max_length=20)  # None | solved | ongoing
    followup_due: Optional[datetime] = _dt(default=None, index=True)
    followup_asked_at: Optional[datetime] = _dt(default=None)
    followup_at: Optional[datetime] = _dt(default=None)  # the latest answer
    released_from: Optional[str] = Field(default=None, max_length=200)  # whose claim lapsed (the card says so)


def live_items() -> Any:
    """SQL condition: items that are not kept only as history. Open-item lists (reminders,
    escalation, /due, /overdue, overdue counts) add it to their open-status condition."""
    return Item.history == false()  # type: ignore[arg-type]


class Event(SQLModel, table=True):
    """The event log: who did what to which item, when, and from which chat."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_item_at", "item_id", "at"), Index("ix_events_txid_id", "txid", "id"))

    id: Optional[int] = Field(default=None, primary_key=True)
    item_id: Optional[int] = Field(default=None, foreign_key="items.id")
    at: datetime = _dt()
    action: str = Field(max_length=40)
    actor_id: Optional[int] = Field(default=None, sa_type=BigInteger)
    actor_name: Optional[str] = Field(default=None, max_length=200)
    chat_id: Optional[int] = Field(default=None, sa_type=BigInteger)
    source: str = Field(default="telegram", max_length=20)  # telegram | api | scheduler | cli
    detail: str = Field(default="{}", sa_type=Text)  # JSON object
    # PostgreSQL: the writing transaction's id, filled in by the server (DEFAULT txid_current()),
    # which the changes feed orders by (storage.feed); SQLite: NULL. Inserts leave it out.
    txid: Optional[int] = Field(default=None, sa_type=BigInteger,
                                sa_column_kwargs={"server_default": FetchedValue()})


class Outbox(SQLModel, table=True):
    """Everything to be said in Telegram, written in the same transaction as the change it reports.

    ``lane`` 0 is the priority lane (answers to a person who just acted, sensitive alerts), 1 routine.
    ``dedupe_key`` makes time-driven messages (reminders, digests) idempotent across restarts and
    processes: a second insert of the same key fails and is ignored.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "status", "lane", "id"),
        UniqueConstraint("dedupe_key", name="uq_outbox_dedupe_key"),
    )

    id: Optional[int] = Field(default=None, primary_key=True)
    chat_id: int = Field(sa_type=BigInteger, index=True)
    method: str = Field(max_length=40)  # sendMessage | editMessageText | sendPhoto | sendDocument
    lane: int = 1
    payload: str = Field(sa_type=Text)  # JSON: text, buttons, file name, ...
    item_id: Optional[int] = Field(default=None, index=True)
    card_id: Optional[int] = Field(default=None, index=True)  # for edits: the card being edited
    topic_id: Optional[int] = Field(default=None, index=True)  # said inside this item's forum topic
    purpose: str = Field(default="message", max_length=40)
    dedupe_key: Optional[str] = Field(default=None, max_length=200)
    status: str = Field(default="pending", max_length=20)  # pending | sent | failed | superseded
    attempts: int = 0
    not_before: Optional[datetime] = _dt(default=None)
    created_at: datetime = _dt()
    sent_at: Optional[datetime] = _dt(default=None)
    message_id: Optional[int] = Field(default=None, sa_type=BigInteger)
    error: Optional[str] = Field(default=None, sa_type=Text)


class Card(SQLModel, table=True):
    """A card of an item posted in a chat; ``message_id`` is filled in once Telegram accepted it."""

    __tablename__ = "cards"
    __table_args__ = (Index("ix_cards_chat_message", "chat_id", "message_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="items.id", index=True)
    chat_id: int = Field(sa_type=BigInteger)
    outbox_id: Optional[int] = Field(default=None, index=True)  # the worker finds the card it sent
    message_id: Optional[int] = Field(default=None, sa_type=BigInteger)
    active: bool = True  # False once the item was re-routed away from this chat
    created_at: datetime = _dt()


class ChatState(SQLModel, table=True):
    """Delivery state of one chat: migrations to a supergroup and a bot removed from the group."""

    __tablename__ = "chat_state"

    chat_id: int = Field(sa_type=BigInteger, primary_key=True)
    migrated_to: Optional[int] = Field(default=None, sa_type=BigInteger)
    blocked: bool = False
    blocked_reason: Optional[str] = Field(default=None, sa_type=Text)
    blocked_at: Optional[datetime] = _dt(default=None)


class ExtensionRequest(SQLModel, table=True):
    """A holder's request for more working days, and the supervisor's decision on it."""

    __tablename__ = "extension_requests"

    id: Optional[int] = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="items.id", index=True)
    days: int
    reason: str = Field(sa_type=Text)
    status: str = Field(default="pending", max_length=20)  # pending | approved | refused
    requested_by: Optional[int] = Field(default=None, sa_type=BigInteger)
    requested_by_name: Optional[str] = Field(default=None, max_length=200)
    requested_at: datetime = _dt()
    chat_id: Optional[int] = Field(default=None, sa_type=BigInteger)
    decided_by: Optional[int] = Field(default=None, sa_type=BigInteger)
    decided_by_name: Optional[str] = Field(default=None, max_length=200)
    decided_at: Optional[datetime] = _dt(default=None)


class Region(SQLModel, table=True):
    """A region or a unit as configured (one namespace of codes); ``chat_id`` follows chat
    migrations, so it may differ from the file."""

    __tablename__ = "regions"

    code: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    chat_id: int = Field(sa_type=BigInteger, index=True)
    aliases: str = Field(default="[]", sa_type=Text)  # JSON list
    kind: str = Field(default="region", max_length=10)  # "region" | "unit" (a provincial department)


class Officer(SQLModel, table=True):
    """The roster as configured: who may act, where, in which role."""

    __tablename__ = "officers"

    user_id: int = Field(sa_type=BigInteger, primary_key=True)
    name: str = Field(max_length=200)
    region: str = Field(max_length=64)  # a region code or "*"
    role: str = Field(max_length=20)  # officer | supervisor | leader
    language: Optional[str] = Field(default=None, max_length=10)
    private_chat_id: Optional[int] = Field(default=None, sa_type=BigInteger)  # once they wrote to the bot


class Meta(SQLModel, table=True):
    """Small key/value facts the service keeps (schema version, last sweep)."""

    __tablename__ = "meta"

    key: str = Field(primary_key=True, max_length=100)
    value: str = Field(default="", sa_type=Text)


class Topic(SQLModel, table=True):
    """An item's forum topic in its chat (a forum group). ``thread_id`` is Telegram's
    ``message_thread_id``, known once the topic is created; until then (and again after the
    topic was deleted by hand) the rows that go inside it wait for ``create_row`` and ``card_row``,
    the topic's creation and its first message (the card). ``name`` and ``closed`` are what the
    bot last asked Telegram for; ``active`` is False once the item moved to another chat."""

    __tablename__ = "topics"
    __table_args__ = (Index("ix_topics_chat_thread", "chat_id", "thread_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="items.id", index=True)
    chat_id: int = Field(sa_type=BigInteger)
    thread_id: Optional[int] = Field(default=None, sa_type=BigInteger)
    name: str = Field(max_length=200)
    closed: bool = False
    active: bool = True
    create_row: Optional[int] = None
    card_row: Optional[int] = None
    created_at: datetime = _dt()

class Selection(SQLModel, table=True):
    """报前核查: an item chosen for one weekly roundup and its region's verification of it.

    ``round_due`` is the roundup it is for (an item is chosen at most once per roundup);
    ``due_at`` the verification deadline; ``reminded_at`` is set in the transaction that queues the
    one reminder, so a restart or a second process never says it twice."""

    __tablename__ = "selections"
    __table_args__ = (UniqueConstraint("item_id", "round_due", name="uq_selections_item_round"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="items.id", index=True)
    round_due: datetime = _dt(index=True)
    due_at: datetime = _dt()
    selected_at: datetime = _dt()
    selected_by: Optional[int] = Field(default=None, sa_type=BigInteger)
    selected_by_name: Optional[str] = Field(default=None, max_length=200)
    chat_id: Optional[int] = Field(default=None, sa_type=BigInteger)  # where verification was asked
    verdict: Optional[str] = Field(default=None, max_length=20)  # true | partly | false
    note: Optional[str] = Field(default=None, sa_type=Text)
    verified_at: Optional[datetime] = _dt(default=None)
    verified_by: Optional[int] = Field(default=None, sa_type=BigInteger)
    verified_by_name: Optional[str] = Field(default=None, max_length=200)
    reminded_at: Optional[datetime] = _dt(default=None)



class LearnedModel(SQLModel, table=True):
    """A model the deployment learned from its own items (the routing suggestions), as the bytes of
    its ``.npz`` file: a restart serves suggestions at once, before retraining finishes."""

    __tablename__ = "learned_models"

    name: str = Field(primary_key=True, max_length=50)
    trained_at: datetime = _dt()
    examples: int = 0
    data: bytes = Field(sa_type=LargeBinary)


class ForumChat(SQLModel, table=True):
    """What the bot knows of a group's topics: whether it is a forum and whether the bot may
    manage topics there (learned from getChat and the bot's membership, and from updates)."""

    __tablename__ = "forum_chats"

    chat_id: int = Field(sa_type=BigInteger, primary_key=True)
    is_forum: bool = False
    manage_topics: bool = False
    checked_at: Optional[datetime] = _dt(default=None)


__all__ = ["live_items", "LearnedModel", "Item", "Event", "Outbox", "Card", "ChatState", "ExtensionRequest", "Region", "Officer", "Meta", "Selection", "Topic", "ForumChat", "UTCDateTime"]
