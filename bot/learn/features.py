"""Character n-grams of a message, weighted by TF-IDF: the features every learned judgement uses.

Why characters and not words: Chinese has no spaces, a word segmenter splits the place names that
matter most (estates, roads, towns: "梅溪湖", "岳麓大道") in ways that change with its dictionary,
and citizens misspell them. Overlapping 2-4 character pieces of a name carry it whatever the
segmentation, and need no dictionary.

Normalisation keeps every character's position (one character in, one out), so a feature found at
``text[i:j]`` of the normalised text is ``text[i:j]`` of the original: explanations quote the
citizen's own words.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.rules.matcher import fold_ascii

#: n-gram lengths (inclusive).
MIN_N = 2
MAX_N = 4

#: A run of characters that n-grams may span: letters (any script) and digits. Punctuation and
#: whitespace end a run, so no feature straddles two clauses.
_RUN = re.compile(r"[^\W_]+")
_DIGIT = re.compile(r"[0-9]")


def normalise(text: str) -> str:
    """ASCII and full-width folded to lower-case half-width; every digit becomes "0" (house
    numbers, dates and phone numbers then share features instead of each being a rare one).
    Same length as ``text``."""
    return _DIGIT.sub("0", fold_ascii(text or ""))


def message_text(title: str, body: str) -> str:
    """The one text a message is judged by: title, then body, on separate lines."""
    return f"{title or ''}\n{body or ''}"


def routing_text(title: str, body: str) -> str:
    """The text routing is learned from: the title twice, then the body. The title is the
    citizen's own summary of where the problem is (the rules weigh it the same way); counting it
    twice raised top-3 recall 73.5% -> 74.8% and top-1 51.9% -> 52.7% on the time-split A-city
    folds (``python -m tests.bench.routing_learned``)."""
    return f"{title or ''}\n{title or ''}\n{body or ''}"


def without_names(text: str, names: Iterable[str]) -> str:
    """``text`` with every occurrence of ``names`` removed (longest first).

    For training on routed items: the configured place names already route by rule, and a model
    that learns them learns nothing the rules do not know; without them it must learn the estates,
    roads and offices around them, which is what unrouted messages hold.
    """
    found = sorted({n for n in names if n}, key=len, reverse=True)
    if not found:
        return text
    return re.sub("|".join(map(re.escape, found)), "", text)


def ngram_spans(text: str) -> Iterator[tuple[str, int, int]]:
    """Every (n-gram, start, end) of the normalised ``text``, n = 2..4, inside runs of letters and
    digits."""
    norm = normalise(text)
    for run in _RUN.finditer(norm):
        s, e = run.span()
        for i in range(s, e - 1):
            for n in range(MIN_N, MAX_N + 1):
                j = i + n
                if j > e:
                    break
                yield norm[i:j], i, j


def ngrams(text: str) -> list[str]:
    """Every n-gram of ``text`` (normalised), with repeats: the fast path of :func:`ngram_spans`."""
    grams: list[str] = []
    for run in _RUN.findall(normalise(text)):
        size = len(run)
        for n in range(MIN_N, min(MAX_N, size) + 1):
            grams.extend([run[i:i + n] for i in range(size - n + 1)])
    return grams


def ngram_counts(text: str) -> Counter[str]:
    """How often each n-gram occurs in ``text``."""
    return Counter(ngrams(text))


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """The n-grams a model knows and their inverse document frequencies.

    TF-IDF as is usual for short-text classification: sublinear term frequency (1 + log tf), smooth
    idf (log((1 + N) / (1 + df)) + 1), rows scaled to unit length.
    """

    terms: tuple[str, ...]
    idf: np.ndarray  # float32, one per term

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {t: i for i, t in enumerate(self.terms)})

    @property
    def index(self) -> dict[str, int]:
        return self._index  # type: ignore[attr-defined,no-any-return]

    def __len__(self) -> int:
        return len(self.terms)

    @classmethod
    def fit(cls, texts: Iterable[str], *, min_df: int = 2, max_terms: int = 200_000) -> Vocabulary:
        """Terms in at least ``min_df`` texts, at most ``max_terms`` of them (most frequent first)."""
        df: Counter[str] = Counter()
        n_docs = 0
        for text in texts:
            df.update(set(ngrams(text)))
            n_docs += 1
        kept = [(t, c) for t, c in df.items() if c >= min_df]
        kept.sort(key=lambda tc: (-tc[1], tc[0]))
        kept = kept[:max_terms]
        kept.sort()
        terms = tuple(t for t, _ in kept)
        idf = np.array(
            [math.log((1 + n_docs) / (1 + c)) + 1.0 for _, c in kept], dtype=np.float32
        )
        return cls(terms, idf)

    def vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Sparse TF-IDF of one text: (term indices, unit-length weights)."""
        return self.weigh(ngram_counts(text))

    def weigh(self, grams: Counter[str]) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`vector` of a text already counted."""
        index = self.index
        counts: dict[int, int] = {}
        for gram, c in grams.items():
            j = index.get(gram)
            if j is not None:
                counts[j] = c
        if not counts:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
        cols = np.fromiter(counts.keys(), dtype=np.int32, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
        w = (1.0 + np.log(tf)) * self.idf[cols]
        w /= np.linalg.norm(w)
        return cols, w.astype(np.float32)

    def matrix(self, texts: Sequence[str]) -> Any:
        """TF-IDF rows of ``texts`` as one CSR matrix (float32)."""
        indptr = [0]
        cols: list[np.ndarray] = []
        vals: list[np.ndarray] = []
        for text in texts:
            c, v = self.vector(text)
            cols.append(c)
            vals.append(v)
            indptr.append(indptr[-1] + len(c))
        data = np.concatenate(vals) if vals else np.zeros(0, dtype=np.float32)
        indices = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int32)
        from scipy import sparse  # training and batches only: one message is scored with numpy alone

        return sparse.csr_matrix(
            (data, indices, np.array(indptr, dtype=np.int64)), shape=(len(texts), len(self))
        )
