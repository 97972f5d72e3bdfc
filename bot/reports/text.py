"""Catalogue strings for report parts that have no Renderer at hand (the chart, the total row)."""

from __future__ import annotations

from functools import cache
from typing import Any

from bot.render import Renderer


@cache
def _renderer(lang: str) -> Renderer:
    return Renderer(lang)


def catalogue_text(key: str, lang: str | None, **params: Any) -> str:
    """``Renderer.text`` of a renderer for ``lang`` (built once per language)."""
    renderer = _renderer(lang or "zh")
    return renderer.text(key, lang, **params)
