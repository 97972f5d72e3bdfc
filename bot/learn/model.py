"""A trained text classifier: linear scores over TF-IDF character n-grams, turned into calibrated
probabilities, with the words that pushed each answer.

The model is immutable and holds only arrays (no training rows), so one object can be shared by
every request while a new one is trained elsewhere and swapped in. It is saved as one ``.npz`` file
of plain arrays (loaded with ``allow_pickle=False``: a model file cannot run code).
"""

from __future__ import annotations

import io
import json
import zipfile
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from bot.learn.features import Vocabulary, ngram_spans

FORMAT = "liuyan-linear-text-model/1"

#: An explanation quotes at most this many characters in one piece; a longer run of strong
#: features is quoted by its strongest n-gram alone.
MAX_TERM_CHARS = 8
#: An n-gram is part of an explanation when it pushes at least this share of the strongest one.
STRONG_SHARE = 0.25
#: At most this many n-grams are looked up in the text for one explanation.
EXPLAIN_GRAMS = 64


@dataclass(frozen=True)
class Suggestion:
    """One answer: ``label`` with estimated probability ``score`` (0-1) and ``terms``, the citizen's
    own words that pushed the model towards it, strongest first."""

    label: str
    score: float
    terms: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class LinearTextModel:
    """Multinomial linear model: ``p = softmax((x @ coef + intercept) / temperature)``.

    ``temperature`` is the calibration: fitted on predictions for examples the model had not seen
    (cross-validation folds), so that of the answers scored 0.8 about 80% are right.
    """

    labels: tuple[str, ...]
    vocabulary: Vocabulary
    coef: np.ndarray  # (n_terms, n_labels) float32
    intercept: np.ndarray  # (n_labels,) float32
    temperature: float = 1.0
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.coef.shape != (len(self.vocabulary), len(self.labels)):
            raise ValueError(f"coef shape {self.coef.shape} does not fit "
                             f"{len(self.vocabulary)} terms x {len(self.labels)} labels")
        # How much more a term speaks for one label than for the average label: what explanations
        # rank by (a softmax only sees differences between labels).
        object.__setattr__(self, "_lift", self.coef - self.coef.mean(axis=1, keepdims=True))

    # -- prediction -------------------------------------------------------------------------------

    def probabilities(self, text: str) -> np.ndarray:
        """Calibrated probability of every label (in ``labels`` order) for one text."""
        cols, w = self.vocabulary.vector(text)
        return self._softmax(w @ self.coef[cols] + self.intercept)

    def probabilities_many(self, texts: list[str]) -> np.ndarray:
        """Rows of :meth:`probabilities` for many texts at once."""
        x = self.vocabulary.matrix(texts)
        return self._softmax(np.asarray(x @ self.coef) + self.intercept)

    def _softmax(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64) / self.temperature
        z = z - z.max(axis=-1, keepdims=True)
        e = np.exp(z)
        probabilities: np.ndarray = e / e.sum(axis=-1, keepdims=True)
        return probabilities

    def suggest(self, text: str, k: int = 3, *, min_score: float = 0.0,
                explain: int = 3) -> tuple[Suggestion, ...]:
        """Up to ``k`` labels, most probable first, each scoring at least ``min_score``, with up to
        ``explain`` terms of the text that pushed each."""
        cols, w = self.vocabulary.vector(text)
        p = self._softmax(w @ self.coef[cols] + self.intercept)
        order = [int(i) for i in np.argsort(-p, kind="stable")[:k] if p[i] >= min_score]
        spans: list[tuple[str, int, int]] = []
        if explain and order and len(cols):
            spans = list(ngram_spans(text))
        return tuple(
            Suggestion(self.labels[i], float(p[i]), self._explain(text, spans, cols, w, i, explain))
            for i in order
        )

    def best(self, text: str, *, threshold: float = 0.0, explain: int = 3) -> Suggestion | None:
        """The most probable label, or ``None`` when its probability is below ``threshold``."""
        found = self.suggest(text, 1, min_score=threshold, explain=explain)
        return found[0] if found else None

    def explain(self, text: str, label: str, n: int = 3) -> tuple[str, ...]:
        """Up to ``n`` pieces of ``text`` that most raised ``label``'s score, strongest first.

        Each n-gram present adds ``tfidf * lift`` to the label; the strongest positive ones are
        found in the text, overlapping or touching occurrences are joined into one piece (so
        "梅溪", "溪湖", "梅溪湖" read as "梅溪湖"), pieces rank by what their n-grams add, and a
        piece inside (or around) a stronger one is not repeated.
        """
        if label not in self.labels:
            return ()
        cols, w = self.vocabulary.vector(text)
        return self._explain(text, list(ngram_spans(text)), cols, w, self.labels.index(label), n)

    def _explain(self, text: str, all_spans: list[tuple[str, int, int]], cols: np.ndarray,
                 w: np.ndarray, c: int, n: int) -> tuple[str, ...]:
        if n <= 0 or not len(cols):
            return ()
        push = w * self._lift[cols, c]  # type: ignore[attr-defined]
        top = float(push.max())
        if top <= 0:
            return ()
        # Every n-gram pushing at least a quarter as hard as the strongest (equal pushes are
        # common: the n-grams of one name always occur together), at most EXPLAIN_GRAMS of them.
        strong = np.flatnonzero(push >= STRONG_SHARE * top)
        strong = strong[np.argsort(-push[strong], kind="stable")][:EXPLAIN_GRAMS]
        weight = {self.vocabulary.terms[cols[i]]: float(push[i]) for i in strong}
        # only the strong n-grams' places, in text order (sorting them all cost more than the rest)
        spans = sorted((s, e, g) for g, s, e in all_spans if g in weight)
        pieces: list[tuple[int, int, set[str]]] = []
        for s, e, g in spans:
            if g not in weight:
                continue
            if pieces and s <= pieces[-1][1]:
                ps, pe, grams = pieces[-1]
                grams.add(g)
                pieces[-1] = (ps, max(pe, e), grams)
            else:
                pieces.append((s, e, {g}))
        ranked: dict[str, float] = {}
        for s, e, grams in pieces:
            if e - s <= MAX_TERM_CHARS:
                quote = text[s:e]
            else:
                strongest = max(grams, key=lambda g: weight[g])
                at = next(ss for ss, _, g in spans if g == strongest and s <= ss < e)
                quote = text[at:at + len(strongest)]
            score = sum(weight[g] for g in grams)
            ranked[quote] = max(ranked.get(quote, 0.0), score)
        chosen: list[str] = []
        for quote, _ in sorted(ranked.items(), key=lambda qs: -qs[1]):
            if not any(quote in q or q in quote for q in chosen):
                chosen.append(quote)
                if len(chosen) == n:
                    break
        return tuple(chosen)

    # -- files ----------------------------------------------------------------------------------

    def save(self, path: str | Path | BinaryIO) -> None:
        """Write the model as one compressed ``.npz`` of plain arrays (to a file name or a binary
        file object)."""
        header = {"format": FORMAT, "labels": list(self.labels),
                  "temperature": self.temperature, "info": self.info}
        with (open(path, "wb") if isinstance(path, (str, Path)) else nullcontext(path)) as fh:
            np.savez_compressed(
                fh,
                header=np.frombuffer(json.dumps(header, ensure_ascii=False).encode(), np.uint8),
                terms=np.frombuffer("\n".join(self.vocabulary.terms).encode(), np.uint8),
                idf=self.vocabulary.idf.astype(np.float32),
                coef=self.coef.astype(np.float32),
                intercept=self.intercept.astype(np.float32),
            )

    def to_bytes(self) -> bytes:
        """The model as the bytes of its ``.npz`` file (to keep it in a database)."""
        buffer = io.BytesIO()
        self.save(buffer)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> LinearTextModel:
        """A model from :meth:`to_bytes`; ``ValueError`` for anything else."""
        return cls.load(io.BytesIO(data))

    @classmethod
    def load(cls, path: str | Path | BinaryIO) -> LinearTextModel:
        """Read a model written by :meth:`save`; ``ValueError`` for anything else."""
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(bytes(data["header"]).decode())
                terms_blob = bytes(data["terms"]).decode()
                idf, coef, intercept = data["idf"], data["coef"], data["intercept"]
        except (OSError, KeyError, ValueError, UnicodeDecodeError, zipfile.BadZipFile) as exc:
            raise ValueError(f"{path}: not a model file ({exc})") from exc
        if header.get("format") != FORMAT:
            raise ValueError(f"{path}: format {header.get('format')!r}, expected {FORMAT!r}")
        terms = tuple(terms_blob.split("\n")) if terms_blob else ()
        return cls(
            labels=tuple(header["labels"]),
            vocabulary=Vocabulary(terms, idf),
            coef=coef,
            intercept=intercept,
            temperature=float(header["temperature"]),
            info=dict(header.get("info") or {}),
        )
