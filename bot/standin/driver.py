"""The stand-in's HTTP driver: play the users and look at the chats from any script.

The same control the Python methods give a test (``inject_message``, ``press_button``,
``close_topic``, ``fail_next`` ...), as JSON over HTTP under ``/driver/`` on the stand-in's own
port, so a shell script or another process can rehearse a deployment against the stand-in.
Answers use the Bot API's envelope: ``{"ok": true, "result": ...}`` or
``{"ok": false, "error": "..."}`` with 400 (bad request body), 404 (no such chat, topic or
query) or 504 (a wait that ran out). ``docs/standin.md`` lists every endpoint with examples.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .protocol import json_response

if TYPE_CHECKING:
    from .server import BotApiStandin

__all__ = ["ROUTES", "add_driver_routes"]

Body = dict[str, Any]
Action = Callable[["BotApiStandin", web.Request, Body], Awaitable[Any]]


class _BadBody(ValueError):
    """The request body lacks a field or has one of the wrong type."""


def _need(body: Body, key: str, kind: type | tuple[type, ...] = int) -> Any:
    if key not in body or body[key] is None:
        raise _BadBody(f"field {key!r} is required")
    return _check(key, body[key], kind)


def _opt(body: Body, key: str, kind: type | tuple[type, ...], default: Any = None) -> Any:
    if body.get(key) is None:
        return default
    return _check(key, body[key], kind)


def _check(key: str, value: Any, kind: type | tuple[type, ...]) -> Any:
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise _BadBody(f"field {key!r} must be a number")
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise _BadBody(f"field {key!r} must be {names}")
    return value


def _chat_id(request: web.Request) -> int:
    try:
        return int(request.match_info["chat_id"])
    except ValueError:
        raise _BadBody("the chat id in the path must be an integer") from None


def _known(api: BotApiStandin, request: web.Request) -> int:
    chat_id = _chat_id(request)
    api.chat(chat_id)  # KeyError -> 404
    return chat_id


# ------------------------------------------------------------------ reading


async def _list_chats(api: BotApiStandin, request: web.Request, body: Body) -> Any:
    return api.chats_snapshot()


async def _show_chat(api: BotApiStandin, request: web.Request, body: Body) -> Any:
    snap = api.chat_snapshot(_chat_id(request))
    after = request.query.get("after_id")
    if after is not None:
        snap["messages"] = [m for m in snap["messages"] if m["message_id"] > int(after)]
    return snap


async def _wait_message(api: BotApiStandin, request: web.Request, body: Body) -> Any:
    chat_id = _chat_id(request)
    msg = await api.wait_for_message(
        chat_id,
        contains=_opt(body, "contains", str),
        timeout=float(_opt(body, "timeout", (int, float), 5.0)),
        after_id=_opt(body, "after_id", int, 0),
        thread_id=_opt(body, "message_thread_id", int),
    )
    return msg.snapshot()


async def _callback(api: BotApiStandin, request: web.Request, body: Body) -> Any:
    query_id = request.match_info["query_id"]
    return {"callback_query_id": query_id, "answer": api.callback_answer(query_id)}


async def _pending_updates(api: BotApiStandin, request: web.Request, body: Body) -> Any:
    return api.pending_updates()


async def _sent(api: BotApiStandin, request: web.Request, body: Body) -> Any:
    return [dataclasses.asdict(r) for r in api.sent_log]


async def _stats(api: BotApiStandin, request: web.Request, body: Body) -> Any:
    return dict(api.stats)


# ------------------------------------------------------------------ setting the scene


async def _register_chat(api: BotApiStandin, request: web.Request, body: Body) -> Any:
    chat = api.register_chat(
        _need(body, "chat_id"),
        _opt(body, "title", str),
        _opt(body, "type", str),
        username=_opt(body, "username", str),
        is_forum=_opt(body, "is_forum", bool),
        bot_status=_opt(body, "bot_status", str),
        bot_rights=_opt(body, "bot_rights", dict),
    )
    return api.chat_snapshot(chat.id)


async def _register_user(api: BotApiStandin, request: web.Request, body: Body) -> Any:
    return api.register_user(
        _need(body, "user_id"),
        _need(body, "first_name", str),
        _opt(body, "username", str),
        _opt(body, "language_code", str, "zh-hans"),
        last_name=_opt(body, "last_name", str),
    )


async def _set_bot(api: BotApiStandin, request: web.Request, body: Body) -> Any:
    chat = api.set_bot_member(
        _chat_id(request),
        _need(body, "status", str),
        _opt(body, "rights", dict),
        announce=_opt(body, "announce", bool, False),
        by_user_id=_opt(body, "by_user_id", int),
    )
    return api.chat_snapshot(chat.id)["bot_member"]


async def _migrate(api: BotApiStandin, request: web.Request, body: Body) -> Any:
    new = api.migrate_chat(_chat_id(request), _need(body, "to"), announce=_opt(body, "announce", bool, False))
    return api.chat_snapshot(new.id)


async def _forum(api: BotApiStandin, request: web.Request, body: Body) -> Any:
    chat = api.set_forum(_known(api, request), _opt(body, "enabled", bool, True))
    return api.chat_snapshot(chat.id)


# ------------------------------------------------------------------ people acting


async def _inject(api: BotApiStandin, request: web.Request, body: Body) -> Any:
    return api.inject_message(
        _chat_id(request),
        _need(body, "user_id"),
        _need(body, "text", str),
        _opt(body, "reply_to_message_id", int),
        message_thread_id=_opt(body, "message_thread_id", int),
    )


async def _press(api: BotApiStandin, request: web.Request, body: Body) -> Any:
    query_id = api.press_button(
        _chat_id(request), _need(body, "message_id"), _need(body, "user_id"), _need(body, "data", str),
        check=_opt(body, "check", bool, True),
    )
    wait = _opt(body, "wait", (int, float))
    answer = await api.wait_callback_answer(query_id, float(wait)) if wait else api.callback_answer(query_id)
    return {"callback_query_id": query_id, "answer": answer}


async def _create_topic(api: BotApiStandin, request: web.Request, body: Body) -> Any:
    topic = api.create_topic(
        _known(api, request), _need(body, "user_id"), _need(body, "name", str),
        icon_color=_opt(body, "icon_color", int, 7322096),
    )
    return topic.snapshot()


async def _topic_action(api: BotApiStandin, request: web.Request, body: Body) -> Any:
    chat_id = _known(api, request)
    try:
        thread_id = int(request.match_info["thread_id"])
    except ValueError:
        raise _BadBody("the topic id in the path must be an integer") from None
    action = request.match_info["action"]
    if action == "edit":
        topic = api.rename_topic(chat_id, thread_id, _need(body, "user_id"), _need(body, "name", str))
    elif action == "close":
        topic = api.close_topic(chat_id, thread_id, _need(body, "user_id"))
    elif action == "reopen":
        topic = api.reopen_topic(chat_id, thread_id, _need(body, "user_id"))
    elif action == "delete":
        topic = api.delete_topic(chat_id, thread_id)
    else:
        raise KeyError(action)
    return topic.snapshot()


# ------------------------------------------------------------------ trouble on purpose


async def _faults(api: BotApiStandin, request: web.Request, body: Body) -> Any:
    return api.faults.snapshot()


async def _add_fault(api: BotApiStandin, request: web.Request, body: Body) -> Any:
    times = body.get("times", 1)
    if times is not None:
        _check("times", times, int)
    fault = api.fail_next(
        _need(body, "method", str), _need(body, "status"), times,
        _opt(body, "description", str), _opt(body, "retry_after", int), _opt(body, "chat_id", (int, str)),
    )
    return {"method": fault.method, "status": fault.status, "description": fault.description,
            "remaining": fault.remaining, "retry_after": fault.retry_after, "chat_id": fault.chat_id}


async def _add_hang(api: BotApiStandin, request: web.Request, body: Body) -> Any:
    times = body.get("times", 1)
    if times is not None:
        _check("times", times, int)
    api.hang(_need(body, "method", str), float(_need(body, "seconds", (int, float))), times)
    return api.faults.snapshot()


async def _clear_faults(api: BotApiStandin, request: web.Request, body: Body) -> Any:
    api.clear_faults()
    return api.faults.snapshot()


async def _down(api: BotApiStandin, request: web.Request, body: Body) -> Any:
    api.set_down(_opt(body, "down", bool, True))
    return api.faults.snapshot()


async def _tokens(api: BotApiStandin, request: web.Request, body: Body) -> Any:
    tokens = body.get("tokens")
    if tokens is not None and not (isinstance(tokens, list) and all(isinstance(t, str) for t in tokens)):
        raise _BadBody("field 'tokens' must be a list of strings or null")
    api.tokens = set(tokens) if tokens else None
    return {"tokens": sorted(api.tokens) if api.tokens else None}


async def _reset_limits(api: BotApiStandin, request: web.Request, body: Body) -> Any:
    api.reset_limits()
    return True


#: (HTTP method, path under /driver, action) - the whole driver API.
ROUTES: list[tuple[str, str, Action]] = [
    ("GET", "/chats", _list_chats),
    ("POST", "/chats", _register_chat),
    ("GET", "/chats/{chat_id}", _show_chat),
    ("POST", "/users", _register_user),
    ("POST", "/chats/{chat_id}/messages", _inject),
    ("POST", "/chats/{chat_id}/buttons", _press),
    ("POST", "/chats/{chat_id}/wait", _wait_message),
    ("POST", "/chats/{chat_id}/bot", _set_bot),
    ("POST", "/chats/{chat_id}/migrate", _migrate),
    ("POST", "/chats/{chat_id}/forum", _forum),
    ("POST", "/chats/{chat_id}/topics", _create_topic),
    ("POST", "/chats/{chat_id}/topics/{thread_id}/{action}", _topic_action),
    ("GET", "/callbacks/{query_id}", _callback),
    ("GET", "/updates", _pending_updates),
    ("GET", "/sent", _sent),
    ("GET", "/stats", _stats),
    ("GET", "/faults", _faults),
    ("POST", "/faults", _add_fault),
    ("DELETE", "/faults", _clear_faults),
    ("POST", "/hangs", _add_hang),
    ("POST", "/down", _down),
    ("POST", "/tokens", _tokens),
    ("POST", "/limits/reset", _reset_limits),
]


def _endpoint(api: BotApiStandin, action: Action) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        body: Body = {}
        if request.can_read_body:
            raw = await request.read()
            if raw.strip():
                try:
                    parsed = json.loads(raw)
                except ValueError:
                    return _fail(400, "the body must be a JSON object")
                if not isinstance(parsed, dict):
                    return _fail(400, "the body must be a JSON object")
                body = parsed
        try:
            result = await action(api, request, body)
        except KeyError as exc:
            return _fail(404, f"not found: {exc.args[0] if exc.args else ''}")
        except TimeoutError as exc:
            return _fail(504, str(exc))
        except ValueError as exc:
            return _fail(400, str(exc))
        return json_response({"ok": True, "result": result})

    return handle


def _fail(status: int, error: str) -> web.Response:
    return json_response({"ok": False, "error": error}, status)


def add_driver_routes(app: web.Application, api: BotApiStandin, prefix: str = "/driver") -> None:
    """Mount the driver on the stand-in's aiohttp application."""
    for method, path, action in ROUTES:
        app.router.add_route(method, prefix + path, _endpoint(api, action))
