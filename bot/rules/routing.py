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

Measured with ``python -m tests.bench.routing_eval`` on the 4,326 messages of
the A-city data set (nine regions, no aliases): 60.1% routed, 0.7% tied,
39.3% unrouted; of a hand-checked 50, 31 routed right, 2 wrong, 17 unrouted
(none of them naming a district the rule missed). Town and estate aliases in
the config are what would route more.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.rules.matcher import Match, TermMatcher, fold_ascii, longest_non_overlapping

REASON_EXPLICIT = "explicit"
REASON_TEXT = "text"
REASON_TIE = "tie"
REASON_NONE = "none"

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

_WHITESPACE = re.compile(r"\s+")


def normalize_ref(ref: str) -> str:
    """Key used to look a region up: no whitespace at all, ASCII case and
    full-width/half-width folded (so " a3区 ", "Ａ3区" and "A3区" agree)."""
    return fold_ascii(_WHITESPACE.sub("", ref))


@dataclass(frozen=True)
class RegionRef:
    """A region that has its own group chat.

    ``aliases`` are other names of the region or of places inside it
    (districts, towns, well-known streets) that should route to it.
    """

    code: str
    name: str
    aliases: tuple[str, ...] = ()

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
            for key in {normalize_ref(k) for k in (region.code, *region.place_names)}:
                if not key:
                    continue
                if key in lookup and lookup[key] != region.code:
                    lookup[key] = None
                else:
                    lookup[key] = region.code
        self._lookup = lookup

        continuations = tuple(c for c in name_continuations if c)
        exceptions = tuple(c for c in continuation_exceptions if c)
        terms: list[tuple[str, str]] = []
        for region in self._regions.values():
            for name in region.place_names:
                terms.append((name, region.code))
                # "<name><continuation>" is a blocker that hides the place
                # name inside a road/river name; an exception is a longer
                # term that counts for the region again.
                terms.extend((name + c, _NEUTRAL) for c in continuations)
                terms.extend((name + c, region.code) for c in exceptions)
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
        overlaps it in "长沙县路口镇". Among the surviving region matches the
        longest of any overlapping group wins.
        """
        found = self._matcher.find(text)
        blockers = [m for m in found if m.value == _NEUTRAL]
        scoring = [
            m
            for m in found
            if m.value != _NEUTRAL
            and not any(
                b.start <= m.start and m.end <= b.end and b.length > m.length
                for b in blockers
            )
        ]
        return longest_non_overlapping(scoring)

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


def _dedupe(items: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
