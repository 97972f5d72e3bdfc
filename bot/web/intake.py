"""The intake HTTP API (see the README, "Intake API"), and in webhook mode the Telegram webhook.

Every answer is JSON; every error is ``{"error": "..."}`` with a specific message. Validation is
complete before anything is stored, so a bad element in a batch stores nothing of the batch.
"""

from __future__ import annotations

import functools
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from bot.app_context import AppContext
from bot.rules.states import OPEN_STATUSES, Refusal, Status
from bot.web.health import health_routes
from bot.web.validation import RATINGS, ValidationError, parse_batch, parse_close, parse_rating
from bot.workflow.citizens import rate
from bot.workflow.closing import close
from bot.workflow.intake import Incoming, intake
from bot.workflow.suggestions import judgement_json
from storage.db import DatabaseUnavailable
from storage.feed import changes_page, parse_cursor
from storage.models import MAX_ID, Item

log = logging.getLogger(__name__)

SERVICES: web.AppKey[AppContext] = web.AppKey("services", AppContext)
WEBHOOK: web.AppKey[Any] = web.AppKey("webhook", object)


FEED_DEFAULT_LIMIT = 100
FEED_MAX_LIMIT = 1000

# Chinese text as UTF-8, not \u escapes: a person reading an answer (or a log of it) can read it
_dumps = functools.partial(json.dumps, ensure_ascii=False)


def json_answer(data: Any, status: int = 200) -> web.Response:
    """A JSON answer in UTF-8 (every answer of the API goes through here)."""
    return web.json_response(data, status=status, dumps=_dumps)


def error(status: int, message: str) -> web.Response:
    return json_answer({"error": message}, status=status)


def item_json(s: AppContext, item: Item, now: datetime | None = None) -> dict[str, Any]:
    """An item as the API shows it: times ISO 8601 with offset in the configured timezone."""
    tz = s.config.schedule.tz
    now = now or s.now()

    def iso(value: datetime | None) -> str | None:
        return value.astimezone(tz).isoformat() if value else None

    open_ = item.status in OPEN_STATUSES and not item.history
    return {
        "id": item.id,
        "external_id": item.external_id,
        "status": item.status,
        # one column holds the target; a unit's (department's) code shows as ``unit``
        "region": None if s.workflow.is_unit(item.region) else item.region,
        "unit": item.region if s.workflow.is_unit(item.region) else None,
        "category": item.category_label,
        "duplicate_of": item.duplicate_of,
        "region_hint": item.region_hint,
        "title": item.title,
        "priority": item.priority,
        "sensitive": item.sensitive,
        "sensitive_category": item.sensitive_category,
        "sensitive_terms": json.loads(item.sensitive_terms or "[]"),
        "supervised": item.supervised,
        "received_at": iso(item.received_at),
        "deadline": iso(item.deadline),
        "provisional": item.deadline_provisional,
        "overdue": bool(item.deadline and open_ and now >= item.deadline),
        "extended_by": item.extended_by,
        "claimed_by": item.claimed_by,
        "claimed_by_name": item.claimed_by_name,
        "claimed_at": iso(item.claimed_at),
        "reply": item.reply,
        "replied_at": iso(item.replied_at),
        "replied_by_name": item.replied_by_name,
        "rating": item.rating,
        "rating_comment": item.rating_comment,
        "likes": item.likes,
        "dislikes": item.dislikes,
        "url": item.url,
        "history": item.history,
        "closed_at": iso(item.closed_at),
        "published_at": iso(item.published_at),
        **judgement_json(s.workflow, item),
        "followup": item.followup,  # 回头看: null, "solved" or "ongoing"
        "reopened_at": iso(item.reopened_at),  # 重办
    }


@web.middleware
async def json_errors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """No input gives a stack trace or an HTML error page: everything becomes a JSON error."""
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:
        return error(413, f"request body over {request.app[SERVICES].config.api.max_body_bytes} bytes")
    except web.HTTPNotFound:
        return error(404, f"no such path: {request.path}")
    except web.HTTPMethodNotAllowed as exc:
        return error(405, f"method {request.method} not allowed here; use {', '.join(sorted(exc.allowed_methods))}")
    except web.HTTPException as exc:
        if exc.status >= 400:
            return error(exc.status, exc.reason or "error")
        raise
    except DatabaseUnavailable:
        return error(503, "the database is unavailable; nothing was stored, try again shortly")
    except Exception:
        log.exception("intake: unexpected error on %s %s", request.method, request.path)
        return error(503, "internal error; nothing was stored, try again shortly")


@web.middleware
async def bearer_auth(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    if request.path.startswith("/api/"):
        expected = request.app[SERVICES].config.api.token
        header = request.headers.get("Authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given:
            return error(401, "missing bearer token: send 'Authorization: Bearer <api.token>'")
        if not hmac.compare_digest(given.strip().encode("utf-8"), expected.encode("utf-8")):
            return error(401, "wrong bearer token")
    return await handler(request)


async def read_json(request: web.Request) -> Any:
    s = request.app[SERVICES]
    limit = s.config.api.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    ctype = request.content_type
    if ctype != "application/json" and not ctype.endswith("+json"):
        raise _Unsupported(ctype or "none")
    raw = await request.read()
    if len(raw) > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=len(raw))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"body is not UTF-8 (byte {exc.start})") from exc
    if not text.strip():
        raise ValidationError("empty body: send a JSON object or array")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from exc
    except RecursionError as exc:
        raise ValidationError("JSON nested too deeply") from exc
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise ValidationError(f"invalid JSON: {str(exc)[:200]}") from exc


class _Unsupported(Exception):
    pass


async def post_messages(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    try:
        data = await read_json(request)
        batch, single = parse_batch(data, s.config.schedule.tz, max_items=s.config.api.max_batch)
    except _Unsupported as exc:
        return error(415, f"content type {exc} is not JSON; send application/json")
    except ValidationError as exc:
        return error(400, str(exc))
    results = await _intake(s, batch)
    if single:
        item, created = results[0]
        return json_answer(item_json(s, item), status=201 if created else 200)
    created_any = any(created for _, created in results)
    body = {"items": [dict(item_json(s, item), created=created) for item, created in results]}
    return json_answer(body, status=201 if created_any else 200)


async def _intake(s: AppContext, batch: list[Incoming]) -> list[tuple[Item, bool]]:
    now = s.now()
    for attempt in range(3):
        try:
            return await s.act(intake, s.workflow, batch, now)
        except IntegrityError:
            # another request stored one of these external_ids at the same moment: try again, and
            # this time those rows are "seen before"
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _item_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 12 or not 0 < int(raw) <= MAX_ID:
        raise web.HTTPNotFound()
    return int(raw)


async def get_message(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    item_id = _item_id(request)
    item = await s.db.read(lambda session: session.get(Item, item_id))
    if item is None:
        return error(404, f"no message with id {item_id}")
    return json_answer(item_json(s, item))


async def get_changes(request: web.Request) -> web.Response:
    """The changes feed: items with a change after ``since``, oldest change first, and the cursor
    to poll with next (see :mod:`storage.feed` for why it never skips a change)."""
    s = request.app[SERVICES]
    query = request.query
    unknown = sorted(set(query) - {"since", "limit", "status"})
    if unknown:
        return error(400, f"unknown parameter {unknown[0]!r} (parameters: since, limit, status)")
    try:
        cursor = parse_cursor(query.get("since"))
    except ValueError:
        return error(400, f"since: not a cursor of this feed: {query.get('since', '')[:60]!r}; "
                          "send back the 'next' of an earlier answer, or nothing to start")
    raw_limit = query.get("limit", str(FEED_DEFAULT_LIMIT))
    if not (raw_limit.isascii() and raw_limit.isdigit() and len(raw_limit) <= 7
            and 1 <= int(raw_limit) <= FEED_MAX_LIMIT):
        return error(400, f"limit: must be a whole number from 1 to {FEED_MAX_LIMIT}, not {raw_limit[:20]!r}")
    status = query.get("status")
    if status is not None and status not in {str(v) for v in Status}:
        return error(400, f"status: unknown status {status[:30]!r} (statuses: {', '.join(str(v) for v in Status)})")
    page = await s.db.read(changes_page, cursor, int(raw_limit), status)
    now = s.now()
    return json_answer({"items": [item_json(s, item, now) for item in page.items], "next": str(page.next)})


async def post_close(request: web.Request) -> web.Response:
    """The reply is public on the platform: the item is closed (again: nothing changes)."""
    s = request.app[SERVICES]
    item_id = _item_id(request)
    try:
        data = await read_json(request) if await _has_body(request) else None
        published_at, url = parse_close(data, s.config.schedule.tz)
    except _Unsupported as exc:
        return error(415, f"content type {exc} is not JSON; send application/json")
    except ValidationError as exc:
        return error(400, str(exc))
    try:
        item = await s.act(close, s.workflow, item_id, s.now(), published_at=published_at, url=url)
    except Refusal as refusal:
        if refusal.code == "not_found":
            return error(404, f"no message with id {item_id}")
        return error(409, f"message {item_id} has no reply yet, so it cannot be closed")
    return json_answer(item_json(s, item))


async def _has_body(request: web.Request) -> bool:
    """An empty body (or none) is allowed where every field is optional."""
    if request.content_length == 0 or (request.content_length is None and not request.body_exists):
        return False
    return bool((await request.read()).strip())


async def post_rating(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    item_id = _item_id(request)
    try:
        data = await read_json(request)
        rating, comment = parse_rating(data)
    except _Unsupported as exc:
        return error(415, f"content type {exc} is not JSON; send application/json")
    except ValidationError as exc:
        return error(400, str(exc))
    try:
        item = await s.act(rate, s.workflow, item_id, rating, comment, s.now())
    except Refusal as refusal:
        if refusal.code == "not_found":
            return error(404, f"no message with id {item_id}")
        return error(400, f"message {item_id} has not been replied to yet, so it cannot be rated")
    return json_answer(item_json(s, item))


async def healthz(request: web.Request) -> web.Response:
    s = request.app[SERVICES]
    if await s.db.aping():
        body: dict[str, Any] = {"status": "ok"}
        if "warm" in s.extras:  # the service's start-up work (loading the reports' libraries) is done
            body["warm"] = s.extras["warm"]
        return json_answer(body)
    return json_answer({"status": "database unreachable"}, status=503)


def make_app(s: AppContext, *, webhook: Any = None) -> web.Application:
    """The aiohttp application: intake API, health, and (when given) the Telegram webhook route."""
    app = web.Application(middlewares=[json_errors, bearer_auth], client_max_size=s.config.api.max_body_bytes)
    app[SERVICES] = s
    app.router.add_post("/api/v1/messages", post_messages)
    app.router.add_get("/api/v1/messages", get_changes)
    app.router.add_get("/api/v1/messages/{id}", get_message)
    app.router.add_post("/api/v1/messages/{id}/rating", post_rating)
    app.router.add_post("/api/v1/messages/{id}/close", post_close)
    app.router.add_get("/healthz", healthz)
    health_routes(app)  # /metrics and /readyz, without the token (nothing of any message in them)
    if webhook is not None:
        app[WEBHOOK] = webhook
        app.router.add_post(s.config.telegram.webhook_path, webhook.handle)
    return app


__all__ = ["make_app", "item_json", "RATINGS"]
