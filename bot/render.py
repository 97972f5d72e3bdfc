"""All user-facing text: jinja2 templates per language and a message catalogue.

Templates live in ``bot/templates/<lang>/``; ``*.html.j2`` produce Telegram HTML and are autoescaped,
so citizen text can never inject markup. Short strings (refusals, button labels, confirmations) live
in ``bot/templates/<lang>/messages.toml`` and are themselves small jinja2 templates.
Length fitting to Telegram's 4,096 UTF-16 units (counted after entity parsing) is done here, once.
"""

from __future__ import annotations

import html
import re
import tomllib
from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

TEMPLATES = Path(__file__).parent / "templates"
LANGUAGES = ("zh", "en")
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_ANSWER_LIMIT = 200

_TAG = re.compile(r"<[^>]*>")


def utf16_len(text: str) -> int:
    """Telegram counts UTF-16 code units: an emoji outside the BMP counts 2."""
    return len(text.encode("utf-16-le")) // 2


def visible_length(telegram_html: str) -> int:
    """Length Telegram sees after parsing HTML entities: tags dropped, entities unescaped."""
    return utf16_len(html.unescape(_TAG.sub("", telegram_html)))


def cut_utf16(text: str, units: int) -> str:
    """The longest prefix of ``text`` within ``units`` UTF-16 units (never splits a surrogate pair)."""
    out, used = [], 0
    for ch in text:
        n = 2 if ord(ch) > 0xFFFF else 1
        if used + n > units:
            break
        out.append(ch)
        used += n
    return "".join(out)


def fit(render: Callable[[str, bool], str], text: str, limit: int = TEXT_LIMIT) -> str:
    """Render with ``text`` whole, or with the longest prefix that keeps the result within ``limit``.

    ``render(text, truncated)`` must return Telegram HTML; when ``truncated`` it should show a visible
    marker. Binary search over the prefix length keeps this to ~log2(n) renders.
    """
    full = render(text, False)
    if utf16_len(full) <= limit or visible_length(full) <= limit:  # tags and entities only shrink it
        return full
    lo, hi = 0, utf16_len(text)
    best = render("", True)
    while lo <= hi:
        mid = (lo + hi) // 2
        candidate = render(cut_utf16(text, mid).rstrip(), True)
        if visible_length(candidate) <= limit:
            best, lo = candidate, mid + 1
        else:
            hi = mid - 1
    return best


def normalise_lang(code: str | None, default: str = "zh") -> str:
    """Map Telegram's ``language_code`` (``en-GB``, ``zh-hans``) or a config value to zh|en."""
    if not code:
        return default
    code = code.lower()
    if code.startswith("en"):
        return "en"
    if code.startswith("zh"):
        return "zh"
    return default


class Renderer:
    """Renders templates and catalogue strings in one of :data:`LANGUAGES`."""

    def __init__(self, default_lang: str = "zh", tz: ZoneInfo | None = None) -> None:
        self.default_lang = default_lang if default_lang in LANGUAGES else "zh"
        self.tz = tz or ZoneInfo("Asia/Shanghai")
        self._envs = {lang: self._make_env(lang) for lang in LANGUAGES}
        self._catalogues = {lang: _load_catalogue(lang) for lang in LANGUAGES}

    def _make_env(self, lang: str) -> jinja2.Environment:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(TEMPLATES / lang), str(TEMPLATES / "common")]),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2")),
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=False,
        )
        env.filters["dt"] = self._fmt_dt
        env.filters["hm"] = lambda d: self._fmt_dt(d, "%H:%M")
        env.globals["t"] = lambda key, **kw: self.text(key, lang, **kw)
        return env

    def _fmt_dt(self, value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        if value is None:
            return "—"
        return value.astimezone(self.tz).strftime(fmt)

    def lang(self, code: str | None) -> str:
        return normalise_lang(code, self.default_lang)

    def template(self, name: str, lang: str | None = None, **ctx: Any) -> str:
        """Render ``name`` (e.g. ``card.html.j2``); whitespace at both ends is stripped."""
        env = self._envs[self.lang(lang)]
        return env.get_template(name).render(**ctx).strip()

    def text(self, key: str, lang: str | None = None, **params: Any) -> str:
        """A catalogue string; HTML-escaped parameters unless the key ends in ``_plain``."""
        lang = self.lang(lang)
        source = self._catalogues[lang].get(key) or self._catalogues["zh"].get(key)
        if source is None:
            raise KeyError(f"no message {key!r} in the {lang} catalogue")
        env = self._envs[lang]
        template = _compile(env, source, autoescape=not key.endswith("_plain"))
        return template.render(**params).strip()

    def has_text(self, key: str) -> bool:
        return key in self._catalogues["zh"]


@cache
def _load_catalogue(lang: str) -> dict[str, str]:
    """Every ``*.toml`` in the language's folder, merged: ``messages.toml`` holds the core strings,
    each capability may bring its own file. A key defined twice is a mistake and stops start-up."""
    flat: dict[str, str] = {}
    origin: dict[str, str] = {}

    def walk(prefix: str, node: dict[str, Any], source: str) -> None:
        for k, v in node.items():
            key = f"{prefix}{k}"
            if isinstance(v, dict):
                walk(key + ".", v, source)
            elif key in flat:
                raise ValueError(f"message {key!r} is defined in both {origin[key]} and {source}")
            else:
                flat[key], origin[key] = str(v), source

    for path in sorted((TEMPLATES / lang).glob("*.toml")):
        with path.open("rb") as fh:
            walk("", tomllib.load(fh), path.name)
    return flat


_compiled: dict[tuple[int, str, bool], jinja2.Template] = {}


def _compile(env: jinja2.Environment, source: str, autoescape: bool) -> jinja2.Template:
    key = (id(env), source, autoescape)
    tpl = _compiled.get(key)
    if tpl is None:
        # explicit both ways: the environment escapes strings by default (select_autoescape), which
        # would put "&lt;" into plain texts (pop-ups, button labels, topic names)
        mode = "true" if autoescape else "false"
        wrapped = "{% autoescape " + mode + " %}" + source + "{% endautoescape %}"
        tpl = env.from_string(wrapped)
        _compiled[key] = tpl
    return tpl
