"""The category of a message (城乡建设, 环境保护 …): the source's own when it is a known one, else
the shipped classifier's answer, or none when the classifier is unsure.

The category list lives in ``data/categories.toml``; the classifier's weights in
``data/category.npz``, rebuilt by ``python -m bot.learn.build_category``.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from bot.learn.features import message_text
from bot.learn.model import LinearTextModel, Suggestion

DATA_DIR = Path(__file__).resolve().parent / "data"
CATEGORIES_FILE = DATA_DIR / "categories.toml"
MODEL_FILE = DATA_DIR / "category.npz"

#: Below this calibrated probability the classifier answers none. By 5-fold cross-validation on
#: the 495 labelled messages (``python -m bot.learn.build_category --cv``): macro-F1 0.787
#: answering always; at 0.5 it answers 88.5% of messages, 84.7% of them right (macro-F1 of what
#: it answers 0.830); at 0.7, 73.9% answered, 89.3% right.
DEFAULT_THRESHOLD = 0.5


@lru_cache(maxsize=1)
def categories() -> tuple[str, ...]:
    """The known categories, in the platform's order."""
    with CATEGORIES_FILE.open("rb") as fh:
        return tuple(tomllib.load(fh)["categories"])


def known_category(value: str | None) -> str | None:
    """``value`` (surrounding whitespace ignored) when it is one of the known categories."""
    value = (value or "").strip()
    return value if value in categories() else None


@lru_cache(maxsize=1)
def shipped_model() -> LinearTextModel:
    """The classifier shipped with the project (loaded once)."""
    return LinearTextModel.load(MODEL_FILE)


def classify(title: str, body: str, *, model: LinearTextModel | None = None,
             threshold: float = DEFAULT_THRESHOLD) -> Suggestion | None:
    """Best category with its probability and the words behind it, or ``None`` when unsure."""
    model = model or shipped_model()
    return model.best(message_text(title, body), threshold=threshold)


def category_of(source: str | None, title: str, body: str, *,
                model: LinearTextModel | None = None,
                threshold: float = DEFAULT_THRESHOLD) -> str | None:
    """The source's category when known, else :func:`classify`'s, else ``None``."""
    known = known_category(source)
    if known is not None:
        return known
    found = classify(title, body, model=model, threshold=threshold)
    return found.label if found else None
