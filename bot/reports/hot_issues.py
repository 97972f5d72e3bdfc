"""Hot issues: similar messages of a period grouped, with counts, places and a representative title.

How messages are compared
-------------------------
A message becomes a weighted bag of character bigrams ("shingles") of the Chinese runs of its text:

- **title shingles** count 2 each (bigrams that are whole stopwords such as 反映, 问题 left out):
  the title is the citizen's own summary of the matter;
- **body shingles**, from the first ``BODY_PREFIX`` (80) characters, count 0.5 each: the opening
  states the matter, the rest is mostly the story.

Shingles need no dictionary, so an estate or village name no dictionary knows still matches
(伊景园滨河苑 → 伊景, 景园, 园滨 …), and they are cheap: a week of a large deployment is some
20,000 messages. (jieba word segmentation of the titles was tried first: on the real data it found
fewer members of the big groups — the August 2019 parking-space protest came out at 24 messages
instead of 38 — and it cost a second per 17,000 titles.) jieba still names each group: a hot issue's
``terms`` are the dictionary words its members' titles share (``HMM=False``; ``enable_paddle`` is
never called, it runs pip).

Weights are TF-IDF over the messages being clustered (``(1 + ln(1 + tf)) * (ln((N + 1) / (df + 1))
+ 1)``), so bigrams every message of the week uses weigh little and a place or object that only a
few share weighs much. Similarity is the cosine of two such vectors.

How they are grouped
--------------------
Single link over "cosine >= ``threshold``" (default 0.2), with guards against chaining; see
:func:`cluster_messages`.

A **hot issue** is a group of at least ``min_people`` different authors (messages without an author
count one person each): one citizen posting the same complaint five times is one voice. Hot issues
rank by people, then messages, then supporters (likes), then the latest message. Its representative
is the member closest to the group's centroid; its ``terms`` are the title words its members share;
its ``places`` are the regions of its members, most first (``None``: not routed).

Measured on the real A-city data (``../shared/data``, 4,326 messages 2017-2020): in the busiest
week (2019-W16, 126 messages) 8 groups, each one matter; in August 2019 the railway staff's protest
against parking spaces sold with their flats at 伊景园滨河苑 is one group of 38 messages from 35
people. Over a whole year single link does chain a few matters (洪山公园 and 泉星公园 plans and
"when will the school be built"), which is why reports cluster a week at a time.
"""

from __future__ import annotations

import re
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from itertools import count
from typing import Any

__all__ = [
    "BODY_PREFIX",
    "HotIssue",
    "Message",
    "STOPWORDS",
    "body_shingles",
    "cluster_messages",
    "hot_issues",
    "title_terms",
]

#: Characters of the body that are shingled: the opening of a message states its matter; the rest is
#: mostly the story, and segmenting it would cost most of the time.
BODY_PREFIX = 80
TITLE_WEIGHT = 2.0
SHINGLE_WEIGHT = 0.5
_TITLE_UNITS = round(TITLE_WEIGHT / SHINGLE_WEIGHT)
DEFAULT_THRESHOLD = 0.2
#: A group less cohesive than this, or than the whole period's messages plus ``COHESION_MARGIN``, is
#: clustered again with a higher threshold (see cluster_messages).
MIN_COHESION = 0.35
COHESION_MARGIN = 0.15
THRESHOLD_STEP = 0.1
MAX_THRESHOLD = 0.8
#: Strongest terms of a message used to find messages to compare it with.
LOOKUP_TERMS = 12
#: Of the messages sharing such a term, the latest this many are looked at ...
POSTING_WINDOW = 15
#: ... and compared only when they share this many of their strongest terms: two messages of one
#: matter do (on the real data, no group changed), and the set intersection is far cheaper than
#: a cosine.
MIN_SHARED_KEYS = 2

#: Words that say nothing about the matter: how citizens open, ask and close a message, and the
#: province and city names every message of the data set carries.
STOPWORDS: frozenset[str] = frozenset("""
问题 反映 关于 希望 请问 咨询 领导 政府 部门 相关 我们 你们 他们 没有 什么 怎么 为什么 能否 是否
可以 已经 现在 一个 这个 那个 这些 那些 进行 情况 要求 解决 建议 投诉 市民 居民 您好 你好 尊敬 感谢
谢谢 严重 如何 何时 还是 就是 但是 因为 所以 而且 以及 还有 目前 一直 多次 今年 去年 时间 时候 自己
大家 很多 非常 一些 不能 不是 不要 需要 问下 一下 请求 恳请 强烈 呼吁 帮助 帮忙 处理 落实 有关 请
关注 重视 尽快 及时 为何 何去何从 能不能 可不可以 情况反映 西地省 A市
""".split())

_HAN = re.compile(r"[\u4e00-\u9fff]")
_STOP_BIGRAMS = frozenset(w for w in STOPWORDS if len(w) == 2)
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


@dataclass(frozen=True)
class Message:
    """What clustering needs of an item (``body`` may be just its opening)."""

    id: int
    title: str
    body: str
    region: str | None = None
    author: str | None = None
    likes: int = 0
    received_at: datetime | None = None


@dataclass(frozen=True)
class HotIssue:
    """A group of similar messages."""

    item_ids: tuple[int, ...]  # in order of receipt
    count: int
    people: int
    likes: int
    places: tuple[tuple[str | None, int], ...]  # (region code or None, messages), most first
    representative_id: int
    representative_title: str
    terms: tuple[str, ...]
    first_at: datetime | None
    last_at: datetime | None


@lru_cache(maxsize=1)
def _tokenizer():  # type: ignore[no-untyped-def]
    """rjieba (jieba-rs): the same words as ``jieba.lcut(HMM=False)`` on every title and body of the
    real messages tried, about ten times faster, its dictionary loaded in 0.1 s instead of 0.9 s and
    some 45 MB smaller in memory."""
    import rjieba

    return rjieba


@lru_cache(maxsize=32768)
def title_terms(title: str) -> tuple[str, ...]:
    """The title's words that can say what the matter is (jieba dictionary words, no stopwords, at
    least two characters, at least one Chinese character), in order, repeats kept."""
    words = _tokenizer().cut(title or "", hmm=False)
    return tuple(w for w in words if len(w) >= 2 and w not in STOPWORDS and _HAN.search(w))


def title_shingles(title: str) -> list[str]:
    """Character bigrams of the Chinese runs in the title, the stopwords' bigrams left out."""
    return [g for g in body_shingles(title, len(title or "")) if g not in _STOP_BIGRAMS]


def body_shingles(body: str, prefix: int = BODY_PREFIX) -> list[str]:
    """Character bigrams of the Chinese runs in the body's opening."""
    out: list[str] = []
    for run in _HAN_RUN.findall((body or "")[:prefix]):
        out.extend(run[i:i + 2] for i in range(len(run) - 1))
    return out


@dataclass
class _Space:
    """The messages as unit TF-IDF rows of a sparse matrix, and their lookup keys.

    Only terms found in two or more messages are kept in the matrix (after normalising with all
    terms): a term of one message adds nothing to any dot product, so cosines stay exact and the
    matrix small. A message's lookup keys are its ``LOOKUP_TERMS`` strongest kept terms.
    """

    matrix: Any  # scipy.sparse.csr_matrix (messages x terms), float32
    key_rows: Any  # numpy int64: (row, term) pairs of the lookup keys
    key_terms: Any


def _space(messages: Sequence[Message]) -> _Space:
    """Features of every message (see the module's docstring), weighted, as one sparse matrix.

    Built with numpy from flat token lists, not per-message dictionaries: a week of a large
    deployment is some 20,000 messages and two million shingles.
    """
    import numpy as np
    from scipy.sparse import csr_matrix

    n = len(messages)
    # tokens become term ids as they are cut, so the million shingle strings of a large week are
    # never all alive at once (as str objects they would take ~100 MB; as ids, 8 bytes each).
    # ``setdefault`` with a running counter numbers new terms in C; the numbers are made dense below.
    vocab: dict[str, int] = {}
    numbers = count()
    token_ids = array("q")
    per_doc = array("q")
    for m in messages:
        for tokens in (title_shingles(m.title), body_shingles(m.body)):
            before = len(token_ids)
            token_ids.extend(map(vocab.setdefault, tokens, numbers))
            per_doc.append(len(token_ids) - before)
    sparse_ids = np.frombuffer(token_ids, dtype=np.int64) if token_ids else np.zeros(0, dtype=np.int64)
    distinct, ids = np.unique(sparse_ids, return_inverse=True)
    ids = ids.ravel()
    size = max(len(distinct), 1)
    counts = np.frombuffer(per_doc, dtype=np.int64) if per_doc else np.zeros(0, dtype=np.int64)
    rows = np.repeat(np.repeat(np.arange(n, dtype=np.int32), 2), counts)
    units = np.repeat(np.tile(np.array([_TITLE_UNITS, 1.0], dtype=np.float32), n), counts)
    raw = csr_matrix((units, (rows, ids.astype(np.int32))), shape=(n, size))  # repeats summed: tf
    del rows, units, ids
    raw.sum_duplicates()
    ids = raw.indices
    rows = np.repeat(np.arange(n, dtype=np.int32), np.diff(raw.indptr))
    df = np.bincount(ids, minlength=size)
    weights = (1.0 + np.log1p(raw.data * SHINGLE_WEIGHT)) * (np.log((n + 1) / (df[ids] + 1.0)) + 1.0)
    norms = np.sqrt(np.bincount(rows, weights * weights, minlength=n))
    weights /= np.where(norms > 0, norms, 1.0)[rows]
    keep = df[ids] > 1
    rows, ids, weights = rows[keep], ids[keep], weights[keep].astype(np.float32)
    indptr = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=n))))
    matrix = csr_matrix((weights, ids, indptr), shape=(n, size))
    order = np.lexsort((-weights, rows))  # each row's terms, strongest first
    by_row = rows[order]
    rank = np.arange(len(by_row)) - np.searchsorted(by_row, by_row, side="left")
    chosen = order[rank < LOOKUP_TERMS]
    return _Space(matrix, rows[chosen].astype(np.int64), ids[chosen].astype(np.int64))


def _candidate_pairs(space: _Space, n: int) -> tuple[Any, Any]:
    """Pairs (a, b), a < b, worth a cosine: b shares at least ``MIN_SHARED_KEYS`` lookup keys with
    a, a being among the ``POSTING_WINDOW`` latest messages before b under each such key."""
    import numpy as np

    order = np.lexsort((space.key_rows, space.key_terms))  # by term, then by arrival
    code_type = np.int32 if n * n < 2**31 else np.int64  # half the memory for any realistic week
    terms, rows = space.key_terms[order], space.key_rows[order].astype(code_type)
    found = []
    for d in range(1, min(POSTING_WINDOW, len(rows) - 1) + 1):
        same = terms[d:] == terms[:-d]
        found.append(rows[:-d][same] * code_type(n) + rows[d:][same])
    if not found:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    codes, counts = np.unique(np.concatenate(found), return_counts=True)
    codes = codes[counts >= MIN_SHARED_KEYS]
    return (codes // n).astype(np.int64), (codes % n).astype(np.int64)


def _cosines(matrix: Any, a: Any, b: Any, chunk: int = 20_000) -> Any:
    import numpy as np

    out = np.empty(len(a), dtype=np.float32)
    for start in range(0, len(a), chunk):
        end = start + chunk
        out[start:end] = np.asarray(matrix[a[start:end]].multiply(matrix[b[start:end]]).sum(axis=1)).ravel()
    return out


def _to_centroid(matrix: Any, members: Any) -> Any:
    """Cosine of each member to the members' centroid (computed on the members' own columns, so
    the cost follows the group's size, not the vocabulary's)."""
    import numpy as np

    rows = matrix[members]
    columns, position = np.unique(rows.indices, return_inverse=True)
    centroid = np.bincount(position.ravel(), weights=rows.data)
    norm = float(np.linalg.norm(centroid)) or 1.0
    owner = np.repeat(np.arange(len(members)), np.diff(rows.indptr))
    return np.bincount(owner, weights=rows.data * centroid[position.ravel()] / norm, minlength=len(members))


def _cluster(messages: Sequence[Message], threshold: float) -> tuple[list[list[int]], _Space | None]:
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(messages)
    if n == 0:
        return [], None
    space = _space(messages)
    a, b = _candidate_pairs(space, n)
    sims = _cosines(space.matrix, a, b)
    labels_at: dict[float, Any] = {}

    def labels(level: float) -> Any:
        key = round(level, 6)
        if key not in labels_at:
            keep = sims >= level - 1e-6
            graph = coo_matrix((np.ones(int(keep.sum()), dtype=np.int8), (a[keep], b[keep])), shape=(n, n))
            labels_at[key] = connected_components(graph, directed=False)[1]
        return labels_at[key]

    def cohesion(members: Any) -> float:
        return float(_to_centroid(space.matrix, members).mean())

    split_below = max(MIN_COHESION, cohesion(np.arange(n)) + COHESION_MARGIN)
    out: list[list[int]] = []
    todo: list[tuple[Any, float]] = [(np.arange(n), threshold)]
    while todo:
        members, level = todo.pop()
        lab = labels(level)[members]
        order = np.argsort(lab, kind="stable")
        bounds = np.flatnonzero(np.diff(lab[order])) + 1
        for group in np.split(members[order], bounds):
            if (len(group) > 2 and level + THRESHOLD_STEP <= MAX_THRESHOLD + 1e-9
                    and cohesion(group) < split_below):
                todo.append((group, level + THRESHOLD_STEP))
            else:
                out.append(sorted(int(i) for i in group))
    return sorted(out, key=lambda g: g[0]), space


def cluster_messages(messages: Sequence[Message], *, threshold: float = DEFAULT_THRESHOLD) -> list[list[int]]:
    """Group similar messages; each group as indices into ``messages`` (every message in one group).

    Two messages are linked when their cosine reaches ``threshold``; groups are the connected
    components (single link). Only pairs sharing ``MIN_SHARED_KEYS`` of their ``LOOKUP_TERMS``
    strongest terms are compared, and under each term only with the ``POSTING_WINDOW`` latest
    messages before: a message that belongs to a large group is nearly always similar to one of its
    latest members, and this bounds the work by the number of messages, not its square. Cosines
    are computed on a sparse matrix (scipy), all candidate pairs at once.

    Single link chains: A is like B (same estate), B like C (same complaint elsewhere) … and a week
    of thousands of messages can end up as one group. So a group whose cohesion (mean cosine of its
    members to their centroid) is below ``MIN_COHESION`` is split into the components it has at a
    threshold raised by ``THRESHOLD_STEP`` (up to ``MAX_THRESHOLD``), which cuts the weak links
    between matters and keeps the strong ones within each. The bar is relative too: a group no
    more cohesive than all the period's messages together (plus ``COHESION_MARGIN``) is no group,
    in a week whose messages share much of their wording. On the real data every group read as
    one matter had a cohesion of 0.43 or more.
    """
    return _cluster(messages, threshold)[0]


def hot_issues(messages: Iterable[Message], *, threshold: float = DEFAULT_THRESHOLD,
               min_people: int = 2, limit: int | None = None, detailed: int | None = None) -> list[HotIssue]:
    """The hot issues among ``messages``, hottest first (see the module's docstring).

    ``detailed``: only the hottest this many get a representative chosen by closeness to their
    centroid and their shared words (what a report shows); the others keep their first message as
    representative and no words — they still count for key items, and a large week has thousands.
    """
    ordered = sorted(messages, key=lambda m: (m.received_at or datetime.min.replace(tzinfo=UTC), m.id))
    groups, space = _cluster(ordered, threshold)
    found: list[tuple[tuple, list[int], list[Message]]] = []
    for members in groups:
        if len(members) < min_people:
            continue
        msgs = [ordered[i] for i in members]
        people = _people(msgs)
        if people < min_people:
            continue
        last = max((m.received_at for m in msgs if m.received_at is not None), default=None)
        rank = (-people, -len(msgs), -sum(max(m.likes, 0) for m in msgs),
                -(last.timestamp() if last else 0.0), msgs[0].id)
        found.append((rank, members, msgs))
    found.sort(key=lambda f: f[0])
    if limit is not None:
        found = found[:limit]
    issues = []
    for n, (_, members, msgs) in enumerate(found):
        if space is not None and len(members) > 2 and (detailed is None or n < detailed):
            closeness = [float(c) for c in _to_centroid(space.matrix, members)]
        else:  # two members are equally close to their centroid
            closeness = [0.0] * len(members)
        issues.append(_describe(msgs, closeness, words=detailed is None or n < detailed))
    return issues


def _people(msgs: Sequence[Message]) -> int:
    authors = {m.author for m in msgs if m.author}
    return len(authors) + sum(1 for m in msgs if not m.author)


def _describe(msgs: list[Message], closeness: list[float], *, words: bool = True) -> HotIssue:
    """Counts, places, shared words and the representative (the member closest to the group's
    centroid; ties to the most supported, then the earliest) of one group."""
    rep = max(range(len(msgs)), key=lambda k: (round(closeness[k], 4), msgs[k].likes, -k))
    counted = Counter(t for m in msgs for t in set(title_terms(m.title))) if words else Counter()
    shared = [t for t, c in counted.most_common() if c >= 2] or [t for t, _ in counted.most_common(3)]
    places = Counter(m.region for m in msgs)
    times = [m.received_at for m in msgs if m.received_at is not None]
    return HotIssue(
        item_ids=tuple(m.id for m in msgs),
        count=len(msgs),
        people=_people(msgs),
        likes=sum(max(m.likes, 0) for m in msgs),
        places=tuple(sorted(places.items(), key=lambda kv: (-kv[1], kv[0] or "~"))),
        representative_id=msgs[rep].id,
        representative_title=msgs[rep].title,
        terms=tuple(shared[:6]),
        first_at=min(times) if times else None,
        last_at=max(times) if times else None,
    )
