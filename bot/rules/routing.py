"""Route a citizen's message to the region whose group chat should handle it.

Pure rules: no database, no Telegram, no clock. The region list comes from
the configuration and is compiled once into a :class:`RegionDirectory`.

Routing rule (``RegionDirectory.route``)
----------------------------------------
1. **Explicit.** If the citizen (or the intake form) named a region and it
   resolves to a configured region by code, name or alias, it wins
   (reason ``"explicit"``). An explicit value that does not resolve is kept as
   ``hint`` (a human can read it on the card) and routing falls through to 2.
2. **Text.** Place names - every region's name and aliases - are searched in
   the title and the body with one Aho-Corasick pass each.

   * *Most specific name wins:* of two overlapping place names the longer
     one is kept and the shorter dropped: an alias "A市A3区" or "芙蓉区" beats
     the "A市" or "芙蓉" inside it, and "A3区" as part of a longer configured
     town name is not counted twice.
   * *Neutral names* of places that are nobody's region (the city or the
     province itself, "A市", "西地省") can be given as ``neutral_terms``:
     they score for nobody and only hide shorter aliases inside them (an
     alias "长沙" inside "长沙市"), so "A市" never adds a competitor and never
     causes a tie.
   * *Names that continue into a street, river or square name are not places
     of the region:* a match followed directly by 路/中路/北路/大道/河/广场…
     (``name_continuations``) is dropped, except 河东/河西 (areas, not the
     river; ``continuation_exceptions``). Roads named after a district run
     through several districts; in the anonymised data set "芙蓉路" became
     "A1区路" and "浏阳河" became "A9市河", and they were the largest single
     source of wrong routes.
   * *A district name followed by 路灯/路口/路面/路段/路边 is the district*
     ("城关区路灯坏了", "七里河区路口"): the street furniture of the district, not a road named
     after it (``road_features``). 路上/路旁 are left out on purpose: "X路上" reads as "on X road".
   * *A county-level name directly qualifying a town-level name names that town of that county:*
     in "榆中县城关镇" the 城关镇 is 榆中县's, so an alias "城关镇" configured for another region
     (its own seat town: many counties have a 城关镇) does not count there. The qualifier ends in
     省/市/州/盟/地区/县/区/旗, the qualified name in 镇/乡/街道/办事处/苏木/村/社区; an umbrella
     region never qualifies (the umbrella rule below already defers to the specific region).
   * *Common-word aliases:* an alias that is also an everyday word ("安宁" in "不得安宁", "合作",
     "幸福"; the list is ``data/common_words.toml``, see :func:`common_word_aliases`) is configured in
     ``RegionRef.common_aliases`` when it is wanted anyway, and counts only where the text marks it
     as a place: directly followed by a place suffix (区/县/市/镇/乡/村/街道/社区/小区/片区/一带/
     境内/辖区/地区; ``place_suffixes``) or directly preceded by another name of the same region
     ("兰州安宁"). Elsewhere it is a word, not a place.
   * *Score:* each remaining match adds 1 to its region, a match in the title
     adds ``title_weight`` (default 10). The title is the citizen's own
     summary of where the problem is; the body often cites other places
     ("like the accident in A9市", "formerly part of A6区", a bank branch).
   * *Umbrella regions* (``umbrella``: e.g. a city-level office configured as
     a region itself) only score when no other region matched, so "A市A3区"
     goes to A3区, not to a tie between A市 and A3区.
   * The highest score wins (reason ``"text"``). Two or more regions sharing
     the top score is reason ``"tie"`` and the message is **not** routed: a
     person picks the region, which is cheaper than a message sent to the
     wrong office and returned (local practice allows 24 hours for that).
3. Nothing matched: reason ``"none"``, not routed.

Departments (units)
-------------------
Provincial departments are targets like regions and share their namespace: a unit is given to the
directory as one more :class:`RegionRef` (its name and aliases are the names that send a message to
it), so step 1 and step 2 treat it exactly as a region - the most specific name wins, a tie goes to
the desk. :func:`route_target` adds one step before 3: a message nothing named is sent to the unit
that handles its category (reason ``"category"``), if one does.

Measured with ``python -m tests.bench.routing_eval`` on the 4,326 messages of
the A-city data set (nine regions, no aliases): 60.1% routed, 0.7% tied,
39.2% unrouted (2,601 / 30 / 1,695); of a hand-checked 50, 31 routed right, 2 wrong, 17 unrouted
(none of them naming a district the rule missed). Town and estate aliases in
the config are what would route more.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.rules.matcher import Match, TermMatcher, fold_ascii, longest_non_overlapping
from bot.rules.wordlists import builtin, words

REASON_EXPLICIT = "explicit"
REASON_TEXT = "text"
REASON_TIE = "tie"
REASON_NONE = "none"
REASON_CATEGORY = "category"

#: Weight of a place name in the title relative to one in the body. High on
#: purpose: on the A-city data every message whose result changed between
#: weights 3 and 10 was routed right by the title (bodies cite a former
#: district, a bank branch, another place's accident), so a title mention
#: outweighs anything short of ten body mentions of another region.
DEFAULT_TITLE_WEIGHT: float = 10.0

#: Text that, directly after a place name, turns it into the name of a road,
#: river or square ("芙蓉" + "路" = 芙蓉路, "浏阳" + "河" = 浏阳河). Such names
#: cross district lines, so they do not say which office is responsible.
#: Deliberately short: 江/坡/桥/街 were tried on the data and dropped, since
#: they begin names of places inside the region (江背镇, 江山帝景, 坡子街,
#: and "区街道办" is the district's own office).
DEFAULT_NAME_CONTINUATIONS: tuple[str, ...] = (
    "路",
    "中路",
    "东路",
    "南路",
    "西路",
    "北路",
    "大道",
    "大街",
    "河",
    "广场",
    "隧道",
    "立交",
)

#: Continuations that still name a place inside the region: 河东/河西 are the
#: areas east/west of the river ("望城河东"), not the river.
DEFAULT_CONTINUATION_EXCEPTIONS: tuple[str, ...] = ("河东", "河西")

#: Text that, directly after a place name, makes it the place again although it begins with 路: the
#: district's street lights, junctions, road surface and sections ("城关区路灯坏了").
DEFAULT_ROAD_FEATURES: tuple[str, ...] = ("路灯", "路口", "路面", "路段", "路边")

#: Endings of a county-level (or higher) name that can qualify a town-level name after it.
QUALIFIER_SUFFIXES: tuple[str, ...] = ("省", "市", "州", "盟", "地区", "县", "区", "旗")
#: Endings of a town-level (or lower) name that a county-level name before it can qualify.
TOWN_SUFFIXES: tuple[str, ...] = ("镇", "乡", "街道", "街道办", "办事处", "苏木", "村", "社区")

#: Text that, directly after a common-word alias, shows it is meant as a place.
DEFAULT_PLACE_SUFFIXES: tuple[str, ...] = (
    "区", "县", "市", "镇", "乡", "村", "街道", "社区", "小区", "片区", "一带", "境内", "辖区", "地区",
)


_WHITESPACE = re.compile(r"\s+")


@lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Place names that are also everyday words (``data/common_words.toml``)."""
    return frozenset(w.strip() for w in words(builtin("common_words.toml"), "words") if w.strip())


def common_word_aliases(names: Iterable[str]) -> tuple[str, ...]:
    """The names (stripped, in order, once each) that are also everyday words: as plain aliases
    they would route messages that merely use the word ("不得安宁"), so a configuration should be
    warned about them and take them only as ``common_aliases``."""
    words = common_words()
    return tuple(dict.fromkeys(n.strip() for n in names if n and n.strip() in words))


def normalize_ref(ref: str) -> str:
    """Key used to look a region up: no whitespace at all, ASCII case and
    full-width/half-width folded (so " a3区 ", "Ａ3区" and "A3区" agree)."""
    return fold_ascii(_WHITESPACE.sub("", ref))


@dataclass(frozen=True)
class RegionRef:
    """A region that has its own group chat.

    ``aliases`` are other names of the region or of places inside it
    (districts, towns, well-known streets) that should route to it.
    ``common_aliases`` are such names that are also everyday words, taken
    deliberately: they count only where the text marks them as a place (see
    the module docstring); an explicit value resolves by them as by any alias.
    """

    code: str
    name: str
    aliases: tuple[str, ...] = ()
    common_aliases: tuple[str, ...] = ()

    @property
    def place_names(self) -> tuple[str, ...]:
        """Name and aliases, without duplicates, in configured order."""
        seen: dict[str, None] = {}
        for term in (self.name, *self.aliases):
            if term and term.strip():
                seen.setdefault(term.strip(), None)
        return tuple(seen)


@dataclass(frozen=True)
class RouteResult:
    """Outcome of routing.

    ``region`` is the region code or ``None``; ``reason`` is one of
    ``"explicit"``, ``"text"``, ``"tie"``, ``"none"``; ``matched`` holds the
    place names that counted (the explicit value for ``"explicit"``), in the
    order found, title first; ``hint`` is an explicit value that did not
    resolve, kept for a human.
    """

    region: str | None
    reason: str
    matched: tuple[str, ...] = ()
    hint: str | None = None


# Sentinel value for terms that take part in longest-match but score nobody.
_NEUTRAL: str = "\x00neutral"
# Sentinel value for "<name><road feature>": cancels the blockers inside it, scores nobody.
_UNBLOCK: str = "\x00unblock"


class RegionDirectory:
    """The configured regions, compiled once for resolving and routing."""

    def __init__(
        self,
        regions: Iterable[RegionRef],
        *,
        neutral_terms: Iterable[str] = (),
        umbrella: Iterable[str] = (),
        title_weight: float = DEFAULT_TITLE_WEIGHT,
        name_continuations: Iterable[str] = DEFAULT_NAME_CONTINUATIONS,
        continuation_exceptions: Iterable[str] = DEFAULT_CONTINUATION_EXCEPTIONS,
        road_features: Iterable[str] = DEFAULT_ROAD_FEATURES,
        place_suffixes: Iterable[str] = DEFAULT_PLACE_SUFFIXES,
    ) -> None:
        self._regions: dict[str, RegionRef] = {}
        for region in regions:
            if region.code in self._regions:
                raise ValueError(f"duplicate region code {region.code!r}")
            self._regions[region.code] = region
        self._umbrella = frozenset(umbrella)
        unknown = self._umbrella - self._regions.keys()
        if unknown:
            raise ValueError(f"umbrella codes not configured: {sorted(unknown)}")
        self.title_weight = float(title_weight)

        # Lookup for explicit references. A key claimed by two regions is
        # ambiguous and resolves to nothing rather than to an arbitrary one.
        lookup: dict[str, str | None] = {}
        for region in self._regions.values():
            keys = (region.code, *region.place_names, *region.common_aliases)
            for key in {normalize_ref(k) for k in keys}:
                if not key:
                    continue
                if key in lookup and lookup[key] != region.code:
                    lookup[key] = None
                else:
                    lookup[key] = region.code
        self._lookup = lookup

        continuations = tuple(c for c in name_continuations if c)
        exceptions = tuple(c for c in continuation_exceptions if c)
        features = tuple(c for c in road_features if c)
        self._place_suffixes = tuple(c for c in place_suffixes if c)
        self._common: set[tuple[str, str]] = set()
        terms: list[tuple[str, str]] = []
        for region in self._regions.values():
            plain = region.place_names
            common = [t.strip() for t in region.common_aliases if t.strip() and t.strip() not in plain]
            self._common.update((t, region.code) for t in common)
            for name in (*plain, *common):
                terms.append((name, region.code))
                # "<name><continuation>" is a blocker that hides the place
                # name inside a road/river name; an exception is a longer
                # term that counts for the region again; a road feature
                # lifts the blocker it contains ("城关区路灯" holds "城关区路").
                terms.extend((name + c, _NEUTRAL) for c in continuations)
                terms.extend((name + c, region.code) for c in exceptions)
                terms.extend((name + c, _UNBLOCK) for c in features)
        terms.extend((t.strip(), _NEUTRAL) for t in neutral_terms if t and t.strip())
        self._matcher: TermMatcher[str] = TermMatcher(terms, ascii_boundaries=True)

    # -- lookup ---------------------------------------------------------------

    @property
    def regions(self) -> tuple[RegionRef, ...]:
        return tuple(self._regions.values())

    def get(self, code: str) -> RegionRef | None:
        return self._regions.get(code)

    def resolve(self, ref: str) -> RegionRef | None:
        """Exact code, name or alias; whitespace removed, ASCII case-insensitive.

        No fuzzy matching: an explicit value is a choice the citizen made, and
        a near miss is better shown to a person (as ``hint``) than guessed.
        """
        if not ref:
            return None
        code = self._lookup.get(normalize_ref(ref))
        return self._regions.get(code) if code else None

    # -- text -----------------------------------------------------------------

    def place_matches(self, text: str) -> list[Match[str]]:
        """Place-name matches in ``text`` that count for some region.

        Blockers (neutral terms and road/river continuations) remove the
        region matches they strictly contain, and nothing else: a blocker
        "长沙县路" must not defeat a configured town alias "路口镇" that merely
        overlaps it in "长沙县路口镇". A road feature ("城关区路灯") cancels
        the blockers inside it. Common-word aliases count only where marked
        as places. Among the surviving region matches the longest of any
        overlapping group wins, and a town-level name qualified by a
        county-level name of another region right before it is dropped.
        """
        found = self._matcher.find(text)
        lifts = [m for m in found if m.value == _UNBLOCK]
        blockers = [
            m
            for m in found
            if m.value == _NEUTRAL and not any(_inside(m, u) for u in lifts)
        ]
        candidates = [
            m
            for m in found
            if m.value not in (_NEUTRAL, _UNBLOCK)
            and not any(_inside(m, b) and b.length > m.length for b in blockers)
        ]
        scoring = [
            m
            for m in candidates
            if (m.term, m.value) not in self._common or self._marked_as_place(text, m, candidates)
        ]
        return self._drop_qualified(longest_non_overlapping(scoring))

    def _marked_as_place(self, text: str, m: Match[str], others: list[Match[str]]) -> bool:
        """A common-word alias followed by a place suffix or preceded by a name of its region."""
        if text.startswith(self._place_suffixes, m.end):
            return True
        return any(o.end == m.start and o.value == m.value for o in others)

    def _drop_qualified(self, matches: list[Match[str]]) -> list[Match[str]]:
        """Drop a town-level match directly after a county-level match of another region."""
        kept: list[Match[str]] = []
        for m in matches:
            before = [k for k in kept if k.end == m.start]
            if any(
                k.value != m.value
                and k.value not in self._umbrella
                and k.term.endswith(QUALIFIER_SUFFIXES)
                and m.term.endswith(TOWN_SUFFIXES)
                for k in before
            ):
                continue
            kept.append(m)
        return kept

    def scores(self, title: str, body: str) -> tuple[dict[str, float], list[str]]:
        """Score per region code and the counted terms (title first)."""
        scores: dict[str, float] = {}
        found: list[tuple[str, str]] = []
        for text, weight in ((title or "", self.title_weight), (body or "", 1.0)):
            for m in self.place_matches(text):
                scores[m.value] = scores.get(m.value, 0.0) + weight
                found.append((m.term, m.value))
        specific = {c: s for c, s in scores.items() if c not in self._umbrella}
        if specific:
            scores = specific
        return scores, [term for term, code in found if code in scores]

    def route(self, explicit: str | None, title: str, body: str) -> RouteResult:
        """Pick the region for a message; see the module docstring for the rule."""
        hint: str | None = None
        if explicit is not None and explicit.strip():
            region = self.resolve(explicit)
            if region is not None:
                return RouteResult(region.code, REASON_EXPLICIT, (explicit.strip(),), None)
            hint = explicit.strip()

        scores, terms = self.scores(title, body)
        matched = _dedupe(terms)
        if not scores:
            return RouteResult(None, REASON_NONE, matched, hint)
        top = max(scores.values())
        leaders = [code for code, s in scores.items() if s == top]
        if len(leaders) > 1:
            return RouteResult(None, REASON_TIE, matched, hint)
        return RouteResult(leaders[0], REASON_TEXT, matched, hint)


def _inside(inner: Match[str], outer: Match[str]) -> bool:
    return outer.start <= inner.start and inner.end <= outer.end


def _dedupe(items: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def route_target(directory: RegionDirectory, explicit: str | None, title: str, body: str,
                 category: str | None, unit_by_category: Mapping[str, str]) -> RouteResult:
    """Pick the target (region or unit) for a message: :meth:`RegionDirectory.route` (explicit,
    then named in the text), then the unit that handles ``category`` when nothing was named at
    all. A tie stays a tie: two places named equally is a question for a person, not for the
    category."""
    result = directory.route(explicit, title, body)
    if result.reason == REASON_NONE and category and category in unit_by_category:
        return RouteResult(unit_by_category[category], REASON_CATEGORY, (category,), result.hint)
    return result
