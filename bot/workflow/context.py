"""What every workflow step is given: who acts (:class:`Actor`) and the rules compiled from the
config once (:class:`WorkflowContext`).

Compiling the rules (the region directory, the term lists, the sensitivity categories, the deadline
policy) costs far more than a step, so it is done once per process, and each step takes the result
as its second argument: ``db.run(claim, wf, item_id, actor, now)``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from bot.config import Config, OfficerConfig, TriageConfig
from bot.render import Renderer
from bot.rules.deadlines import DeadlinePolicy, OfficeHours
from bot.rules.priority import DEFAULT_COMPLEX_TERMS, DEFAULT_URGENT_TERMS
from bot.rules.routing import RegionDirectory, RegionRef, common_word_aliases
from bot.rules.sensitivity import SensitivityCategory, SensitivityTriage
from bot.rules.states import Person
from bot.workflow.suggestions import RoutingLearner

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who is acting and from where (``user_id`` None: the system, the API or the scheduler)."""

    user_id: int | None
    name: str
    chat_id: int | None = None
    message_id: int | None = None  # the command's message, so answers can reply to it
    lang: str | None = None  # Telegram's language_code
    source: str = "telegram"


SYSTEM = Actor(user_id=None, name="system", source="system")
SCHEDULER = Actor(user_id=None, name="scheduler", source="scheduler")  # time-driven steps (the sweep)


class WorkflowContext:
    """The config and the rules compiled from it, built once and shared by every step."""

    def __init__(self, config: Config, renderer: Renderer) -> None:
        self.config = config
        self.renderer = renderer
        self.tz = config.schedule.tz
        # units (departments) are targets like regions, in the same directory and namespace
        self.directory = RegionDirectory(region_refs(config))
        self.region_names = config.target_names
        self.unit_codes = frozenset(u.code for u in config.units)
        self.unit_by_category = {c: u.code for u in config.units for c in u.categories}
        self.learner = RoutingLearner(
            (n for r in self.directory.regions for n in (*r.place_names, *r.common_aliases)),
            self.region_names)
        warn_common_word_aliases(config)
        d = config.deadlines
        self.policy = DeadlinePolicy(
            ordinary_days=d.ordinary_days,
            complex_days=d.complex_days,
            max_extension_days=d.max_extension_days,
            hours=OfficeHours(start=config.schedule.office_start, end=config.schedule.office_end,
                              calendar=config.calendar),
        )
        t = config.triage
        self.urgent_terms = tuple(t.urgent_terms) if t.urgent_terms is not None else DEFAULT_URGENT_TERMS
        self.complex_terms = tuple(t.complex_terms) if t.complex_terms is not None else DEFAULT_COMPLEX_TERMS
        self.sensitivity = build_sensitivity(t)
        self.roster: dict[int, OfficerConfig] = {o.user_id: o for o in config.officers}

    def person(self, user_id: int | None, fallback_name: str = "") -> Person:
        """The roster's view of a user (role None: not in the roster)."""
        officer = self.roster.get(user_id) if user_id is not None else None
        if officer is None:
            return Person(user_id=user_id or 0, name=fallback_name, role=None, region=None)
        return Person(user_id=officer.user_id, name=officer.name, role=officer.role, region=officer.region)

    def lang_for(self, actor: Actor) -> str:
        """An officer's configured language wins; else Telegram's language_code; else the deployment's."""
        officer = self.roster.get(actor.user_id) if actor.user_id is not None else None
        if officer is not None and officer.language:
            return self.renderer.lang(officer.language)
        return self.renderer.lang(actor.lang) if actor.lang else self.renderer.default_lang

    def region_name(self, code: str | None) -> str | None:
        """The name of a target: a region's or a unit's (they share one namespace)."""
        return self.region_names.get(code) if code else None

    def is_unit(self, code: str | None) -> bool:
        """Whether ``code`` is a unit's (a department), not a region's."""
        return code in self.unit_codes


def common_word_aliases_of(config: Config) -> list[tuple[str, str]]:
    """(alias, region name) of every alias that is also an everyday word and not marked in
    ``common_aliases_ok``: routing takes it only where the text marks it as a place, and start-up
    and ``doctor`` warn about it."""
    return [(alias, r.name) for r in config.targets
            for alias in common_word_aliases(r.aliases) if alias not in getattr(r, "common_aliases_ok", ())]


def region_refs(config: Config) -> list[RegionRef]:
    """The configured regions as routing sees them: an alias that is an everyday word counts as a
    place only where the text marks it as one, unless the region lists it in
    ``common_aliases_ok``."""
    refs = []
    for r in config.targets:  # regions, then units (departments): one namespace
        common = set(common_word_aliases(r.aliases)) - set(getattr(r, "common_aliases_ok", ()))
        refs.append(RegionRef(code=r.code, name=r.name,
                              aliases=tuple(a for a in r.aliases if a.strip() not in common),
                              common_aliases=tuple(sorted(common))))
    return refs


def warn_common_word_aliases(config: Config) -> None:
    """One log line per alias that is also an everyday word (see :func:`common_word_aliases_of`)."""
    for alias, region in common_word_aliases_of(config):
        log.warning("config: alias %r of %s is also an everyday word; it routes a message only where "
                    "the text marks it as a place (list it in common_aliases_ok to count it everywhere)",
                    alias, region)


def build_sensitivity(t: TriageConfig) -> SensitivityTriage:
    """The compiled sensitivity triage: the built-in categories unless the config names its own."""
    kwargs: dict[str, Any] = {}
    if t.sensitivity_categories is not None:
        kwargs["categories"] = [SensitivityCategory(c.key, c.name_zh, c.name_en, tuple(c.terms), c.weight)
                                for c in t.sensitivity_categories]
    if t.exclusions is not None:
        kwargs["exclusions"] = tuple(t.exclusions)
    if t.sensitivity_threshold is not None:
        kwargs["threshold"] = t.sensitivity_threshold
    return SensitivityTriage(**kwargs)
