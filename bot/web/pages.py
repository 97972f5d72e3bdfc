"""What the sandbox chat and the dashboard pages share: their jinja2 environment, language choice,
catalogue strings for the page chrome, static files and security headers.

The pages' chrome speaks the visitor's choice of zh or en (``?lang=``, remembered in a cookie);
the bot's own messages stay in the deployment's language. All assets are served from
``bot/web/static`` — nothing is loaded from another site, and the Content-Security-Policy says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from bot.render import LANGUAGES, Renderer

PAGES = Path(__file__).resolve().parents[1] / "templates" / "web"
STATIC = Path(__file__).parent / "static"
LANG_COOKIE = "liuyan_lang"

# Same-origin only: scripts and styles are files of ours; images may be blob: (the chart is fetched
# with the token in a header, then shown from memory).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")

_env: jinja2.Environment | None = None


def environment() -> jinja2.Environment:
    global _env
    if _env is None:
        _env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(PAGES)),
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=jinja2.StrictUndefined,
        )
    return _env


def page_lang(request: web.Request, default: str) -> str:
    """``?lang=`` first, then the cookie, then the deployment's language."""
    for value in (request.query.get("lang"), request.cookies.get(LANG_COOKIE)):
        if value in LANGUAGES:
            return value
    return default if default in LANGUAGES else "zh"


def render_page(request: web.Request, renderer: Renderer, name: str, lang: str, **ctx: Any) -> web.Response:
    """Render ``bot/templates/web/<name>`` with ``t(key)`` giving the catalogue's text in ``lang``."""
    template = environment().get_template(name)
    body = template.render(lang=lang, t=lambda key: renderer.text(key, lang), **ctx)
    response = web.Response(text=body, content_type="text/html", charset="utf-8")
    secure(response)
    if request.query.get("lang") in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="Lax", httponly=True)
    return response


def secure(response: web.StreamResponse) -> web.StreamResponse:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def strings(renderer: Renderer, lang: str, prefix: str, keys: Iterable[str],
            params: dict[str, tuple[str, ...]] | None = None) -> dict[str, str]:
    """Catalogue strings for a page's script, as plain text; ``{name}`` stands for a parameter
    that the script fills in (the catalogue's jinja2 parameters are rendered as such markers)."""
    params = params or {}
    out: dict[str, str] = {}
    for key in keys:
        names = params.get(key, ())
        out[key] = renderer.text(f"{prefix}.{key}", lang, **{n: "{" + n + "}" for n in names})
    return out


def add_static(app: web.Application, prefix: str) -> None:
    app.router.add_static(prefix, STATIC, append_version=False)
