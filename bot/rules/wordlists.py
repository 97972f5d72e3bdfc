"""The built-in word lists of triage, kept as data: ``data/triage.toml``.

A change to a list is a data diff, not a code change. The file has the shape of the config's
``[triage]`` section (``urgent_terms``, ``complex_terms``, ``exclusions``,
``sensitivity_threshold``, ``[[sensitivity_categories]]``), so a deployment overrides a built-in
list by writing the same key in its config; the keys only the built-in file has (``weak_terms``,
the priority exclusions and markers, ``[sensitivity_markers]``) are read the same way.
:mod:`bot.rules.priority` and :mod:`bot.rules.sensitivity` take their defaults from here.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from typing import Any

__all__ = ["builtin", "words"]


@cache
def builtin(name: str = "triage.toml") -> Mapping[str, Any]:
    """A parsed built-in data file (read once; the package ships ``data/`` next to this module):
    the triage lists, or ``common_words.toml`` (place names that are also everyday words)."""
    text = files("bot.rules").joinpath("data", name).read_text(encoding="utf-8")
    return tomllib.loads(text)


def words(table: Mapping[str, Any], key: str) -> tuple[str, ...]:
    """The word list at ``key`` of a triage table, as the rules use it (a tuple of strings)."""
    value = table[key]
    if not isinstance(value, list) or not all(isinstance(w, str) for w in value):
        raise ValueError(f"{key}: expected an array of strings")
    return tuple(value)
