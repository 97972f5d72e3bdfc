"""Priority of a citizen's message: urgent, ordinary or complex.

Local practice: urgent matters are
handled the same day (即收即办), ordinary ones within 5 working days, complex
ones within 10. This module only decides the class; deadlines are computed
elsewhere from the class and the working-day calendar.

Rule
----
* **urgent** if an urgent term occurs and is happening now: a present loss
  of water, power or gas, people trapped, a structure about to collapse, a
  gas leak, exposed live wires, a flood; or wage arrears mentioned together
  with the Spring Festival (migrant workers unpaid before going home is
  treated as urgent by the annual 根治欠薪 campaigns). "Now" is read from the
  sentence around each hit: a risk, past, chronic or threat marker ("一旦",
  "去年", "经常", "威胁") discounts it, for the whole message, unless some
  sentence with the term says it is going on ("连续三天", "停水两天了").
* else **complex** if any complex term occurs: land acquisition and
  demolition, property certificates, unfinished buildings, enterprise
  restructuring, repeated petitions, matters "unsolved for years" or bounced
  between departments; they need several departments and cannot be closed in
  5 working days.
* else **ordinary**.

Urgent wins over complex because the cost is asymmetric: a complex case
flagged urgent costs someone a look the same day; an urgent one (a demolition
site where the water has been cut off) left for 10 days costs far more.

The word lists are data (``data/triage.toml``, see :mod:`bot.rules.wordlists`).
Terms are plain substrings; a term written ``"A+B"`` matches only when every
part occurs in the message (title or body), which is how season or context is
expressed without a clock (``"拖欠工资+过年"``). Exclusion phrases neutralise
the hits inside them (``"停电梯"`` is an elevator switched off, not a power
cut; ``"危房改造"`` is a housing programme, not a house about to fall).

Tuned on 4,820 distinct real messages: 77 (1.6%) come
out urgent and 565 (11.7%) complex. Urgent stays noisy: the data set is full
of chronic outage complaints and past events told in long sentences; of a
hand-judged random 30 of the urgent flags of an earlier, keyword-only
version (102 flags), 12 were urgent; these rules keep 10 of those 12 and
drop 6 of the 18 false alarms. Terms tried and left out,
with the reason: 高温 (18 hits, all heat as background, none urgent by
itself); 供暖/暖气不热 (the data's city has no central heating: the hits are
policy requests); 触电/生命危险 (mostly hypothetical "could electrocute");
救命 (mostly "救命钱", savings); 断气 (means "to die", not "gas cut");
失联 (mostly a company boss who absconded); 危房/倒灌/内涝 (chronic
housing-quality or drainage complaints, and 危房 is mostly about demolition).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache

from bot.rules.deadlines import Priority
from bot.rules.matcher import TermMatcher, drop_covered, sentence_bounds
from bot.rules.wordlists import builtin, words

URGENT = Priority.URGENT
ORDINARY = Priority.ORDINARY
COMPLEX = Priority.COMPLEX

_LISTS = builtin()
#: Terms that make a message urgent (handled the same day).
DEFAULT_URGENT_TERMS: tuple[str, ...] = words(_LISTS, "urgent_terms")
#: Terms that make a message complex (several departments, 10 working days).
DEFAULT_COMPLEX_TERMS: tuple[str, ...] = words(_LISTS, "complex_terms")
#: Phrases that neutralise the hits they contain ("停电梯" is an elevator, not a power cut).
DEFAULT_PRIORITY_EXCLUSIONS: tuple[str, ...] = words(_LISTS, "priority_exclusions")
#: Markers that, in the same sentence as an urgent hit, say it is not a
#: present emergency: a risk ("一旦漏电", "存在坍塌风险"), a past event
#: ("17年1月份…被断电", "去年被淹"), a chronic complaint ("经常停水",
#: "停电好多次") or a threat ("威胁停水"). Chronic outages are real problems,
#: but they need the utility's plan within 5 days, not a same-day dispatch.
DEFAULT_NOT_NOW_MARKERS: tuple[str, ...] = words(_LISTS, "not_now_markers")
#: Markers that, in the same sentence as an urgent hit, say it is going on
#: right now ("停水已经八天了", "连续三天", "到现在还没来"). They win over the
#: not-now markers: a chronic problem that is also happening today is urgent.
#: Kept narrow on purpose: broad words (现在, 目前, 至今, 已经) occur in most
#: long sentences and, tried on the data, turned chronic complaints urgent.
DEFAULT_ONGOING_MARKERS: tuple[str, ...] = words(_LISTS, "ongoing_markers")
#: Sensitivity categories where life or mass safety is at stake: a message sensitive in one of
#: them is urgent (紧要留言当日发现当日核办) whatever its complexity terms say. A threat to burn a
#: town hall is not a 10-working-day case because it also mentions 拆迁.
URGENT_SENSITIVITY_CATEGORIES: frozenset[str] = frozenset(words(_LISTS, "urgent_sensitivity_categories"))


def with_danger(priority: str, terms: tuple[str, ...], sensitive: bool, category: str | None,
                danger_terms: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """The priority once sensitivity is known: urgent, with the sensitive terms as its reason,
    when the message is sensitive in an :data:`URGENT_SENSITIVITY_CATEGORIES` category; else
    ``(priority, terms)`` unchanged."""
    if sensitive and category in URGENT_SENSITIVITY_CATEGORIES:
        return URGENT, tuple(dict.fromkeys((*danger_terms, *(terms if priority == URGENT else ()))))
    return priority, terms


def _split(term: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in term.split("+") if p.strip())


_TERM, _EXCLUSION, _MARKER, _ONGOING = 0, 1, 2, 3


class TermSet:
    """A compiled list of terms (with ``A+B`` conjunctions), exclusions and
    optional "not now" markers.

    A single term counts when one of its occurrences (after exclusions) has an
    ongoing marker in its sentence, or when no occurrence has a not-now
    marker in its sentence: one "经常停水" makes every other bare "停水" in the
    message part of the same chronic story unless something says it is
    happening now. Without markers of either kind every hit counts. Conjunctions are checked
    for presence only (their parts are context words such as 过年, and
    "过年前" would otherwise read as the past marker "年前").
    """

    def __init__(
        self,
        terms: Iterable[str],
        exclusions: Iterable[str] = (),
        markers: Iterable[str] = (),
        ongoing: Iterable[str] = (),
    ) -> None:
        self.terms: tuple[str, ...] = tuple(dict.fromkeys(t.strip() for t in terms if t.strip()))
        self._parts = {t: _split(t) for t in self.terms}
        pieces = {p for parts in self._parts.values() for p in parts}
        entries: list[tuple[str, int]] = [(p, _TERM) for p in pieces]
        entries += [(e.strip(), _EXCLUSION) for e in exclusions if e.strip()]
        entries += [(m.strip(), _MARKER) for m in markers if m.strip()]
        entries += [(m.strip(), _ONGOING) for m in ongoing if m.strip()]
        self._matcher: TermMatcher[int] = TermMatcher(entries)
        self._any_term: TermMatcher[None] = TermMatcher((p, None) for p in pieces)

    def matched(self, text: str) -> tuple[str, ...]:
        """Configured terms (conjunctions whole) that match ``text``, in order."""
        if not self._any_term.occurs(text):  # most messages: no term, nothing to weigh
            return ()
        found = self._matcher.find(text)
        covers = [m for m in found if m.value == _EXCLUSION]
        hits = drop_covered([m for m in found if m.value == _TERM], covers)
        markers = [m for m in found if m.value == _MARKER]
        ongoing = [m for m in found if m.value == _ONGOING]
        present = {m.term for m in hits}
        going_on: set[str] = set()
        not_now: set[str] = set()
        for m in hits:
            left, right = sentence_bounds(text, m.start, m.end)
            if any(left <= k.start and k.end <= right for k in ongoing):
                going_on.add(m.term)
            elif any(left <= k.start and k.end <= right for k in markers):
                not_now.add(m.term)
        now = going_on | (present - not_now)
        result = []
        for t in self.terms:
            parts = self._parts[t]
            if len(parts) == 1:
                if parts[0] in now:
                    result.append(t)
            elif all(p in present for p in parts):
                result.append(t)
        return tuple(result)


class PriorityClassifier:
    """Compiled urgent/complex term sets; build once, call per message."""

    def __init__(
        self,
        urgent_terms: Iterable[str] = DEFAULT_URGENT_TERMS,
        complex_terms: Iterable[str] = DEFAULT_COMPLEX_TERMS,
        exclusions: Iterable[str] = DEFAULT_PRIORITY_EXCLUSIONS,
        not_now_markers: Iterable[str] = DEFAULT_NOT_NOW_MARKERS,
        ongoing_markers: Iterable[str] = DEFAULT_ONGOING_MARKERS,
    ) -> None:
        exclusions = tuple(exclusions)
        self._urgent = TermSet(urgent_terms, exclusions, not_now_markers, ongoing_markers)
        self._complex = TermSet(complex_terms, exclusions)

    def classify(self, title: str, body: str) -> tuple[str, tuple[str, ...]]:
        """Return the class and the terms that decided it (empty for ordinary).

        Title and body are joined with a newline so that a term never matches
        across the seam.
        """
        text = f"{title or ''}\n{body or ''}"
        urgent = self._urgent.matched(text)
        if urgent:
            return URGENT, urgent
        complex_ = self._complex.matched(text)
        if complex_:
            return COMPLEX, complex_
        return ORDINARY, ()


@lru_cache(maxsize=16)
def _classifier(
    urgent_terms: tuple[str, ...],
    complex_terms: tuple[str, ...],
    exclusions: tuple[str, ...],
    not_now_markers: tuple[str, ...],
    ongoing_markers: tuple[str, ...],
) -> PriorityClassifier:
    return PriorityClassifier(
        urgent_terms, complex_terms, exclusions, not_now_markers, ongoing_markers
    )


def classify_priority(
    title: str,
    body: str,
    urgent_terms: Sequence[str] = DEFAULT_URGENT_TERMS,
    complex_terms: Sequence[str] = DEFAULT_COMPLEX_TERMS,
    exclusions: Sequence[str] = DEFAULT_PRIORITY_EXCLUSIONS,
    not_now_markers: Sequence[str] = DEFAULT_NOT_NOW_MARKERS,
    ongoing_markers: Sequence[str] = DEFAULT_ONGOING_MARKERS,
) -> tuple[str, tuple[str, ...]]:
    """Classify one message as ``"urgent"``, ``"ordinary"`` or ``"complex"``.

    Returns the class and the matched terms. The compiled matchers are cached
    per term list, so calling this on every message with the same
    configuration does not rebuild the automaton.
    """
    clf = _classifier(
        tuple(urgent_terms),
        tuple(complex_terms),
        tuple(exclusions),
        tuple(not_now_markers),
        tuple(ongoing_markers),
    )
    return clf.classify(title, body)
