"""Sensitive-item triage: which incoming messages should page the leaders.

Why not a keyword list: on 4,820 real messages a bare keyword hit is far more
often a false alarm than an alert. Read on that data, the false alarms are:

* figures of speech and names: 跳楼机 (a fairground ride), an elevator or a
  ticket gate that 罢工s (breaks down), 信息大爆炸, 严重伤害 (contains 重伤),
  "一哭二闹三上吊", 吵死人;
* planning and legal text: 人员聚集场所, 楼盘聚集;
* warnings about what *could* happen, the bulk of them: "一旦发生火灾", "万一
  发生事故", "难道非要等出了人命才重视";
* past events: "2017年…打成重伤", "去年…坠楼死亡";
* events elsewhere cited as a warning: "天津大爆炸的阴霾还没散去", "本月江苏
  化工起火", "近日看到重庆连续发生…火灾";
* a word quoted as someone's words: 开发商的建议是"跳楼";
* negations: "所幸无人员伤亡", "未拉横幅".

The messages leaders must see read differently: people (not machines) acting
now or soon - blocking a gate today, sitting in, planning a demonstration,
threatening to jump "如果今年12月底拿不到新房…他们要去跳楼" - a death or an
injury, an extreme act by a desperate petitioner.

The rule
--------
1. Terms of each :class:`SensitivityCategory` are found with one
   Aho-Corasick pass over title + body (overlapping hits included, so
   "食物中毒" also yields "中毒"). ``weak_terms`` count half: words that are
   alarming only in company (聚集, 火灾, 民族, 中毒 …).
2. **Exclusions** neutralise hits: a phrase ("跳楼机", "无人员伤亡") removes
   the hits it contains; a rule ``"罢工@电梯"`` removes a 罢工 whose sentence
   mentions 电梯 (who acts: a machine).
3. Each remaining hit gets a **context factor** from the markers near it
   (within 30 characters, inside its sentence; past and elsewhere markers up
   to 60 characters back, since they open the story): rhetorical ("难道",
   "非要等", "才会重视") x0.2 - wins over everything; imminent or acting now
   ("明天", "正在", "扬言", "要去", "再不解决", "今天") x1.5 - wins over the
   reducers below, because a conditional threat ("如果…他们要去跳楼") is
   exactly what must page; otherwise, multiplied: hypothetical ("一旦",
   "万一", "隐患", "引发") x0.2, elsewhere (another province, "新闻", "看到")
   x0.3, past or chronic ("去年", "曾经", "多次", a year before
   ``reference_year``, any year before 2000) x0.4 - except harm a person did to
   themselves (``past_still_counts``: "去年割腕自杀未遂"), which pages told in any tense. Further: a sentence that
   ends in a question mark x0.5, a short quoted word x0.2, a hit in the
   title x1.25 (the title is what the message is about). Of several
   occurrences of a term the best one counts.
4. **Score**: per category, its best hit (weight x factor) plus a quarter of
   each further distinct term's best; overall, the best category plus half of
   each other category. Several signals together add up; one weak or reduced
   signal does not.
5. ``sensitive`` when the score reaches the threshold (``DEFAULT_THRESHOLD``
   = 1.0, to be set from the config). With the default weights one plain hit
   of a full-weight category (threat to life, mass incident, accident, public
   health) pages; corruption and misconduct need two signals or a present
   marker, and allegations alone (保护伞, 受贿, 黑恶势力 - weak terms) never
   page; ethnic/religious words never page alone (weight 0.4).

The word lists (categories, exclusions, context markers, the threshold) are
data: ``data/triage.toml``, read by :mod:`bot.rules.wordlists`.

Build a :class:`SensitivityTriage` once per configuration (it compiles one
automaton for terms, exclusions and context markers) and call ``assess`` per
message; the module-level :func:`assess` caches one per argument set.

Measured on the 4,820 distinct messages of the two data files (the same
data it was tuned on, so expect worse on new text): with ``reference_year``
set to each message's year 38 are flagged (0.8%), and 29 of the 38
read as right on a hand check - people blocking a gate or planning a
demonstration, threats to jump or to kill ("要弄死我们"), a death, assaults,
a neighbour at the door with a knife, an armed brawl with injuries. The 9
wrong ones are past events told at length, litigation narratives and one
explosion elsewhere cited as a warning. A bare keyword match over the same terms
flags 556 messages (164 on the full-weight terms alone). Messages just under the threshold are mostly single
assaults told without a present marker; the score and reasons are kept so a
card can show them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from bot.rules.matcher import Match, TermMatcher, drop_covered, fold_ascii, sentence_bounds
from bot.rules.wordlists import builtin, words

#: Factor of a hit in the title.
TITLE_FACTOR: float = 1.25
#: How much each further distinct term of a category adds (share of its score).
SAME_CATEGORY_SHARE: float = 0.25
#: How much each further category adds (share of its score).
OTHER_CATEGORY_SHARE: float = 0.5
#: Share of a category weight that a weak term carries.
WEAK_SHARE: float = 0.5


@dataclass(frozen=True)
class SensitivityCategory:
    """A kind of sensitive matter with its terms and weight.

    ``terms`` carry the full ``weight``; ``weak_terms`` carry half of it and
    so need company (another term, a present marker, the title) to page.
    """

    key: str
    name_zh: str
    name_en: str
    terms: tuple[str, ...]
    weight: float
    weak_terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class ContextMarkers:
    """Words that, in the same sentence as a hit, change how much it counts.

    ``elsewhere`` holds names of other provinces and words for news; a
    deployment must drop its own province from it (the data set anonymised
    its own province as 西地省, which is why 湖南 is safe to keep here).
    """

    imminent: tuple[str, ...]
    rhetorical: tuple[str, ...]
    hypothetical: tuple[str, ...]
    past: tuple[str, ...]
    elsewhere: tuple[str, ...]
    imminent_factor: float = 1.5
    rhetorical_factor: float = 0.2
    hypothetical_factor: float = 0.2
    past_factor: float = 0.4
    elsewhere_factor: float = 0.3
    quoted_factor: float = 0.2
    question_factor: float = 0.5
    #: Markers count within this many characters of the hit, inside its
    #: sentence: these messages run long sentences of comma clauses, and a
    #: "如果" forty characters away is usually about something else.
    window: int = 30
    #: Past and elsewhere markers open the story ("去年八月份，因…导致一名
    #: 男童跌落死亡"), so they are looked for further back.
    window_before_setting: int = 60
    #: Terms of harm a person did to themselves: told in the past ("去年我割腕自杀未遂") they
    #: still page, since whoever tried once may try again; the past marker does not reduce them.
    past_still_counts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Assessment:
    """Result of triage for one message.

    ``category`` is the key of the top-scoring category (``None`` when nothing
    matched); ``terms`` are the matched terms after exclusions, in text order
    (reduced ones included: they explain a near miss); ``reasons`` explain the
    score for the card shown to a person; ``category_scores`` ranks every
    category that matched.
    """

    sensitive: bool
    score: float
    category: str | None
    terms: tuple[str, ...]
    reasons: tuple[str, ...]
    category_scores: tuple[tuple[str, float], ...] = field(default=(), compare=False)


def categories_from_tables(tables: Iterable[Mapping[str, Any]]) -> tuple[SensitivityCategory, ...]:
    """``[[sensitivity_categories]]`` tables as categories; the names default to the key."""
    out = []
    for t in tables:
        name_zh = t.get("name_zh", t["key"])
        out.append(SensitivityCategory(
            key=t["key"], name_zh=name_zh, name_en=t.get("name_en", name_zh),
            terms=words(t, "terms"), weight=float(t.get("weight", 1.0)),
            weak_terms=words(t, "weak_terms") if "weak_terms" in t else (),
        ))
    return tuple(out)


_LISTS = builtin()
#: Score at which a message pages the leaders (config overrides it).
DEFAULT_THRESHOLD: float = float(_LISTS["sensitivity_threshold"])
DEFAULT_CATEGORIES: tuple[SensitivityCategory, ...] = categories_from_tables(_LISTS["sensitivity_categories"])
#: Exclusions. A plain phrase neutralises the hits inside it; "term@context"
#: neutralises the term when the context word is in the same sentence.
DEFAULT_EXCLUSIONS: tuple[str, ...] = words(_LISTS, "exclusions")
_MARKER_LISTS = _LISTS["sensitivity_markers"]
DEFAULT_MARKERS = ContextMarkers(
    imminent=words(_MARKER_LISTS, "imminent"), rhetorical=words(_MARKER_LISTS, "rhetorical"),
    hypothetical=words(_MARKER_LISTS, "hypothetical"), past=words(_MARKER_LISTS, "past"),
    elsewhere=words(_MARKER_LISTS, "elsewhere"), past_still_counts=words(_MARKER_LISTS, "past_still_counts"),
)

_YEAR = re.compile(r"(?<![0-9])(1[89][0-9]{2}|20[0-9]{2})年")
_SHORT_YEAR = re.compile(r"(?<![0-9])([0-2][0-9])年(?=[0-9]{1,2}月)")
_QUOTE = re.compile(r"[“\"「『‘]([^“”\"「」『』‘’\n]{1,8})[”\"」』’]")

# Kinds of entries in the one automaton.
_K_TERM, _K_EXCL, _K_EXCL_CTX = "t", "x", "xc"
_K_IMM, _K_RHE, _K_HYP, _K_PAST, _K_ELSE = "imm", "rhe", "hyp", "past", "else"


@dataclass(frozen=True)
class _TermInfo:
    category: str
    parts: tuple[str, ...]
    weak: bool


def _parts(term: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in term.split("+") if p.strip())


class SensitivityTriage:
    """Compiled triage for one set of categories, exclusions and markers."""

    def __init__(
        self,
        categories: Sequence[SensitivityCategory] = DEFAULT_CATEGORIES,
        exclusions: Iterable[str] = DEFAULT_EXCLUSIONS,
        threshold: float = DEFAULT_THRESHOLD,
        markers: ContextMarkers = DEFAULT_MARKERS,
        reference_year: int | None = None,
    ) -> None:
        self.categories = tuple(categories)
        self.threshold = float(threshold)
        self.markers = markers
        self.reference_year = reference_year
        self._weights = {c.key: float(c.weight) for c in self.categories}

        self._terms: dict[str, list[_TermInfo]] = {}
        for cat in self.categories:
            for term, weak in [(t, False) for t in cat.terms] + [(t, True) for t in cat.weak_terms]:
                term = term.strip()
                if term:
                    self._terms.setdefault(term, []).append(_TermInfo(cat.key, _parts(term), weak))

        entries: list[tuple[str, tuple[str, str]]] = []
        for parts in {info.parts for infos in self._terms.values() for info in infos}:
            entries.extend((p, (_K_TERM, p)) for p in parts)
        self._context_rules: list[tuple[str, str]] = []
        for excl in exclusions:
            excl = excl.strip()
            if not excl:
                continue
            if "@" in excl:
                term, ctx = (s.strip() for s in excl.split("@", 1))
                if term and ctx:
                    self._context_rules.append((term, ctx))
                    entries.append((ctx, (_K_EXCL_CTX, ctx)))
            else:
                entries.append((excl, (_K_EXCL, excl)))
        for kind, marker_words in (
            (_K_IMM, markers.imminent),
            (_K_RHE, markers.rhetorical),
            (_K_HYP, markers.hypothetical),
            (_K_PAST, markers.past),
            (_K_ELSE, markers.elsewhere),
        ):
            entries.extend((w.strip(), (kind, w.strip())) for w in marker_words if w.strip())
        self._matcher: TermMatcher[tuple[str, str]] = TermMatcher(entries)
        # the terms alone: most messages contain none, and then there is nothing to weigh
        self._any_term: TermMatcher[None] = TermMatcher((e[0], None) for e in entries if e[1][0] == _K_TERM)

    # -- context -------------------------------------------------------------

    def _factor(
        self,
        text: str,
        hit: Match[tuple[str, str]],
        markers: list[Match[tuple[str, str]]],
        quotes: list[tuple[int, int]],
        title_end: int,
        reference_year: int | None,
    ) -> tuple[float, str]:
        """Context factor of one hit and a short note saying why."""
        mk = self.markers
        s_left, s_right = sentence_bounds(text, hit.start, hit.end)
        left = max(s_left, hit.start - mk.window)
        right = min(s_right, hit.end + mk.window)
        far_left = max(s_left, hit.start - mk.window_before_setting)
        kinds: dict[str, str] = {}
        for m in markers:
            lo = far_left if m.value[0] in (_K_PAST, _K_ELSE) else left
            if lo <= m.start and m.end <= right and m.value[0] not in kinds:
                kinds[m.value[0]] = m.term
        old_year = self._old_year(text[far_left:right], reference_year)
        if old_year:
            kinds.setdefault(_K_PAST, old_year)

        factor, notes = 1.0, []
        if _K_RHE in kinds:
            factor *= mk.rhetorical_factor
            notes.append(f"rhetorical {kinds[_K_RHE]}")
        elif _K_IMM in kinds:
            factor *= mk.imminent_factor
            notes.append(f"now/soon {kinds[_K_IMM]}")
        else:
            for kind, f, label in (
                (_K_HYP, mk.hypothetical_factor, "hypothetical"),
                (_K_ELSE, mk.elsewhere_factor, "elsewhere"),
                (_K_PAST, mk.past_factor, "past"),
            ):
                if kind == _K_PAST and hit.term in mk.past_still_counts:
                    continue
                if kind in kinds:
                    factor *= f
                    notes.append(f"{label} {kinds[kind]}")
        if s_right < len(text) and text[s_right] in "？?":
            factor *= mk.question_factor
            notes.append("question")
        if any(s <= hit.start and hit.end <= e for s, e in quotes):
            factor *= mk.quoted_factor
            notes.append("quoted")
        if hit.end <= title_end:
            factor *= TITLE_FACTOR
            notes.append("title")
        return factor, ", ".join(notes)

    @staticmethod
    def _old_year(window: str, reference_year: int | None) -> str | None:
        """A year far enough back to make the hit a past event, if any.

        Four-digit years, and two-digit ones followed by a month ("17年10月");
        full-width digits are folded first.
        """
        limit = reference_year - 1 if reference_year else 1999
        window = fold_ascii(window)
        for m in _YEAR.finditer(window):
            if int(m.group(1)) <= limit:
                return m.group(0)
        for m in _SHORT_YEAR.finditer(window):
            if 2000 + int(m.group(1)) <= limit:
                return m.group(0)
        return None

    # -- assess --------------------------------------------------------------

    def assess(self, title: str, body: str, *, reference_year: int | None = None) -> Assessment:
        """Score one message; see the module docstring for the rule.

        ``reference_year``: the year the message was received (the rules have
        no clock); years before it read as past. Defaults to the instance's.
        """
        year = reference_year if reference_year is not None else self.reference_year
        title, body = title or "", body or ""
        text = f"{title}\n{body}"
        title_end = len(title)
        if not self._any_term.occurs(text):
            return Assessment(sensitive=False, score=0.0, category=None, terms=(), reasons=(),
                              category_scores=())
        found = self._matcher.find(text)

        terms_found = [m for m in found if m.value[0] == _K_TERM]
        covers = [m for m in found if m.value[0] == _K_EXCL]
        ctx_words = [m for m in found if m.value[0] == _K_EXCL_CTX]
        markers = [m for m in found if m.value[0] in (_K_IMM, _K_RHE, _K_HYP, _K_PAST, _K_ELSE)]
        reasons: list[str] = []

        kept = drop_covered(terms_found, covers)
        for m in terms_found:
            if m not in kept:
                cover = next(c for c in covers if c.start <= m.start and m.end <= c.end)
                reasons.append(f"excluded {m.term}: {cover.term}")
        if self._context_rules and ctx_words:
            still: list[Match[tuple[str, str]]] = []
            for m in kept:
                left, right = sentence_bounds(text, m.start, m.end)
                rule = next(
                    (
                        (t, c)
                        for t, c in self._context_rules
                        if t == m.term
                        and any(w.term == c and left <= w.start and w.end <= right for w in ctx_words)
                    ),
                    None,
                )
                if rule:
                    reasons.append(f"excluded {m.term}: with {rule[1]}")
                else:
                    still.append(m)
            kept = still

        # A word inside a longer hit counts once, as the longer one
        # ("食物中毒" already says "中毒").
        kept = [
            m
            for m in kept
            if not any(o.start <= m.start and m.end <= o.end and o.length > m.length for o in kept)
        ]

        quotes = [(q.start(), q.end()) for q in _QUOTE.finditer(text)]

        # Best factor per piece (a piece is a single word; terms may join pieces).
        best_piece: dict[str, tuple[float, str, int]] = {}
        for m in kept:
            f, note = self._factor(text, m, markers, quotes, title_end, year)
            prev = best_piece.get(m.term)
            if prev is None or f > prev[0]:
                best_piece[m.term] = (f, note, m.start)

        # Per term (conjunction needs all its pieces; its factor is its first piece's).
        hits: list[tuple[str, str, float, str, int]] = []  # (category, term, score, note, pos)
        for term, infos in self._terms.items():
            for info in infos:
                if not all(p in best_piece for p in info.parts):
                    continue
                f, note, pos = best_piece[info.parts[0]]
                share = WEAK_SHARE if info.weak else 1.0
                hits.append((info.category, term, self._weights[info.category] * share * f, note, pos))

        cat_scores: dict[str, float] = {}
        by_cat: dict[str, list[tuple[str, float, str, int]]] = {}
        for cat, term, score, note, pos in hits:
            by_cat.setdefault(cat, []).append((term, score, note, pos))
        for cat, items in by_cat.items():
            items.sort(key=lambda x: -x[1])
            top = items[0][1]
            extra = sum(s for _, s, _, _ in items[1:]) * SAME_CATEGORY_SHARE
            cat_scores[cat] = top + extra
            for term, s, note, _ in items:
                reasons.append(f"{cat}: {term} {s:.2f}" + (f" ({note})" if note else ""))

        if cat_scores:
            ranked = sorted(cat_scores.items(), key=lambda kv: (-kv[1], kv[0]))
            top_cat, top_score = ranked[0]
            score = top_score + OTHER_CATEGORY_SHARE * sum(s for _, s in ranked[1:])
        else:
            ranked, top_cat, score = [], None, 0.0

        ordered_terms = tuple(
            dict.fromkeys(t for _, t, _, _, _ in sorted(hits, key=lambda h: h[4]))
        )
        score = round(score, 3)
        return Assessment(
            sensitive=score >= self.threshold,
            score=score,
            category=top_cat,
            terms=ordered_terms,
            reasons=tuple(reasons),
            category_scores=tuple((k, round(v, 3)) for k, v in ranked),
        )


@lru_cache(maxsize=8)
def _triage(
    categories: tuple[SensitivityCategory, ...],
    exclusions: tuple[str, ...],
    threshold: float,
) -> SensitivityTriage:
    return SensitivityTriage(categories, exclusions, threshold, DEFAULT_MARKERS)


def assess(
    title: str,
    body: str,
    categories: Sequence[SensitivityCategory] = DEFAULT_CATEGORIES,
    exclusions: Sequence[str] = DEFAULT_EXCLUSIONS,
    threshold: float = DEFAULT_THRESHOLD,
    reference_year: int | None = None,
) -> Assessment:
    """Assess one message with a cached :class:`SensitivityTriage`.

    ``reference_year`` (the year the message was received, passed by the
    caller since the rules have no clock) makes years before it read as past;
    without it only years before 2000 do.
    """
    triage = _triage(tuple(categories), tuple(exclusions), float(threshold))
    return triage.assess(title, body, reference_year=reference_year)
