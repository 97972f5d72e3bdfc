"""Learned routing suggestions: where a message the rules leave at the desk probably belongs.

Every routed item of the deployment is a labelled example (the rules' routes, history imports, a
supervisor's ``/route`` or tap on a suggestion), with the configured place names taken out of its
text: what is left (estates, roads, towns, offices) is what an unrouted message holds. A
:class:`RoutingLearner` keeps the current model, trains a new one in the background (a separate
process by default, so intake never waits for it nor shares an interpreter lock with it), swaps it
in when done, and keeps its bytes in the database so a restart suggests at once.

When it retrains: at start; a few seconds after a supervisor routes (a correction should count
at once, and several in a row should cost one training); and at most every few minutes while
new routed items come in.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from bot.delivery.outbox import Button
from bot.learn import (
    MIN_EXAMPLES,
    LinearTextModel,
    Suggestion,
    routing_text,
    train,
    without_names,
)
from bot.rules.routing import RouteResult
from storage.models import Item, LearnedModel

log = logging.getLogger(__name__)

MODEL_NAME = "routing"
#: Seconds after a supervisor's route before retraining: a burst of corrections is one training.
RETRAIN_AFTER_ROUTE = 5.0
#: Seconds after routed items came in by intake before retraining (a batch import is one training).
RETRAIN_AFTER_INTAKE = 300.0
#: Newest routed items a training reads: enough for every place a deployment names, bounded in
#: time (about 10 s of CPU for 4,000) and memory.
MAX_EXAMPLES = 20_000
#: Suggestions below this score are not shown (noise, not a lead).
MIN_SCORE = 0.05
SHOWN_KEPT = 10_000  # items whose shown suggestions are kept until the next model
#: ``route_reason`` of an item routed by the model itself: never a training example, or the model
#: would learn its own mistakes.
REASON_LEARNED = "learned"
#: ``route_reason`` of an item routed by a supervisor's tap on a suggestion.
REASON_SUGGESTION = "suggestion"


def training_examples(session: Session, names: Sequence[str],
                      limit: int = MAX_EXAMPLES) -> list[tuple[str, str]]:
    """(text without the place names, region) of the newest routed items, oldest first."""
    rows = session.exec(
        select(Item.title, Item.body, Item.region)
        .where(Item.region.is_not(None))  # type: ignore[union-attr]
        .where((Item.route_reason.is_(None)) | (Item.route_reason != REASON_LEARNED))  # type: ignore[union-attr]
        .order_by(Item.id.desc())  # type: ignore[union-attr]
        .limit(limit)).all()
    return [(without_names(routing_text(t, b), names), str(r)) for t, b, r in reversed(rows)]


def stored_model(session: Session) -> LinearTextModel | None:
    """The model kept in the database, or None (none yet, or unreadable)."""
    row = session.get(LearnedModel, MODEL_NAME)
    if row is None:
        return None
    try:
        return LinearTextModel.from_bytes(row.data)
    except ValueError as exc:
        log.warning("stored routing model unreadable, retraining: %s", exc)
        return None


def store_model(session: Session, data: bytes, examples: int, now: datetime) -> None:
    """Keep a model's bytes (compressed before the transaction: writers wait for none of it)."""
    row = session.get(LearnedModel, MODEL_NAME) or LearnedModel(name=MODEL_NAME, trained_at=now, data=data)
    row.trained_at, row.examples, row.data = now, examples, data
    session.add(row)


class RoutingLearner:
    """The deployment's routing model and the background work that keeps it current.

    ``suggest`` is safe from any thread (the model is immutable and swapped whole). ``start``
    begins the background loop; ``retrain`` is the same work, synchronously (tests, the bench).
    """

    def __init__(self, place_names: Iterable[str], targets: Iterable[str], *,
                 in_process: bool = False) -> None:
        self.names = tuple(dict.fromkeys(n for n in place_names if n))
        self.targets = frozenset(targets)
        self.in_process = in_process
        self.model: LinearTextModel | None = None
        self.trainings = 0
        self._cond = threading.Condition()
        self._due: float | None = None
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._executor: Executor | None = None
        self._db: Any = None
        # item id -> (the model that scored it, its suggestions): GET and every feed page show an
        # unrouted item's suggestions, which only a new model changes
        self._shown: dict[int, tuple[LinearTextModel, tuple[Suggestion, ...]]] = {}
        self._shown_lock = threading.Lock()

    # -- suggesting -----------------------------------------------------------------------------

    def suggest(self, title: str, body: str, k: int = 3, *, explain: int = 3) -> tuple[Suggestion, ...]:
        """Up to ``k`` configured targets, best first, each with its calibrated score and the words
        of the text behind it; none without a model."""
        model = self.model
        if model is None:
            return ()
        return self._suggest(model, title, body, k, explain)

    def _suggest(self, model: LinearTextModel, title: str, body: str, k: int, explain: int) -> tuple[Suggestion, ...]:
        found = model.suggest(routing_text(title, body), k, min_score=MIN_SCORE, explain=explain)
        # (a region removed from the config since the model was trained is not suggested)
        return tuple(s for s in found if s.label in self.targets)

    def shown(self, item: Item) -> tuple[Suggestion, ...]:
        """The current model's suggestions for a stored item, as the API shows them (no words),
        scored once per model and item."""
        model = self.model
        if model is None or item.id is None:
            return ()
        hit = self._shown.get(item.id)
        if hit is not None and hit[0] is model:
            return hit[1]
        found = self._suggest(model, item.title or "", item.body or "", 3, 0)
        with self._shown_lock:  # the API's threads share it
            if len(self._shown) >= SHOWN_KEPT:
                self._shown.pop(next(iter(self._shown)))
            self._shown[item.id] = (model, found)
        return found

    # -- training ---------------------------------------------------------------------------------

    def load(self, db: Any) -> None:
        """Serve the stored model (if any) until the first retraining ends."""
        self.model = db.call_read(stored_model) or self.model

    def retrain(self, db: Any) -> LinearTextModel | None:
        """Train on the routed items now, store and serve the result; None when there is too
        little to learn from (fewer than the minimum, or one region only)."""
        examples = db.call_read(training_examples, self.names)
        if len(examples) < MIN_EXAMPLES or len({lab for _, lab in examples}) < 2:
            return None
        started = time.perf_counter()
        model = self._fit(examples)
        data = model.to_bytes()
        db.call(store_model, data, len(examples), datetime.now(UTC))
        self.model = model
        self.trainings += 1
        log.info("routing model retrained on %d items in %.1f s", len(examples),
                 time.perf_counter() - started)
        return model

    def _fit(self, examples: list[tuple[str, str]]) -> LinearTextModel:
        if self.in_process:
            return train(examples)
        if self._executor is None:
            # spawn: a fork of a process with threads and an event loop is not safe
            self._executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        return self._executor.submit(train, examples).result()

    def request(self, delay: float) -> None:
        """Retrain in ``delay`` seconds at the latest (an earlier request stands)."""
        with self._cond:
            due = time.monotonic() + delay
            if self._due is None or due < self._due:
                self._due = due
                self._cond.notify()

    def start(self, db: Any) -> None:
        """Begin the background loop; it retrains at once from the database."""
        if self._thread is not None:
            return
        self._db, self._stopping = db, False
        self._thread = threading.Thread(target=self._loop, name="liuyan-learner", daemon=True)
        self._thread.start()
        self.request(0)

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (self._due is None or self._due > time.monotonic()):
                    self._cond.wait(None if self._due is None else self._due - time.monotonic())
                if self._stopping:
                    return
                self._due = None
            try:
                self.retrain(self._db)
            except Exception:
                if not self._stopping:
                    log.exception("routing model: retraining failed; the previous model stays")


def suggestion_json(found: Sequence[Suggestion]) -> list[dict[str, Any]]:
    """Suggestions as stored on the item and shown by the API (scores to three decimals)."""
    return [{"target": s.label, "score": round(s.score, 3), "terms": list(s.terms)} for s in found]


def learned_route(wf: Any, route: RouteResult, title: str, body: str
                  ) -> tuple[str | None, str, tuple[str, ...], list[dict[str, Any]]]:
    """Region, route reason, the terms behind it, and the suggestions offered, for a message the
    rules routed as ``route``. Routed by a rule: the place names it matched, no suggestions.
    Left at the desk (no name, or a tie): the model's suggestions; and routed to the best of them
    when ``[routing] auto_route_above`` is set and it scores at least that."""
    if route.region is not None:  # (an explicit value is its own reason)
        return route.region, route.reason, route.matched if route.reason != "explicit" else (), []
    found = wf.learner.suggest(title, body)
    above = wf.config.routing.auto_route_above
    if found and above is not None and found[0].score >= above:
        return found[0].label, REASON_LEARNED, found[0].terms, suggestion_json(found)
    return None, route.reason, route.matched, suggestion_json(found)


#: Callback actions of the suggestion buttons, best first: ``pick1:<item id>`` routes to the first
#: target the card offered (stored on the item, so a press routes where the button said).
CALLBACK_PICKS = ("pick1", "pick2", "pick3")


def offered(item: Item) -> list[dict[str, Any]]:
    """The suggestions the item's desk card offered."""
    try:
        found = json.loads(item.suggested or "[]")
    except ValueError:
        return []
    return found if isinstance(found, list) else []


def suggestion_buttons(wf: Any, item: Item, lang: str | None) -> list[list[Button]]:
    """One button a row per suggestion the card offers (at most three)."""
    return [[Button(wf.renderer.text("judgement.suggestion_button_plain", lang,
                                     region=wf.region_name(sg["target"]) or sg["target"],
                                     score=round(sg["score"] * 100)),
                    f"{action}:{item.id}")]
            for action, sg in zip(CALLBACK_PICKS, offered(item), strict=False)
            if wf.region_name(sg.get("target"))]


def judgement_why(wf: Any, item: Item) -> dict[str, Any]:
    """What the card says about why: the priority's terms, the route's terms (and the score when
    the model routed it), the suggestions with their region names, scores in percent and words."""
    suggestions = offered(item)
    auto = next((round(sg["score"] * 100) for sg in suggestions[:1]
                 if item.route_reason == REASON_LEARNED), None)
    return {
        "priority_terms": _json_terms(item.priority_terms),
        "route_terms": _json_terms(item.route_terms),
        "auto": auto,
        "suggestions": [{"region": wf.region_name(sg["target"]) or sg["target"],
                         "score": round(sg["score"] * 100), "terms": sg.get("terms") or []}
                        for sg in suggestions],
    }


def _json_terms(value: str | None) -> list[str]:
    try:
        found = json.loads(value or "[]")
    except ValueError:
        return []
    return [str(t) for t in found] if isinstance(found, list) else []


def judgement_json(wf: Any, item: Item) -> dict[str, Any]:
    """The API's view of why: ``priority_terms`` (what made it urgent or complex),
    ``routed_by`` (``reason``: explicit, text, manual, suggestion or learned; ``terms``: the place
    names matched, or the learned words) and ``suggestions`` (for an item still unrouted, the
    current model's; ``[]`` once routed)."""
    found = wf.learner.shown(item) if item.region is None else ()
    return {
        "priority_terms": _json_terms(item.priority_terms),
        "routed_by": ({"reason": item.route_reason, "terms": _json_terms(item.route_terms)}
                      if item.region else None),
        "suggestions": [{"target": sg.label, "score": round(sg.score, 3)} for sg in found],
    }
