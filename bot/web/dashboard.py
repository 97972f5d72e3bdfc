"""The supervisors' dashboard: the weekly report's figures and chart per region, live, read-only.

Mounted on the intake server of a real deployment (``dashboard_routes(app, services)``) and on the
demo's sandbox page. Everything under ``/dashboard/`` needs the API token: ``Authorization: Bearer``
for scripts, or ``?token=`` once in a browser, which answers with a cookie derived from the token
(never the token itself) and a redirect to the clean address, so the token does not stay in the
address bar, the history or a Referer. Changing ``api.token`` invalidates every such cookie.

The figures are ``bot.reports.figures`` — the same numbers the weekly roundup sends — computed for
the period the page asks for, as of ``AppContext.now()`` (sandbox time in the demo).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.app_context import AppContext
from bot.web import pages

log = logging.getLogger(__name__)

PERIODS = ("week", "last_week", "month")
COOKIE = "liuyan_dashboard"
_COOKIE_SALT = b"liuyan-dashboard-cookie-v1"
JS_KEYS = (
    "period_week", "period_last_week", "period_month", "updated", "total", "region", "received", "replied",
    "due", "replied_on_time", "overdue", "reply_rate", "on_time_rate", "mean_workdays", "rated",
    "satisfaction_rate", "unassigned", "unavailable", "error", "token_wrong", "chart",
)


class FiguresUnavailable(RuntimeError):
    """``bot.reports.figures`` is not installed (the reports capability is missing)."""


def period_bounds(period: str, now: datetime, tz: Any) -> tuple[datetime, datetime]:
    """[start, end) of the period containing ``now`` in the deployment's timezone: weeks run
    Monday to Monday, as the weekly roundup counts them; ``last_week`` is the one it reports on."""
    local = now.astimezone(tz)
    if period in ("week", "last_week"):
        monday = local.date() - timedelta(days=local.weekday())
        if period == "last_week":
            monday -= timedelta(days=7)
        return _midnight(monday, tz), _midnight(monday + timedelta(days=7), tz)
    if period == "month":
        first = local.date().replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return _midnight(first, tz), _midnight(following, tz)
    raise ValueError(f"unknown period {period!r}; one of {', '.join(PERIODS)}")


def _midnight(day: date, tz: Any) -> datetime:
    return datetime.combine(day, time(0), tz)


def figures_json(figures: Any, tz: Any) -> dict[str, Any]:
    """The figures as JSON, with a ``version`` that changes exactly when a number changes."""

    def row(r: Any) -> dict[str, Any]:
        return {f.name: getattr(r, f.name) for f in dataclasses.fields(r)}

    body = {"start": figures.start.astimezone(tz).isoformat(), "end": figures.end.astimezone(tz).isoformat(),
            "regions": [row(r) for r in figures.regions], "total": row(figures.total)}
    body["version"] = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]
    return body


def _load_figures_module() -> Any:
    try:
        from bot.reports import figures
    except ImportError as exc:
        raise FiguresUnavailable(str(exc)) from None
    return figures


class Dashboard:
    """The handlers, bound to one deployment's services."""

    def __init__(self, services: AppContext, prefix: str = "/dashboard", *, chat_url: str | None = None,
                 refresh_seconds: float = 5.0) -> None:
        self.s = services
        self.prefix = prefix.rstrip("/")
        self.chat_url = chat_url
        self.refresh_seconds = refresh_seconds
        self._chart_lock = asyncio.Lock()
        self._charts: dict[tuple[str, str, str], bytes] = {}

    # ------------------------------------------------------------------ access

    @property
    def token(self) -> str:
        return self.s.config.api.token

    def cookie_value(self) -> str:
        return hmac.new(self.token.encode("utf-8"), _COOKIE_SALT, hashlib.sha256).hexdigest()

    def _token_ok(self, given: str) -> bool:
        return bool(self.token) and bool(given) and hmac.compare_digest(given.encode("utf-8"), self.token.encode("utf-8"))

    def authorised(self, request: web.Request) -> bool:
        if not self.token:
            return False
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and given.strip():
            return self._token_ok(given.strip())
        if "token" in request.query:
            return self._token_ok(request.query["token"])
        cookie = request.cookies.get(COOKIE, "")
        return bool(cookie) and hmac.compare_digest(cookie.encode("utf-8"), self.cookie_value().encode("utf-8"))

    def lang(self, request: web.Request) -> str:
        return pages.page_lang(request, self.s.config.language)

    # ------------------------------------------------------------------ pages

    async def page(self, request: web.Request) -> web.StreamResponse:
        lang = self.lang(request)
        if not self.authorised(request):
            return self._login(request, lang, wrong="token" in request.query)
        if "token" in request.query:  # trade the token in the address for a cookie, then drop it
            rest = {k: v for k, v in request.query.items() if k != "token"}
            target = f"{self.prefix}/" + (f"?{urlencode(rest)}" if rest else "")
            response = web.Response(status=303, headers={"Location": target})
            response.set_cookie(COOKIE, self.cookie_value(), path=self.prefix + "/", httponly=True, samesite="Strict")
            pages.secure(response)
            return response
        period = request.query.get("period", "week")
        boot = {
            "lang": lang, "prefix": self.prefix, "period": period if period in PERIODS else "week",
            "refresh_seconds": self.refresh_seconds, "timezone": self.s.config.schedule.timezone,
            "strings": pages.strings(self.s.renderer, lang, "web.dash", JS_KEYS),
        }
        return pages.render_page(request, self.s.renderer, "dashboard.html.j2", lang, boot=boot,
                                 prefix=self.prefix, chat_url=self.chat_url, periods=PERIODS)

    def _login(self, request: web.Request, lang: str, *, wrong: bool) -> web.Response:
        response = pages.render_page(request, self.s.renderer, "dashboard_login.html.j2", lang,
                                     prefix=self.prefix, wrong=wrong, chat_url=self.chat_url)
        response.set_status(401)
        return response

    # ------------------------------------------------------------------ data

    def _denied(self) -> web.Response:
        return pages.secure(web.json_response(
            {"error": "missing or wrong token: send 'Authorization: Bearer <api.token>', or open the page with ?token="},
            status=401))

    def _period(self, request: web.Request) -> str:
        period = request.query.get("period", "week")
        if period not in PERIODS:
            raise web.HTTPBadRequest(reason=f"period must be one of {', '.join(PERIODS)}")
        return period

    async def _figures(self, period: str) -> tuple[Any, dict[str, Any]]:
        module = _load_figures_module()
        now = self.s.now()
        tz = self.s.config.schedule.tz
        start, end = period_bounds(period, now, tz)
        figures = await self.s.db.run(module.compute_figures, self.s.config, start, end, now)
        body = figures_json(figures, tz)
        body.update(period=period, now=now.astimezone(tz).isoformat())
        return figures, body

    async def figures(self, request: web.Request) -> web.Response:
        if not self.authorised(request):
            return self._denied()
        try:
            _, body = await self._figures(self._period(request))
        except web.HTTPBadRequest as exc:
            return pages.secure(web.json_response({"error": exc.reason}, status=400))
        except FiguresUnavailable:
            return pages.secure(web.json_response({"error": "the report figures (bot.reports.figures) are not installed"},
                                                  status=503))
        return pages.secure(web.json_response(body, dumps=lambda o: json.dumps(o, ensure_ascii=False, default=str)))

    async def chart(self, request: web.Request) -> web.Response:
        if not self.authorised(request):
            return self._denied()
        lang = request.query.get("lang") if request.query.get("lang") in ("zh", "en") else self.lang(request)
        try:
            period = self._period(request)
            figures, body = await self._figures(period)
        except web.HTTPBadRequest as exc:
            return pages.secure(web.json_response({"error": exc.reason}, status=400))
        except FiguresUnavailable:
            return pages.secure(web.json_response({"error": "the report figures (bot.reports.figures) are not installed"},
                                                  status=503))
        key = (period, lang, body["version"])
        png = self._charts.get(key)
        if png is None:
            module = _load_figures_module()
            async with self._chart_lock:  # matplotlib is not thread-safe; one chart at a time
                png = await asyncio.to_thread(module.render_chart_png, figures, lang)
            if len(self._charts) > 16:
                self._charts.clear()
            self._charts[key] = png
        response = web.Response(body=png, content_type="image/png")
        pages.secure(response)
        response.headers["ETag"] = f'"{body["version"]}-{lang}"'
        return response


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def dashboard_routes(app: web.Application, services: AppContext, *, prefix: str = "/dashboard",
                     chat_url: str | None = None, refresh_seconds: float = 5.0) -> web.Application:
    """Add the dashboard under ``prefix`` to an aiohttp app (before it starts); returns the app.

    In a real deployment: ``dashboard_routes(make_app(s, webhook=webhook), s)`` in bot/service.py.
    """
    board = Dashboard(services, prefix, chat_url=chat_url, refresh_seconds=refresh_seconds)

    async def to_slash(request: web.Request) -> web.StreamResponse:
        query = f"?{request.query_string}" if request.query_string else ""
        raise web.HTTPPermanentRedirect(f"{board.prefix}/{query}")

    app.router.add_get(board.prefix, to_slash)
    app.router.add_get(f"{board.prefix}/", board.page)
    app.router.add_get(f"{board.prefix}/figures.json", board.figures)
    app.router.add_get(f"{board.prefix}/chart.png", board.chart)
    pages.add_static(app, f"{board.prefix}/static")
    return app
