"""Each item's category (城乡建设, 环境保护 …): the source's own when it is a known one, else the
classifier's answer with the words that decided it, else none (the classifier is unsure).

The classifier is the one shipped with the project until the deployment has labelled enough of its
own messages (``RETRAIN_MIN`` items whose source gave a known category): then a model is trained on
those in a background thread and swapped in only when it does better than the shipped one on a
held-out fifth of them (macro-F1). Intake never waits for training: it classifies with whichever
model is current, and a failed or worse training keeps the old one.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, func
from sqlmodel import Session, select

from bot.learn import LinearTextModel, message_text, train
from bot.learn.category import classify, known_category, shipped_model
from bot.workflow.context import WorkflowContext
from bot.workflow.items import json_list
from storage.models import Item

log = logging.getLogger(__name__)

#: Own labelled items needed before a model is trained on them (fewer: the shipped model, trained on
#: 495 labelled messages, is the better bet), and the growth that makes it train again.
RETRAIN_MIN = 200
RETRAIN_GROWTH = 1.25
#: The latest this many labelled items are trained on: enough for these 7 labels, bounded in memory.
RETRAIN_MAX = 4000
BY_SOURCE = "source"
BY_MODEL = "model"


@dataclass(frozen=True)
class CategoryFields:
    """What the item stores about its category."""

    label: str | None
    by: str | None
    terms: tuple[str, ...] = ()

    def columns(self) -> dict[str, Any]:
        return {"category_label": self.label, "category_by": self.by, "category_terms": json_list(self.terms)}


class CategoryModel:
    """The deployment's current classifier and its retraining state (one per workflow context)."""

    def __init__(self) -> None:
        self.model: LinearTextModel | None = None  # None: the shipped one
        self.trained_on = 0  # own labelled items the current model was trained on (0: shipped)
        self.labelled: int | None = None  # own labelled items stored (None: not counted yet)
        self.lock = threading.Lock()
        self.training: threading.Thread | None = None

    def current(self) -> LinearTextModel:
        return self.model or shipped_model()


_MODELS: weakref.WeakKeyDictionary[WorkflowContext, CategoryModel] = weakref.WeakKeyDictionary()


def category_model(wf: WorkflowContext) -> CategoryModel:
    state = _MODELS.get(wf)
    if state is None:
        state = _MODELS[wf] = CategoryModel()
    return state


def categorize(wf: WorkflowContext, source: str | None, title: str, body: str) -> CategoryFields:
    """The category of one message (see the module docstring)."""
    known = known_category(source)
    if known is not None:
        return CategoryFields(known, BY_SOURCE)
    found = classify(title, body, model=category_model(wf).current())
    if found is None:
        return CategoryFields(None, None)
    return CategoryFields(found.label, BY_MODEL, found.terms)


# ------------------------------------------------------------------------------------ retraining


def retrain_if_due(session: Session, wf: WorkflowContext, new_items: Sequence[Item]) -> None:
    """After this transaction commits, train on the deployment's own labelled items in a thread,
    when there are enough and more than last time (counted once, then kept up by each batch)."""
    state = category_model(wf)
    if state.labelled is None:
        state.labelled = session.scalar(
            select(func.count()).select_from(Item).where(Item.category_by == BY_SOURCE)) or 0
    else:
        state.labelled += sum(1 for it in new_items if it.category_by == BY_SOURCE)
    count = state.labelled
    if state.training is not None and state.training.is_alive():
        return
    if count < RETRAIN_MIN or count < state.trained_on * RETRAIN_GROWTH or count == state.trained_on:
        return
    engine = session.get_bind()

    def start(_session: Session) -> None:
        with state.lock:
            if state.training is not None and state.training.is_alive():
                return
            state.training = threading.Thread(target=_retrain, args=(engine, state, count),
                                              name="category-retrain", daemon=True)
            state.training.start()

    event.listen(session, "after_commit", start, once=True)


def own_examples(session: Session, limit: int = RETRAIN_MAX) -> list[tuple[str, str]]:
    """The latest labelled items (their source's category) as ``(text, label)``."""
    rows = session.execute(
        select(Item.title, Item.body, Item.category_label).where(Item.category_by == BY_SOURCE)
        .order_by(Item.id.desc()).limit(limit)  # type: ignore[union-attr]
    ).all()
    return [(message_text(t or "", b or ""), lab) for t, b, lab in rows if lab]


def macro_f1(model: LinearTextModel, examples: Sequence[tuple[str, str]]) -> float:
    """Macro-F1 of always answering the best label, over the labels present in ``examples``."""
    labels = sorted({lab for _, lab in examples})
    predicted = [(model.best(text, explain=0), lab) for text, lab in examples]
    scores = []
    for label in labels:
        tp = sum(1 for p, lab in predicted if p is not None and p.label == label and lab == label)
        fp = sum(1 for p, lab in predicted if p is not None and p.label == label and lab != label)
        fn = sum(1 for p, lab in predicted if lab == label and (p is None or p.label != label))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def better_model(examples: Sequence[tuple[str, str]], current: LinearTextModel) -> LinearTextModel | None:
    """A model trained on ``examples`` when, trained on four fifths, it beats ``current`` on the
    fifth held out; else None."""
    held = [ex for i, ex in enumerate(examples) if i % 5 == 0]
    rest = [ex for i, ex in enumerate(examples) if i % 5 != 0]
    try:
        candidate = train(rest)
    except ValueError:  # too few examples or labels
        return None
    new, old = macro_f1(candidate, held), macro_f1(current, held)
    log.info("category model: own data %.3f vs current %.3f macro-F1 on %d held out", new, old, len(held))
    return train(examples) if new > old else None


def _retrain(engine: Any, state: CategoryModel, count: int) -> None:
    try:
        with Session(engine) as session:
            examples = own_examples(session)
        model = better_model(examples, state.current())
        state.trained_on = count
        if model is not None:
            state.model = model
    except Exception:  # a failed training keeps the model in use; intake is not affected
        log.exception("category model: retraining failed; the current model stays")
