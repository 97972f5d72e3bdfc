"""Workflow steps for leaders: the alert about a sensitive message, the early warning of similar
messages about one place (both run at intake), and reports on request (``/report``).

Early warning
-------------
When a new message makes ``triage.warning_count`` (default 5) similar messages about one place within
``triage.warning_window_hours`` (default 24), the leaders' chat gets ONE warning on the priority lane
that groups them, instead of one alert each.

- **Similar** to the new message: received in the window before it (``[received_at − window,
  received_at]``), about the same place — the same region, or one of the two not routed (an estate
  named in no alias leaves a message unrouted, and on the real data the one burst that reaches 5 in
  24 hours, 伊景园滨河苑's bundled parking spaces in August 2019, is unrouted; an unrouted message
  groups with the unrouted and with one region, the one most of its routed matches name) — and sharing at
  least ``MIN_SHARED_TERMS`` (2) title words: jieba dictionary words of two or more characters,
  stopwords and the configured region names and aliases left out (the place is compared already; a
  shared "兰州市" says nothing about the matter). The title is the citizen's own summary, so two titles
  sharing two such words ("捆绑" + "车位", "小区" + "停水") are about the same matter far more often
  than two bodies sharing words.
- **Counted** in people: distinct authors, a message without an author counting as one. One citizen
  posting the same complaint five times is not five people, and the data set has such series.
- **Only fresh messages** warn: a message received more than a window before ``now`` (an import of
  old messages) never pages anyone.
- **Once per burst and window**: when a warning is queued, each grouped message gets an
  ``early_warning`` event. A later message whose group contains a message warned about within the
  window is part of a burst the leaders already know of, and warns nobody; once the window has
  passed since that warning, a burst still going on warns again (at most once a window).
"""

from __future__ import annotations

import json
import threading
import time
import weakref
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import event, select
from sqlmodel import Session

from bot.config import Config
from bot.delivery.outbox import PRIORITY_LANE, ROUTINE_LANE, Button, enqueue_message
from bot.reports.hot_issues import title_terms
from bot.rules.masking import mask_personal_numbers
from bot.rules.states import Refusal, Role
from bot.workflow.context import SYSTEM, Actor, WorkflowContext
from bot.workflow.items import log_event
from bot.workflow.repeats import note_issue_group
from bot.workflow.supervision import CALLBACK_SUPERVISE
from storage.models import Event, Item

__all__ = ["MIN_SHARED_TERMS", "alert_sensitive", "early_warning", "send_report", "similar_terms"]

MIN_SHARED_TERMS = 2
WARNING_ACTION = "early_warning"
LISTED_IN_WARNING = 10  # items listed in a warning's text; the rest are counted


def alert_sensitive(session: Session, wf: WorkflowContext, item: Item, now: datetime) -> None:
    """A sensitive item goes to the leaders and the desk at once, on the priority lane, with a
    button to supervise it."""
    terms = json.loads(item.sensitive_terms or "[]")
    text = wf.renderer.template(
        "alert.html.j2", None, item=item, terms=terms,
        excerpt=mask_personal_numbers(item.body)[:300],
        region_name=wf.region_name(item.region), category=item.sensitive_category,
    )
    buttons = [[Button(wf.renderer.text("button.supervise_plain", None, id=item.id),
                       f"{CALLBACK_SUPERVISE}:{item.id}")]]
    for chat_id in dict.fromkeys((wf.config.leaders.chat_id, wf.config.desk.chat_id)):
        enqueue_message(session, chat_id, text, now=now, lane=PRIORITY_LANE, item_id=item.id,
                        purpose="alert", buttons=buttons, dedupe_key=f"alert:{item.id}:{chat_id}")


# ------------------------------------------------------------------------------------ early warning


def _place_words(config: Config) -> frozenset[str]:
    """Region names and aliases, whole and as jieba cuts them: words that name the place."""
    words: set[str] = set()
    for region in config.regions:
        for name in (region.name, *region.aliases):
            words.add(name)
            words.update(title_terms(name))
    return frozenset(words)


def similar_terms(title: str, config: Config, place_words: frozenset[str] | None = None) -> frozenset[str]:
    """The title words that say what the matter is (see the module's docstring)."""
    return frozenset(title_terms(title or "")) - (place_words if place_words is not None else _place_words(config))


class _Row:
    __slots__ = ("id", "title", "region", "author", "received_at", "terms")

    def __init__(self, id: int, title: str, region: str | None, author: str | None,
                 received_at: datetime, terms: frozenset[str]) -> None:
        self.id, self.title, self.region, self.author = id, title, region, author
        self.received_at, self.terms = received_at, terms


def _people(rows: Iterable[_Row]) -> int:
    rows = list(rows)
    return len({r.author for r in rows if r.author}) + sum(1 for r in rows if not r.author)


class RecentMessages:
    """The messages of the last warning window, indexed by place and title word, kept in memory.

    Why: a burst check compares each new message with every message of the window. Reading the
    window from the database and cutting its titles anew for every batch costs time in proportion
    to the window, so a crawler delivering a backlog of thousands of fresh messages made intake
    slower with every batch. The index is read once, then only the rows added since (``id`` above
    the highest seen), and looked up by (region, word) so a message meets only its likely matches.

    The database stays the truth: the index is rebuilt from it every ``REBUILD_SECONDS`` (so rows
    another process committed out of id order are picked up) and dropped when a transaction that
    read rows into it rolls back.
    """

    REBUILD_SECONDS = 60.0

    def __init__(self, config: Config) -> None:
        self.place_words = _place_words(config)
        self.lock = threading.RLock()  # intake batches run in several database threads
        self.clear()

    def clear(self) -> None:
        """Forget everything: the next refresh reads the window anew."""
        with self.lock:
            self._clear()

    def _clear(self) -> None:
        self.rows: dict[int, _Row] = {}
        self.by_place_term: dict[tuple[str | None, str], set[int]] = {}
        self.high_id = 0
        self.since: datetime | None = None  # rows received from then on are all here
        self.built_at = -1e18

    def refresh(self, session: Session, since: datetime, exclude: set[int] = frozenset()) -> None:  # type: ignore[assignment]
        """Make the index hold every committed message received at or after ``since``. Rows of
        ``exclude`` (the calling transaction's own, not committed yet) are left out: other threads
        share the index, and those rows may still roll back."""
        stale = time.monotonic() - self.built_at > self.REBUILD_SECONDS
        if stale or self.since is None or since < self.since:
            self._clear()
            self.since, self.built_at = since, time.monotonic()
            stmt = select(Item.id, Item.title, Item.region, Item.author, Item.received_at).where(
                Item.received_at >= since)
        else:
            stmt = select(Item.id, Item.title, Item.region, Item.author, Item.received_at).where(
                Item.id > self.high_id, Item.received_at >= self.since)  # type: ignore[operator]
            if since - self.since > timedelta(hours=1):
                self._forget_before(since)
        for i, t, r, a, at in session.execute(stmt):
            if i not in exclude:
                self.add_row(_Row(i, t or "", r, a, at, similar_terms(t or "", None, self.place_words)))  # type: ignore[arg-type]
                self.high_id = max(self.high_id, i)

    def row_of(self, item: Item) -> _Row:
        return _Row(item.id, item.title or "", item.region, item.author, item.received_at,  # type: ignore[arg-type]
                    similar_terms(item.title or "", None, self.place_words))

    def add(self, rows: Iterable[_Row]) -> None:
        """Rows of a transaction that has committed (ids the next read would skip on PostgreSQL,
        where a lower id can commit after a higher one)."""
        with self.lock:
            for row in rows:
                if self.since is not None and row.received_at >= self.since:
                    self.add_row(row)

    def add_row(self, row: _Row) -> None:
        if row.id in self.rows:
            return
        self.rows[row.id] = row
        for term in row.terms:
            self.by_place_term.setdefault((row.region, term), set()).add(row.id)

    def discard_row(self, row: _Row) -> None:
        del self.rows[row.id]
        for term in row.terms:
            ids = self.by_place_term.get((row.region, term))
            if ids is not None:
                ids.discard(row.id)
                if not ids:
                    del self.by_place_term[(row.region, term)]

    def _forget_before(self, since: datetime) -> None:
        for row in [row for row in self.rows.values() if row.received_at < since]:
            self.discard_row(row)
        self.since = since

    def sharing(self, me: _Row, places: Iterable[str | None]) -> list[_Row]:
        """Rows about one of ``places`` that share at least ``MIN_SHARED_TERMS`` title words with ``me``."""
        terms = sorted(me.terms)
        found: set[int] = set()
        for place in places:
            lists = [self.by_place_term.get((place, t), set()) for t in terms]
            for a in range(len(lists)):
                if not lists[a]:
                    continue
                for b in range(a + 1, len(lists)):
                    if lists[b]:
                        found |= lists[a] & lists[b]
        found.discard(me.id)
        return [self.rows[i] for i in found]

    def regions(self) -> set[str | None]:
        return {place for place, _ in self.by_place_term}


_RECENT: weakref.WeakKeyDictionary[WorkflowContext, RecentMessages] = weakref.WeakKeyDictionary()


def recent_messages(wf: WorkflowContext) -> RecentMessages:
    index = _RECENT.get(wf)
    if index is None:
        index = _RECENT[wf] = RecentMessages(wf.config)
    return index


def early_warning(session: Session, wf: WorkflowContext, new_items: Sequence[Item], now: datetime) -> None:
    """Queue one warning per burst of similar messages about one place (see the module's docstring)."""
    config = wf.config
    needed = config.triage.warning_count
    window = timedelta(hours=config.triage.warning_window_hours)
    if needed < 2 or window <= timedelta(0):
        return
    fresh = sorted((it for it in new_items if it.id is not None and it.received_at >= now - window),
                   key=lambda it: (it.received_at, it.id))
    if not fresh:
        return
    index = recent_messages(wf)
    own = [index.row_of(it) for it in new_items if it.id is not None]
    with index.lock:
        index.refresh(session, fresh[0].received_at - window, exclude={row.id for row in own})
        # this transaction's rows join the shared index for this check only, and for good once committed
        lent = [row for row in own if row.id not in index.rows and row.received_at >= index.since]  # type: ignore[operator]
        for row in lent:
            index.add_row(row)
        try:
            _warn_bursts(session, wf, index, fresh, needed, window, now)
        finally:
            for row in lent:
                index.discard_row(row)
    event.listen(session, "after_commit", lambda _session: index.add(own), once=True)


def _warn_bursts(session: Session, wf: WorkflowContext, index: RecentMessages, fresh: Sequence[Item],
                 needed: int, window: timedelta, now: datetime) -> None:
    # latest first: in a batch, the last message's group holds the earlier ones, so a batch that
    # brings a whole burst makes one warning listing all of it
    every_place: set[str | None] | None = None  # read once, and only if an unrouted message asks
    for item in reversed(fresh):
        me = index.rows.get(item.id)  # type: ignore[arg-type]
        if me is None or len(me.terms) < MIN_SHARED_TERMS:
            continue
        if me.region is None and every_place is None:
            every_place = index.regions()
        places = every_place if me.region is None else (me.region, None)
        similar = [row for row in index.sharing(me, places)
                   if me.received_at - window <= row.received_at <= me.received_at]
        if len(similar) + 1 < needed:
            continue
        if me.region is None:  # one place: the region most of the routed ones name, and the unrouted
            regions = Counter(row.region for row in similar if row.region is not None)
            if regions:
                place = regions.most_common(1)[0][0]
                similar = [row for row in similar if row.region in (None, place)]
        group = sorted([me, *similar], key=lambda r: (r.received_at, r.id))
        if _people(group) < needed:
            continue
        ids = [row.id for row in group]
        note_issue_group(session, wf, ids, _people(group), now)  # each member's card shows the count
        warned = session.execute(
            select(Event.id).where(Event.item_id.in_(ids), Event.action == WARNING_ACTION,  # type: ignore[union-attr]
                                   Event.at >= now - window).limit(1)
        ).first()
        if warned is not None:
            continue
        _queue_warning(session, wf, me, group, window, now)


def _queue_warning(session: Session, wf: WorkflowContext, trigger: _Row, group: list[_Row],
                   window: timedelta, now: datetime) -> None:
    config = wf.config
    shared = Counter(term for row in group for term in row.terms & trigger.terms)
    terms = [t for t, n in shared.most_common() if n >= 2][:6]
    regions = Counter(row.region for row in group if row.region is not None)
    place = (wf.region_name(regions.most_common(1)[0][0]) if regions
             else wf.renderer.text("warning.unknown_place", None))
    listed = [{"id": row.id, "title": mask_personal_numbers(row.title), "received_at": row.received_at}
              for row in group[-LISTED_IN_WARNING:]]
    text = wf.renderer.template(
        "warning.html.j2", None, place=place, count=len(group), people=_people(group),
        hours=int(window.total_seconds() // 3600), terms=terms, items=listed,
        more=max(len(group) - LISTED_IN_WARNING, 0),
    )
    key = f"warning:{trigger.id}"
    # routine lane: a burst warning must never hold a sensitive alert back in the leaders' chat
    enqueue_message(session, config.leaders.chat_id, text, now=now, lane=ROUTINE_LANE,
                    item_id=trigger.id, purpose="warning", dedupe_key=key)
    ids = [row.id for row in group]
    for row in group:
        session.add(Event(item_id=row.id, at=now, action=WARNING_ACTION, actor_id=SYSTEM.user_id,
                          actor_name=SYSTEM.name, source=SYSTEM.source,
                          detail=json.dumps({"warning": key, "items": ids, "terms": terms},
                                            ensure_ascii=False)))
    session.flush()


# ------------------------------------------------------------------------------------ /report


def send_report(session: Session, wf: WorkflowContext, actor: Actor, kind: str, now: datetime) -> None:
    """``/report weekly|monthly``: the last whole week's roundup or the last month's report, as the
    scheduler would send it, to the chat it was asked in (leaders and supervisors only)."""
    from bot.reports.builder import build_report, period_for
    from bot.reports.delivery import queue_report, render_report

    person = wf.person(actor.user_id, actor.name)
    if not person.in_roster:
        raise Refusal("not_in_roster")
    if person.role not in (Role.SUPERVISOR, Role.LEADER):
        raise Refusal("report_not_allowed")
    if actor.chat_id is None:
        return
    period = period_for(kind, now, wf.tz)
    report = build_report(session, wf.config, period, now)
    rendered = render_report(report, wf.renderer, wf.lang_for(actor))
    queue_report(session, rendered, actor.chat_id, now, lane=PRIORITY_LANE,
                 reply_to_message_id=actor.message_id)
    log_event(session, None, "report_sent", actor, now, kind=kind, period=period.label)
