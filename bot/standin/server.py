"""A local stand-in of the Telegram Bot API on 127.0.0.1, for tests, benchmarks and ``liuyan demo``.

Why a stand-in and not mocks: the bot talks to Telegram through python-telegram-bot's real HTTP
client, and most production failures live exactly there - HTML that Telegram cannot parse, a card
over 4,096 UTF-16 units, ``callback_data`` over 64 bytes, flood limits (429), a group upgraded to a
supergroup, the bot kicked from a chat, an edit that changes nothing. The stand-in answers like
Telegram in all of these cases, byte for byte where the bot might match on the wording, and lets a
test play the users (``inject_message``, ``press_button``) and look at what the bot did
(``messages``, ``wait_for_message``, ``chats_snapshot``).

Choices worth knowing:

* Flood limits are strict sliding windows (see :mod:`bot.standin.limits`): per group/supergroup
  chat at most 20 messages in any 60 s, counting ``sendMessage``, ``sendPhoto``, ``sendDocument``
  and - unless ``count_edits=False`` - ``editMessageText``, ``editMessageCaption`` and
  ``editMessageReplyMarkup`` (Telegram's own limits on edits are undocumented but real; counting
  them is the cautious choice). Overall at most 30 *sends* per second across all chats (edits do
  not count there). Private chats have no per-chat limit here.
* ``editMessageText`` without ``reply_markup`` removes the inline keyboard, as on Telegram.
* Telegram keeps a stray ``&`` literally; the stand-in rejects it unless ``strict_entities=False``
  (see :mod:`bot.standin.html`). MarkdownV2 is not implemented and answers 400.
* After a ``hang``, the request is processed normally, as Telegram would: a client that timed out
  may still have sent the message - which is exactly what a retrying client must cope with.
* Call the test-facing methods from the event loop the server runs on; they are synchronous but
  wake waiters through asyncio events.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import mimetypes
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp import ClientError, ClientSession, ClientTimeout, web

from .html import EntityParseError, find_auto_entities, finish_text, parse_html, utf16_len
from .limits import RateLimiter, retry_after_seconds
from .models import (
    BOT_FIRST_NAME,
    BOT_ID,
    BOT_USER,
    BOT_USERNAME,
    CallbackRecord,
    ChatInfo,
    RequestRecord,
    SentRecord,
    StoredFile,
    StoredMessage,
    chat_type_for_id,
    image_size,
)

__all__ = ["BotApiStandin", "ApiError", "Fault", "FakeClock"]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
CALLBACK_ANSWER_LIMIT = 200
PHOTO_MAX_BYTES = 10 * 1024 * 1024
DOCUMENT_MAX_BYTES = 50 * 1024 * 1024

_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note",
        "upload_video_note",
    }
)
_BUTTON_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)
_DEFAULT_UPDATE_TYPES = (
    "message", "edited_message", "channel_post", "edited_channel_post", "callback_query",
    "my_chat_member", "inline_query", "chosen_inline_result",
)
_STATUS_TEXT = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was kicked from the group chat",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"


class ApiError(Exception):
    """An error answer: HTTP status ``code`` with Telegram's ``description`` and ``parameters``."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.parameters = parameters


@dataclass
class Fault:
    """An injected error (see :meth:`BotApiStandin.fail_next`). ``remaining=None`` is forever."""

    method: str
    status: int
    description: str
    remaining: int | None = 1
    retry_after: int | None = None
    chat_id: int | str | None = None
    parameters: dict[str, Any] | None = None
    hits: int = 0


@dataclass
class _Hang:
    method: str
    seconds: float
    remaining: int | None


@dataclass
class _Webhook:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None
    delivered: int = 0


@dataclass
class _Upload:
    filename: str | None
    data: bytes = field(repr=False)
    content_type: str | None


class _WithDescription:
    """A successful answer that also carries a ``description`` (setWebhook does this)."""

    def __init__(self, result: Any, description: str) -> None:
        self.result = result
        self.description = description


class FakeClock:
    """A monotonic clock for tests: ``clock()`` returns ``now``; ``advance`` moves it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class _Params:
    """Request parameters from a query string, a form, multipart or JSON, with Telegram coercions.

    PTB sends every value as a string (``json.dumps`` for non-strings): ``chat_id=-100123``,
    ``disable_notification=true``, ``reply_markup={"inline_keyboard": ...}``. JSON bodies carry
    real types. Both must read the same.
    """

    _JSON_NAMES = {
        "reply_markup": "reply keyboard markup",
        "entities": "entities",
        "caption_entities": "caption entities",
        "reply_parameters": "reply parameters",
        "commands": "commands",
        "scope": "bot command scope",
        "allowed_updates": "allowed updates",
        "link_preview_options": "link preview options",
    }

    def __init__(self, data: dict[str, Any], files: dict[str, _Upload], request: web.Request | None = None) -> None:
        self.data = data
        self.files = files
        self.request = request

    def client_gone(self) -> bool:
        """True when the client has closed the connection (e.g. PTB cancelled a long poll)."""
        if self.request is None:
            return False
        transport = self.request.transport
        return transport is None or transport.is_closing()

    def has(self, name: str) -> bool:
        value = self.data.get(name)
        return value is not None and value != ""

    def raw(self, name: str) -> Any:
        return self.data.get(name)

    def get_str(self, name: str) -> str | None:
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        return json.dumps(value, ensure_ascii=False)

    def get_int(self, name: str, *, error: str | None = None) -> int | None:
        value = self.data.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise ApiError(400, error or f"Bad Request: invalid {name} specified")
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            try:
                as_float = float(str(value).strip())
            except ValueError:
                raise ApiError(400, error or f"Bad Request: invalid {name} specified") from None
            return int(as_float)

    def get_float(self, name: str) -> float | None:
        value = self.data.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ApiError(400, f"Bad Request: invalid {name} specified") from None

    def get_bool(self, name: str, default: bool = False) -> bool:
        value = self.data.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("true", "1", "yes", "on")

    def get_json(self, name: str) -> Any:
        value = self.data.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                what = self._JSON_NAMES.get(name, name)
                raise ApiError(400, f"Bad Request: can't parse {what} JSON object") from None
        return value


Handler = Callable[[_Params], Awaitable[Any]]


class BotApiStandin:
    """The stand-in server. Use ``async with BotApiStandin() as api:`` or ``start()``/``stop()``.

    Point PTB at it with ``Application.builder().token(T).base_url(api.base_url)`` or
    ``telegram.Bot(T, base_url=api.base_url)``; any token of the form ``digits:chars`` is accepted
    unless ``tokens`` restricts them (others then get 401 like a revoked token).
    """

    def __init__(
        self,
        *,
        port: int = 0,
        strict_chats: bool = False,
        enforce_limits: bool = True,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        strict_entities: bool = True,
        autodetect_entities: bool = True,
        privacy_mode: bool = False,
        count_edits: bool = True,
        group_rate: tuple[int, float] = (20, 60.0),
        global_rate: tuple[int, float] = (30, 1.0),
        tokens: set[str] | None = None,
        callback_query_ttl: float | None = None,
        webhook_retry_delay: float = 0.5,
    ) -> None:
        self.host = "127.0.0.1"
        self._requested_port = port
        self.port: int | None = None
        self.strict_chats = strict_chats
        self.enforce_limits = enforce_limits
        self.clock = clock
        self.wall_clock = wall_clock
        self.strict_entities = strict_entities
        self.autodetect_entities = autodetect_entities
        self.privacy_mode = privacy_mode
        self.count_edits = count_edits
        self.tokens = set(tokens) if tokens else None
        self.callback_query_ttl = callback_query_ttl
        self.webhook_retry_delay = webhook_retry_delay
        self.limiter = RateLimiter(clock, per_chat=group_rate, overall=global_rate)

        self.stats: Counter[str] = Counter()
        self.sent_log: list[SentRecord] = []
        self.request_log: list[RequestRecord] = []
        self.webhook_log: list[dict[str, Any]] = []

        self._chats: dict[int, ChatInfo] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._files: dict[str, StoredFile] = {}
        self._file_seq = itertools.count(1)
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 1
        self._allowed_updates: list[str] | None = None
        self._poll_generation = 0
        self._callbacks: dict[str, CallbackRecord] = {}
        self._callback_seq = itertools.count(4_382_000_000_000_000_001)
        self._commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self._webhook: _Webhook | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._faults: list[Fault] = []
        self._hangs: list[_Hang] = []
        self._down = False
        self._closing = False
        self._changed = asyncio.Event()
        self._subscribers: list[asyncio.Queue[dict[str, Any]]] = []
        self._runner: web.AppRunner | None = None

        self._methods: dict[str, tuple[str, Handler]] = {}
        for name in (
            "getMe", "getUpdates", "setMyCommands", "getMyCommands", "deleteMyCommands",
            "deleteWebhook", "setWebhook", "getWebhookInfo", "sendMessage", "editMessageText",
            "editMessageCaption", "editMessageReplyMarkup", "answerCallbackQuery", "sendPhoto",
            "sendDocument", "sendChatAction", "getChat", "deleteMessage", "getFile", "close",
            "logOut",
        ):
            self._methods[name.lower()] = (name, getattr(self, "_m_" + name))

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> BotApiStandin:
        """Bind to 127.0.0.1 (port 0 picks a free one) and start answering."""
        app = web.Application(client_max_size=DOCUMENT_MAX_BYTES + 10 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_other)
        self._closing = False
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self._requested_port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        """Stop answering; pending long polls and hangs return at once."""
        self._closing = True
        self._notify()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            try:
                await self._webhook_task
            except (asyncio.CancelledError, Exception):
                pass
            self._webhook_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiStandin:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (the server root)."""
        if self.port is None:
            raise RuntimeError("BotApiStandin is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What to give PTB's ``base_url``: the token and ``/method`` are appended to it."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """What to give PTB's ``base_file_url`` so ``File.download_*`` works against the stand-in."""
        return f"{self.url}/file/bot"

    # ------------------------------------------------------------------ change notification

    def _notify(self) -> None:
        """Wake every waiter (long polls, ``wait_for``); each re-checks its own condition."""
        event = self._changed
        self._changed = asyncio.Event()
        event.set()

    def _emit(self, event: dict[str, Any]) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                pass  # a subscriber that stopped reading does not stall the stand-in
        self._notify()

    async def _wait_until(self, predicate: Callable[[], bool], timeout: float | None) -> bool:
        """Wait on change events (no polling) until ``predicate()`` or ``timeout``; return it."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            event = self._changed  # take it before checking, so no notification is missed
            if predicate():
                return True
            if deadline is None:
                await event.wait()
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                pass

    def subscribe(self, maxsize: int = 0) -> asyncio.Queue[dict[str, Any]]:
        """A queue that receives an event dict for every message sent, edited, deleted or injected.

        Events: ``{"type": "message" | "edit" | "delete", "chat_id", "message": snapshot}``,
        ``{"type": "callback_answer", ...}``, ``{"type": "chat", "chat": ...}``.
        """
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize)
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        if queue in self._subscribers:
            self._subscribers.remove(queue)

    # ------------------------------------------------------------------ HTTP plumbing

    @staticmethod
    def _json_response(body: dict[str, Any], status: int = 200) -> web.Response:
        return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))

    def _error_response(self, err: ApiError) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": err.code, "description": err.description}
        if err.parameters:
            body["parameters"] = err.parameters
        return self._json_response(body, err.code)

    async def _read_params(self, request: web.Request) -> _Params:
        data: dict[str, Any] = dict(request.query)
        files: dict[str, _Upload] = {}
        if request.method == "POST" and request.body_exists:
            ctype = request.content_type
            if ctype == "application/json":
                raw = await request.read()
                if raw.strip():
                    try:
                        obj = json.loads(raw)
                    except ValueError:
                        raise ApiError(400, "Bad Request: can't parse JSON object") from None
                    if not isinstance(obj, dict):
                        raise ApiError(400, "Bad Request: JSON object expected")
                    data.update(obj)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        files[key] = _Upload(value.filename, value.file.read(), value.content_type)
                    else:
                        data[key] = value
            else:
                await request.read()
        return _Params(data, files, request)

    async def _handle_other(self, request: web.Request) -> web.Response:
        return self._json_response({"ok": False, "error_code": 404, "description": "Not Found"}, 404)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        for stored in self._files.values():
            if stored.file_path == path:
                return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")
        return self._json_response({"ok": False, "error_code": 404, "description": "Not Found"}, 404)

    async def _handle(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        self.stats["requests"] += 1
        chat_ref: int | str | None = None
        try:
            if not _TOKEN_RE.match(token):
                raise ApiError(404, "Not Found")
            params = await self._read_params(request)
            chat_ref = params.raw("chat_id")
            if self._down:
                raise ApiError(502, "Bad Gateway")
            entry = self._methods.get(method.lower())
            name = entry[0] if entry else method
            self.stats[f"method:{name}"] += 1
            hang = self._take(self._hangs, name, params)
            if hang is not None:
                await self._wait_until(lambda: self._closing, hang.seconds)
            if entry is None:
                raise ApiError(404, "Not Found")
            if self.tokens is not None and token not in self.tokens:
                raise ApiError(401, "Unauthorized")
            fault = self._take(self._faults, name, params)
            if fault is not None:
                fault.hits += 1
                parameters = dict(fault.parameters or {})
                if fault.retry_after is not None:
                    parameters["retry_after"] = fault.retry_after
                raise ApiError(fault.status, fault.description, parameters or None)
            result = await entry[1](params)
        except ApiError as err:
            self.stats[str(err.code)] += 1
            self.request_log.append(RequestRecord(self.clock(), method, chat_ref, err.code, err.description))
            return self._error_response(err)
        self.stats["200"] += 1
        self.request_log.append(RequestRecord(self.clock(), name, chat_ref, 200))
        if isinstance(result, _WithDescription):
            return self._json_response({"ok": True, "result": result.result, "description": result.description})
        return self._json_response({"ok": True, "result": result})

    def _take(self, items: list[Any], method: str, params: _Params) -> Any:
        """Find and consume the first matching fault or hang for this call."""
        for item in items:
            if item.method not in ("*", method.lower()):
                continue
            wanted = getattr(item, "chat_id", None)
            if wanted is not None and str(wanted) != str(params.raw("chat_id")):
                continue
            if item.remaining is not None:
                item.remaining -= 1
                if item.remaining <= 0:
                    items.remove(item)
            return item
        return None

    # ------------------------------------------------------------------ chats and users

    def register_chat(
        self,
        chat_id: int,
        title: str | None = None,
        type: str | None = None,
        *,
        username: str | None = None,
    ) -> ChatInfo:
        """Make a chat known (needed with ``strict_chats=True``); the type defaults from the id."""
        chat_type = type or ("supergroup" if chat_id < 0 else "private")
        if chat_type not in ("private", "group", "supergroup", "channel"):
            raise ValueError(f"unknown chat type {chat_type!r}")
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = ChatInfo(id=chat_id, type=chat_type)
        chat.type = chat_type
        if title is not None:
            chat.title = title
        if username is not None:
            chat.username = username.lstrip("@")
        if chat_type == "private":
            user = self._users.get(chat_id)
            chat.first_name = (user or {}).get("first_name") or title or str(chat_id)
            chat.last_name = (user or {}).get("last_name")
            chat.username = chat.username or (user or {}).get("username")
        self._emit({"type": "chat", "chat": self._chat_snapshot(chat, with_messages=False)})
        return chat

    def register_user(
        self,
        user_id: int,
        first_name: str,
        username: str | None = None,
        language_code: str | None = "zh-hans",
        *,
        last_name: str | None = None,
    ) -> dict[str, Any]:
        """Make a user known; the dict is what appears as ``from`` in their updates."""
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username.lstrip("@")
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        chat = self._chats.get(user_id)
        if chat is not None and chat.type == "private":
            chat.first_name, chat.last_name = first_name, last_name
            chat.username = user.get("username")
        return user

    def chat(self, chat_id: int) -> ChatInfo:
        """The stored chat (KeyError if the stand-in has never seen it)."""
        return self._chats[chat_id]

    @property
    def chats(self) -> dict[int, ChatInfo]:
        return dict(self._chats)

    def user(self, user_id: int) -> dict[str, Any]:
        return self._users[user_id]

    def _ensure_user(self, user_id: int) -> dict[str, Any]:
        user = self._users.get(user_id)
        if user is None:
            user = self.register_user(user_id, f"User {user_id}", language_code=None)
        return user

    def _auto_chat(self, chat_id: int) -> ChatInfo:
        chat = ChatInfo(id=chat_id, type=chat_type_for_id(chat_id))
        if chat.type == "private":
            user = self._users.get(chat_id, {})
            chat.first_name = user.get("first_name") or str(chat_id)
            chat.last_name = user.get("last_name")
            chat.username = user.get("username")
        else:
            chat.title = f"Chat {chat_id}"
        self._chats[chat_id] = chat
        self._emit({"type": "chat", "chat": self._chat_snapshot(chat, with_messages=False)})
        return chat

    def _parse_chat_ref(self, params: _Params) -> int:
        raw = params.raw("chat_id")
        if raw is None or raw == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        if isinstance(raw, bool):
            raise ApiError(400, "Bad Request: chat not found")
        if isinstance(raw, int):
            return raw
        text = str(raw).strip()
        if text.startswith("@"):
            for chat in self._chats.values():
                if chat.username and chat.username.lower() == text[1:].lower():
                    return chat.id
            raise ApiError(400, "Bad Request: chat not found")
        try:
            return int(text)
        except ValueError:
            raise ApiError(400, "Bad Request: chat not found") from None

    def _chat_for_call(self, params: _Params) -> ChatInfo:
        """Resolve ``chat_id`` as Telegram does: migrated, unknown, or the bot kicked out."""
        chat_id = self._parse_chat_ref(params)
        chat = self._chats.get(chat_id)
        if chat is not None and chat.migrated_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if chat is None:
            if self.strict_chats:
                raise ApiError(400, "Bad Request: chat not found")
            chat = self._auto_chat(chat_id)
        if chat.kicked:
            raise ApiError(403, chat.kicked_description())
        return chat

    # ------------------------------------------------------------------ fault injection

    def fail_next(
        self,
        method: str,
        status: int,
        times: int | None = 1,
        description: str | None = None,
        retry_after: int | None = None,
        chat_id: int | str | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> Fault:
        """Answer the next ``times`` calls of ``method`` ("*" for any) with an error.

        ``times=None`` keeps failing until :meth:`clear_faults`. With ``chat_id`` only calls for
        that chat fail. A 429 gets ``retry_after`` (default 1) in its parameters and Telegram's
        "Too Many Requests: retry after N" text unless ``description`` is given.
        """
        if status == 429:
            retry_after = 1 if retry_after is None else retry_after
            text = description or f"Too Many Requests: retry after {retry_after}"
        else:
            text = description or _STATUS_TEXT.get(status, "Error")
        fault = Fault(
            method=method.lower(), status=status, description=text, remaining=times,
            retry_after=retry_after, chat_id=chat_id, parameters=parameters,
        )
        self._faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Drop all pending ``fail_next`` and ``hang`` injections and bring the server up."""
        self._faults.clear()
        self._hangs.clear()
        self._down = False

    def hang(self, method: str, seconds: float, times: int | None = 1) -> None:
        """Stall the next ``times`` calls of ``method`` for ``seconds`` before processing them."""
        self._hangs.append(_Hang(method.lower(), seconds, times))

    def set_down(self, down: bool = True) -> None:
        """While down, every request answers 502 Bad Gateway (as when Telegram's front is down)."""
        self._down = down

    def migrate_chat(self, old_id: int, new_id: int, *, announce: bool = False) -> ChatInfo:
        """Upgrade a group: calls to ``old_id`` now answer 400 with ``migrate_to_chat_id``.

        The new supergroup gets the old title. With ``announce`` the two service messages
        (``migrate_to_chat_id`` in the old chat, ``migrate_from_chat_id`` in the new one) are
        queued as updates, as Telegram sends them.
        """
        old = self._chats.get(old_id) or self._auto_chat(old_id)
        new = self._chats.get(new_id)
        if new is None:
            new = ChatInfo(id=new_id, type="supergroup", title=old.title, username=old.username)
            self._chats[new_id] = new
        new.migrated_from = old_id
        if announce:
            actor = next(iter(self._users.values()), {"id": 777000, "is_bot": False, "first_name": "Telegram"})
            for chat, service in ((old, {"migrate_to_chat_id": new_id}), (new, {"migrate_from_chat_id": old_id})):
                msg = self._add_message(chat, from_bot=False, sender=actor, kind="service", text="")
                msg.service = service
                self._queue_update({"message": msg.to_api()})
        old.migrated_to = new_id
        self._emit({"type": "chat", "chat": self._chat_snapshot(old, with_messages=False)})
        self._emit({"type": "chat", "chat": self._chat_snapshot(new, with_messages=False)})
        return new

    def kick_bot(self, chat_id: int, *, announce: bool = False, by_user_id: int | None = None) -> None:
        """Calls for this chat answer 403 until :meth:`unkick_bot`; updates from it stop."""
        chat = self._chats.get(chat_id) or self._auto_chat(chat_id)
        chat.kicked = True
        if announce:
            self._queue_member_update(chat, "kicked", by_user_id)
        self._emit({"type": "chat", "chat": self._chat_snapshot(chat, with_messages=False)})

    def unkick_bot(self, chat_id: int, *, announce: bool = False, by_user_id: int | None = None) -> None:
        chat = self._chats.get(chat_id) or self._auto_chat(chat_id)
        chat.kicked = False
        if announce:
            self._queue_member_update(chat, "member", by_user_id)
        self._emit({"type": "chat", "chat": self._chat_snapshot(chat, with_messages=False)})

    def _queue_member_update(self, chat: ChatInfo, status: str, by_user_id: int | None) -> None:
        actor = self._ensure_user(by_user_id) if by_user_id is not None else (
            next(iter(self._users.values()), None) or self._ensure_user(1)
        )
        old_status = "member" if status == "kicked" else "left"
        new_member: dict[str, Any] = {"status": status, "user": dict(BOT_USER)}
        if status == "kicked":
            new_member["until_date"] = 0
        update = {
            "my_chat_member": {
                "chat": chat.to_api(),
                "from": dict(actor),
                "date": int(self.wall_clock()),
                "old_chat_member": {"status": old_status, "user": dict(BOT_USER)},
                "new_chat_member": new_member,
            }
        }
        # A kicked bot still gets this one update about its own removal.
        self._queue_update(update)

    # ------------------------------------------------------------------ playing the users

    def _queue_update(self, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": self._next_update_id, **payload}
        self._next_update_id += 1
        self._updates.append(update)
        self._notify()
        return update

    def _chat_for_update(self, chat_id: int) -> ChatInfo:
        chat = self._chats.get(chat_id)
        if chat is not None and chat.migrated_to is not None:
            raise ValueError(f"chat {chat_id} was migrated to {chat.migrated_to}; use the new id")
        return chat or self._auto_chat(chat_id)

    def _bot_would_see(self, chat: ChatInfo, msg: StoredMessage) -> bool:
        """Whether Telegram delivers this user message to the bot (kicked; privacy mode)."""
        if chat.kicked:
            return False
        if not self.privacy_mode or not chat.is_group:
            return True
        if msg.reply_to is not None and msg.reply_to.from_bot:
            return True
        for ent in msg.entities:
            piece = _utf16_slice(msg.text, ent["offset"], ent["length"])
            if ent["type"] == "bot_command" and ent["offset"] == 0:
                if "@" not in piece or piece.split("@", 1)[1].lower() == BOT_USERNAME:
                    return True
            if ent["type"] == "mention" and piece.lower() == "@" + BOT_USERNAME:
                return True
        return False

    def inject_message(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        reply_to_message_id: int | None = None,
        *,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A user writes ``text`` in a chat; returns the ``Message`` dict and queues its Update.

        Entities (``bot_command`` for ``/claim 3`` or ``/claim@liuyan_bot 3``, mentions, hashtags,
        URLs) are detected as Telegram does unless given. The message is stored (and shows in
        ``chats_snapshot``) even when the bot would not receive it (kicked, privacy mode).
        """
        chat = self._chat_for_update(chat_id)
        user = self._ensure_user(user_id)
        if chat.type == "private" and chat.id != user_id:
            raise ValueError(f"private chat {chat_id} belongs to user {chat_id}, not {user_id}")
        reply_to = None
        if reply_to_message_id is not None:
            reply_to = chat.messages.get(reply_to_message_id)
            if reply_to is None or reply_to.deleted:
                raise ValueError(f"no message {reply_to_message_id} in chat {chat_id} to reply to")
        ents = [dict(e) for e in entities] if entities is not None else find_auto_entities(text)
        msg = self._add_message(chat, from_bot=False, sender=user, kind="text", text=text, entities=ents, reply_to=reply_to)
        api = msg.to_api()
        if self._bot_would_see(chat, msg):
            self._queue_update({"message": api})
        self._emit({"type": "message", "chat_id": chat.id, "message": msg.snapshot()})
        return api

    def inject_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw Update payload (without ``update_id``) for anything the helpers lack."""
        return self._queue_update(copy.deepcopy(update))

    def press_button(self, chat_id: int, message_id: int, user_id: int, data: str, *, check: bool = True) -> str:
        """A user presses an inline button; returns the ``callback_query`` id.

        Telegram only forwards data that is on one of the message's buttons (``DATA_INVALID``
        otherwise), so by default pressing a button that is not there raises ValueError;
        ``check=False`` skips that to simulate stale or forged presses.
        """
        chat = self._chat_for_update(chat_id)
        msg = chat.messages.get(message_id)
        if msg is None or msg.deleted:
            raise ValueError(f"no message {message_id} in chat {chat_id}")
        if check and data not in msg.callback_data():
            raise ValueError(f"message {message_id} in chat {chat_id} has no button with data {data!r}; it has {msg.callback_data()}")
        user = self._ensure_user(user_id)
        query_id = str(next(self._callback_seq))
        self._callbacks[query_id] = CallbackRecord(query_id, chat_id, message_id, user_id, data, self.clock())
        if not chat.kicked:
            self._queue_update(
                {
                    "callback_query": {
                        "id": query_id,
                        "from": dict(user),
                        "message": msg.to_api(),
                        "chat_instance": str(abs(chat_id) * 31 + 7),
                        "data": data,
                    }
                }
            )
        return query_id

    def callback_answer(self, callback_query_id: str) -> dict[str, Any] | None:
        """The bot's answerCallbackQuery for this press, or None if not answered yet."""
        record = self._callbacks.get(callback_query_id)
        if record is None:
            raise KeyError(f"unknown callback query {callback_query_id!r}")
        return record.answer

    async def wait_callback_answer(self, callback_query_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """Wait until the bot answers this button press; TimeoutError otherwise."""
        record = self._callbacks.get(callback_query_id)
        if record is None:
            raise KeyError(f"unknown callback query {callback_query_id!r}")
        if not await self._wait_until(lambda: record.answer is not None, timeout):
            raise TimeoutError(
                f"callback query {callback_query_id} (data {record.data!r}) was not answered within {timeout}s\n"
                + self.describe()
            )
        assert record.answer is not None
        return record.answer

    @property
    def callback_queries(self) -> list[CallbackRecord]:
        return list(self._callbacks.values())

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by the bot (via a later getUpdates offset or webhook 2xx)."""
        return list(self._updates)

    # ------------------------------------------------------------------ looking at what the bot did

    def messages(self, chat_id: int, *, include_users: bool = False, include_deleted: bool = False) -> list[StoredMessage]:
        """The bot's messages in a chat, oldest first (users' messages too with ``include_users``)."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [
            m for m in chat.messages.values()
            if (include_users or m.from_bot) and (include_deleted or not m.deleted)
        ]

    def message(self, chat_id: int, message_id: int) -> StoredMessage:
        return self._chats[chat_id].messages[message_id]

    def last_message(self, chat_id: int) -> StoredMessage | None:
        msgs = self.messages(chat_id)
        return msgs[-1] if msgs else None

    def all_messages(self) -> list[StoredMessage]:
        """Every message the bot sent, in sending order across chats."""
        out = [m for chat in self._chats.values() for m in chat.messages.values() if m.from_bot]
        order = {(r.chat_id, r.message_id): i for i, r in enumerate(self.sent_log) if r.method != "deleteMessage"}
        return sorted(out, key=lambda m: order.get((m.chat_id, m.message_id), 0))

    def file(self, file_id: str) -> StoredFile:
        return self._files[file_id]

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, str]]:
        """Commands set with setMyCommands for a scope (default scope when None)."""
        return list(self._commands.get((_scope_key(scope), language_code or ""), []))

    @property
    def webhook_url(self) -> str | None:
        return self._webhook.url if self._webhook else None

    async def wait_for(self, predicate: Callable[[BotApiStandin], Any], timeout: float = 5.0) -> Any:
        """Wait (on change events, not by polling) until ``predicate(self)`` is truthy; return it.

        Raises TimeoutError listing what every chat holds, so a failing test says what the bot did
        instead of what it did not.
        """
        result: list[Any] = []

        def check() -> bool:
            value = predicate(self)
            if value:
                result.append(value)
                return True
            return False

        if not await self._wait_until(check, timeout):
            raise TimeoutError(f"condition not met within {timeout}s; the stand-in holds:\n{self.describe()}")
        return result[-1]

    async def wait_for_message(
        self,
        chat_id: int,
        contains: str | None = None,
        timeout: float = 5.0,
        *,
        after_id: int = 0,
        predicate: Callable[[StoredMessage], bool] | None = None,
    ) -> StoredMessage:
        """The first bot message in ``chat_id`` (with id > ``after_id``) containing ``contains``."""

        def find(_: BotApiStandin) -> StoredMessage | None:
            for msg in self.messages(chat_id):
                if msg.message_id <= after_id:
                    continue
                if contains is not None and contains not in msg.text:
                    continue
                if predicate is not None and not predicate(msg):
                    continue
                return msg
            return None

        try:
            return await self.wait_for(find, timeout)
        except TimeoutError:
            what = f"containing {contains!r}" if contains is not None else "at all"
            raise TimeoutError(
                f"no bot message {what} in chat {chat_id} (after id {after_id}) within {timeout}s; "
                f"the stand-in holds:\n{self.describe()}"
            ) from None

    def describe(self) -> str:
        """Human-readable dump of chats and messages, for failure messages."""
        lines: list[str] = []
        if not self._chats:
            lines.append("  (no chats)")
        for chat in self._chats.values():
            flags = []
            if chat.kicked:
                flags.append("bot kicked")
            if chat.migrated_to is not None:
                flags.append(f"migrated to {chat.migrated_to}")
            extra = f" [{', '.join(flags)}]" if flags else ""
            lines.append(f"  chat {chat.id} {chat.title or chat.first_name or ''!r} ({chat.type}){extra}:")
            if not chat.messages:
                lines.append("    (no messages)")
            for msg in chat.messages.values():
                who = "bot" if msg.from_bot else f"user {msg.sender.get('id')}"
                text = msg.text if len(msg.text) <= 120 else msg.text[:117] + "..."
                text = text.replace("\n", "\\n")
                bits = [f"    #{msg.message_id} {who} {msg.kind}: {text!r}"]
                if msg.buttons:
                    bits.append("buttons=" + "|".join(b.get("text", "") for row in msg.buttons for b in row))
                if msg.edit_count:
                    bits.append(f"edited x{msg.edit_count}")
                if msg.deleted:
                    bits.append("deleted")
                if msg.file:
                    bits.append(f"file={msg.file.file_name}")
                lines.append(" ".join(bits))
        lines.append(f"  pending updates: {len(self._updates)}; 429s answered: {self.stats['429']}")
        return "\n".join(lines)

    def _chat_snapshot(self, chat: ChatInfo, *, with_messages: bool = True) -> dict[str, Any]:
        snap: dict[str, Any] = {
            "id": chat.id,
            "type": chat.type,
            "title": chat.title if chat.type != "private" else chat.first_name,
            "username": chat.username,
            "migrated_to": chat.migrated_to,
            "migrated_from": chat.migrated_from,
            "bot_kicked": chat.kicked,
        }
        if with_messages:
            snap["messages"] = [m.snapshot() for m in chat.messages.values() if not m.deleted]
        return snap

    def chats_snapshot(self) -> dict[str, Any]:
        """JSON-able view of every chat with its messages (parsed text, entities, buttons).

        This is the user's view that the demo's web chat page renders; ``subscribe()`` gives the
        changes as they happen.
        """
        return {
            "bot": dict(BOT_USER),
            "chats": [self._chat_snapshot(chat) for chat in self._chats.values()],
            "users": [dict(u) for u in self._users.values()],
            "callback_answers": [
                {"callback_query_id": r.id, "chat_id": r.chat_id, "message_id": r.message_id,
                 "user_id": r.user_id, "data": r.data, "answer": r.answer}
                for r in self._callbacks.values()
            ],
        }

    user_view = chats_snapshot

    def reset_limits(self) -> None:
        """Forget past sends for the flood limits (e.g. between benchmark phases)."""
        self.limiter.reset()

    # ------------------------------------------------------------------ message plumbing

    def _add_message(
        self,
        chat: ChatInfo,
        *,
        from_bot: bool,
        sender: dict[str, Any],
        kind: str,
        text: str,
        html: str | None = None,
        parse_mode: str | None = None,
        entities: list[dict[str, Any]] | None = None,
        reply_markup: dict[str, Any] | None = None,
        sent_reply_markup: dict[str, Any] | None = None,
        reply_to: StoredMessage | None = None,
        file: StoredFile | None = None,
    ) -> StoredMessage:
        msg = StoredMessage(
            message_id=chat.next_message_id,
            chat_id=chat.id,
            date=int(self.wall_clock()),
            from_bot=from_bot,
            sender=dict(sender),
            kind=kind,
            text=text,
            html=html,
            parse_mode=parse_mode,
            entities=entities or [],
            reply_markup=reply_markup,
            sent_reply_markup=sent_reply_markup,
            reply_to_message_id=reply_to.message_id if reply_to else None,
            file=file,
            chat=chat,
            reply_to=reply_to,
        )
        chat.next_message_id += 1
        chat.messages[msg.message_id] = msg
        return msg

    def _format(self, params: _Params, text_key: str, entities_key: str, *, caption: bool) -> tuple[str, str, str | None, list[dict[str, Any]]]:
        """Parse text/caption as Telegram does -> (visible, raw, parse_mode, entities)."""
        raw = params.get_str(text_key) or ""
        parse_mode = params.get_str("parse_mode") or None
        explicit = params.get_json(entities_key) if params.has(entities_key) else None
        if explicit is not None:
            if not isinstance(explicit, list) or not all(
                isinstance(e, dict) and isinstance(e.get("type"), str)
                and isinstance(e.get("offset"), int) and isinstance(e.get("length"), int)
                for e in explicit
            ):
                raise ApiError(400, f"Bad Request: can't parse {entities_key.replace('_', ' ')} JSON object")
            visible, ents = raw, [dict(e) for e in explicit]
        elif parse_mode:
            mode = parse_mode.lower()
            if mode == "html":
                try:
                    visible, ents = parse_html(raw, strict_entities=self.strict_entities)
                except EntityParseError as exc:
                    raise ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
            elif mode in ("markdown", "markdownv2"):
                raise ApiError(
                    400,
                    "Bad Request: can't parse entities: the Bot API stand-in implements only the HTML parse mode",
                )
            else:
                raise ApiError(400, "Bad Request: unsupported parse_mode")
        else:
            visible, ents = raw, []
        visible, ents = finish_text(visible, ents, autodetect=self.autodetect_entities)
        length = utf16_len(visible)
        if caption:
            if length > CAPTION_LIMIT:
                raise ApiError(400, "Bad Request: message caption is too long")
        else:
            if not visible:
                raise ApiError(400, "Bad Request: message text is empty")
            if length > TEXT_LIMIT:
                raise ApiError(400, "Bad Request: message is too long")
        return visible, raw, parse_mode, ents

    def _markup(self, params: _Params) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """Validate ``reply_markup`` -> (inline keyboard as stored, markup as sent)."""
        if not params.has("reply_markup"):
            return None, None
        obj = params.get_json("reply_markup")
        if not isinstance(obj, dict):
            raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in obj:
            if not any(k in obj for k in ("keyboard", "remove_keyboard", "force_reply")):
                raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
            return None, obj
        keyboard = obj["inline_keyboard"]
        if not isinstance(keyboard, list) or not all(isinstance(row, list) for row in keyboard):
            raise ApiError(400, 'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
        rows: list[list[dict[str, Any]]] = []
        count = 0
        for row in keyboard:
            out_row = []
            for button in row:
                if not isinstance(button, dict):
                    raise ApiError(400, "Bad Request: can't parse inline keyboard button: InlineKeyboardButton must be an Object")
                text = button.get("text")
                if not isinstance(text, str):
                    raise ApiError(400, "Bad Request: can't parse inline keyboard button: Field \"text\" must be of type String")
                if not any(button.get(k) is not None for k in _BUTTON_ACTIONS):
                    raise ApiError(400, "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
                if button.get("callback_data") is not None:
                    data = button["callback_data"]
                    if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= CALLBACK_DATA_LIMIT:
                        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                if button.get("url") is not None:
                    url = str(button["url"])
                    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
                    if scheme not in ("http", "https", "tg") or any(ch.isspace() for ch in url):
                        raise ApiError(400, f"Bad Request: inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
                if not text.strip():
                    raise ApiError(400, "Bad Request: BUTTON_TEXT_INVALID")
                out_row.append({k: v for k, v in button.items() if v is not None})
                count += 1
            if out_row:
                rows.append(out_row)
        if count > 100:
            raise ApiError(400, "Bad Request: REPLY_MARKUP_TOO_LONG")
        return ({"inline_keyboard": rows} if rows else None), obj

    def _reply_target(self, chat: ChatInfo, params: _Params) -> StoredMessage | None:
        allow = params.get_bool("allow_sending_without_reply")
        message_id: Any = None
        reply = params.get_json("reply_parameters") if params.has("reply_parameters") else None
        if isinstance(reply, dict):
            message_id = reply.get("message_id")
            allow = bool(reply.get("allow_sending_without_reply", allow))
        elif params.has("reply_to_message_id"):
            message_id = params.get_int("reply_to_message_id")
        if message_id is None:
            return None
        try:
            target = chat.messages.get(int(message_id))
        except (TypeError, ValueError):
            target = None
        if target is not None and not target.deleted:
            return target
        if allow:
            return None
        raise ApiError(400, "Bad Request: message to be replied not found")

    def _rate_check(self, chat: ChatInfo, *, send: bool) -> None:
        if not self.enforce_limits:
            return
        chat_key = chat.id if chat.is_group and (send or self.count_edits) else None
        wait = self.limiter.check(chat_key, global_=send)
        if wait > 0:
            seconds = retry_after_seconds(wait)
            self.stats["429_limit"] += 1
            raise ApiError(429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds})

    def _rate_record(self, chat: ChatInfo, *, send: bool) -> None:
        if not self.enforce_limits:
            return
        chat_key = chat.id if chat.is_group and (send or self.count_edits) else None
        self.limiter.record(chat_key, global_=send)

    def _log_sent(self, method: str, msg: StoredMessage) -> None:
        self.sent_log.append(SentRecord(self.clock(), int(self.wall_clock()), method, msg.chat_id, msg.message_id))

    def _store_upload(self, params: _Params, field_name: str, *, photo: bool) -> StoredFile:
        upload = params.files.get(field_name)
        if upload is None:
            ref = params.get_str(field_name)
            if not ref:
                raise ApiError(400, f"Bad Request: there is no {field_name} in the request")
            if ref.startswith("attach://"):
                upload = params.files.get(ref[len("attach://"):])
                if upload is None:
                    raise ApiError(400, f"Bad Request: file {ref} not found")
            elif ref in self._files:
                return self._files[ref]
            elif ref.startswith(("http://", "https://")):
                raise ApiError(400, "Bad Request: failed to get HTTP URL content")
            else:
                raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        if not upload.data:
            raise ApiError(400, "Bad Request: file must be non-empty")
        width = height = None
        if photo:
            if len(upload.data) > PHOTO_MAX_BYTES:
                raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
            size = image_size(upload.data)
            if size is None:
                raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
            width, height = size
            if width <= 0 or height <= 0 or width + height > 10000 or max(width, height) > 20 * min(width, height):
                raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        elif len(upload.data) > DOCUMENT_MAX_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        seq = next(self._file_seq)
        mime = upload.content_type
        if not mime or mime == "application/octet-stream":
            mime = (mimetypes.guess_type(upload.filename or "")[0] if upload.filename else None) or mime
        folder, prefix = ("photos", "AgACAgIAAxk") if photo else ("documents", "BQACAgIAAxk")
        ext = ""
        if upload.filename and "." in upload.filename:
            ext = "." + upload.filename.rsplit(".", 1)[1]
        elif photo:
            ext = ".jpg"
        stored = StoredFile(
            file_id=f"{prefix}{seq:012d}standin",
            file_unique_id=f"AQAD{seq:08d}",
            data=upload.data,
            file_name=None if photo else (upload.filename or None),
            mime_type=None if photo else mime,
            width=width,
            height=height,
            file_path=f"{folder}/file_{seq}{ext}",
        )
        self._files[stored.file_id] = stored
        return stored

    # ------------------------------------------------------------------ Bot API methods

    async def _m_getMe(self, p: _Params) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": not self.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _m_close(self, p: _Params) -> bool:
        return True

    async def _m_logOut(self, p: _Params) -> bool:
        return True

    def _allowed(self, update: dict[str, Any]) -> bool:
        allowed = self._allowed_updates or list(_DEFAULT_UPDATE_TYPES)
        return any(key in update for key in allowed)

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        # Updates of types the bot did not ask for are forgotten, as on Telegram.
        self._updates = [u for u in self._updates if self._allowed(u)]

    async def _m_getUpdates(self, p: _Params) -> list[dict[str, Any]]:
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
            )
        offset = p.get_int("offset") or 0
        limit = min(max(p.get_int("limit") or 100, 1), 100)
        timeout = max(p.get_float("timeout") or 0.0, 0.0)
        if p.has("allowed_updates"):
            allowed = p.get_json("allowed_updates")
            if isinstance(allowed, list):
                self._allowed_updates = [str(a) for a in allowed] or None
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # a long poll still waiting from before is terminated (409), as on Telegram
        await self._wait_until(
            lambda: generation != self._poll_generation or self._closing or bool(self._updates),
            timeout,
        )
        if p.client_gone():
            return []  # a poll the client abandoned: nobody reads this answer, so no 409 either
        if generation != self._poll_generation:
            raise ApiError(409, _STATUS_TEXT[409])
        self._confirm(0)
        return copy.deepcopy(self._updates[:limit])

    async def _m_setWebhook(self, p: _Params) -> Any:
        url = p.get_str("url") or ""
        if not url:
            return await self._m_deleteWebhook(p)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise ApiError(400, "Bad Request: bad webhook: the stand-in delivers only to http(s)://127.0.0.1 or localhost")
        secret = p.get_str("secret_token")
        if secret is not None and not _SECRET_RE.match(secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if p.get_bool("drop_pending_updates"):
            self._updates.clear()
        allowed = p.get_json("allowed_updates") if p.has("allowed_updates") else None
        if isinstance(allowed, list):
            self._allowed_updates = [str(a) for a in allowed] or None
        self._webhook = _Webhook(
            url=url,
            secret_token=secret,
            max_connections=p.get_int("max_connections") or 40,
            allowed_updates=self._allowed_updates,
        )
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.get_running_loop().create_task(self._deliver_webhooks())
        self._notify()
        return _WithDescription(True, "Webhook was set")

    async def _m_deleteWebhook(self, p: _Params) -> Any:
        if p.get_bool("drop_pending_updates"):
            self._updates.clear()
        had = self._webhook is not None
        self._webhook = None
        self._notify()
        return _WithDescription(True, "Webhook was deleted" if had else "Webhook is already deleted")

    async def _m_getWebhookInfo(self, p: _Params) -> dict[str, Any]:
        hook = self._webhook
        info: dict[str, Any] = {
            "url": hook.url if hook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if hook is not None:
            info["max_connections"] = hook.max_connections
            info["ip_address"] = "127.0.0.1"
            if hook.allowed_updates:
                info["allowed_updates"] = hook.allowed_updates
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info

    async def _deliver_webhooks(self) -> None:
        """POST queued updates one by one to the webhook, in order; retry on failure."""
        async with ClientSession(timeout=ClientTimeout(total=10)) as session:
            while not self._closing:
                hook = self._webhook
                if hook is None or not self._updates:
                    await self._wait_until(
                        lambda: self._closing or (self._webhook is not None and bool(self._updates)), None
                    )
                    continue
                self._confirm(0)
                if not self._updates:
                    continue
                update = self._updates[0]
                headers = {"Content-Type": "application/json"}
                if hook.secret_token:
                    headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
                error: str | None
                try:
                    async with session.post(hook.url, data=json.dumps(update, ensure_ascii=False).encode(), headers=headers) as resp:
                        await resp.read()
                        error = None if 200 <= resp.status < 300 else f"Wrong response from the webhook: {resp.status} {resp.reason}"
                except (ClientError, TimeoutError, OSError) as exc:
                    error = f"Connection failed: {exc.__class__.__name__}"
                self.webhook_log.append({"update_id": update["update_id"], "url": hook.url, "error": error})
                if error is None:
                    if self._updates and self._updates[0] is update:
                        self._updates.pop(0)
                    hook.delivered += 1
                    self._notify()
                else:
                    hook.last_error_date = int(self.wall_clock())
                    hook.last_error_message = error
                    self._notify()
                    await self._wait_until(lambda: self._closing or self._webhook is not hook, self.webhook_retry_delay)

    async def _m_setMyCommands(self, p: _Params) -> bool:
        commands = p.get_json("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: too many commands specified")
        clean = []
        for item in commands:
            if not isinstance(item, dict):
                raise ApiError(400, "Bad Request: can't parse BotCommand: BotCommand must be an Object")
            command = str(item.get("command", "")).lstrip("/")
            description = str(item.get("description", ""))
            if not _COMMAND_RE.match(command):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise ApiError(400, "Bad Request: command description must be non-empty")
            clean.append({"command": command, "description": description})
        key = (_scope_key(p.get_json("scope")), p.get_str("language_code") or "")
        if clean:
            self._commands[key] = clean
        else:
            self._commands.pop(key, None)
        return True

    async def _m_getMyCommands(self, p: _Params) -> list[dict[str, str]]:
        return self.commands(p.get_json("scope"), p.get_str("language_code") or "")

    async def _m_deleteMyCommands(self, p: _Params) -> bool:
        self._commands.pop((_scope_key(p.get_json("scope")), p.get_str("language_code") or ""), None)
        return True

    async def _m_sendMessage(self, p: _Params) -> dict[str, Any]:
        chat = self._chat_for_call(p)
        visible, raw, parse_mode, ents = self._format(p, "text", "entities", caption=False)
        inline, sent_markup = self._markup(p)
        reply_to = self._reply_target(chat, p)
        self._rate_check(chat, send=True)
        msg = self._add_message(
            chat, from_bot=True, sender=BOT_USER, kind="text", text=visible, html=raw,
            parse_mode=parse_mode, entities=ents, reply_markup=inline, sent_reply_markup=sent_markup,
            reply_to=reply_to,
        )
        return self._after_send("sendMessage", chat, msg)

    def _after_send(self, method: str, chat: ChatInfo, msg: StoredMessage) -> dict[str, Any]:
        self._rate_record(chat, send=True)
        self._log_sent(method, msg)
        self._emit({"type": "message", "chat_id": chat.id, "message": msg.snapshot()})
        return msg.to_api()

    async def _send_media(self, p: _Params, method: str, field_name: str) -> dict[str, Any]:
        chat = self._chat_for_call(p)
        photo = field_name == "photo"
        visible, raw, parse_mode, ents = self._format(p, "caption", "caption_entities", caption=True)
        inline, sent_markup = self._markup(p)
        reply_to = self._reply_target(chat, p)
        stored = self._store_upload(p, field_name, photo=photo)
        self._rate_check(chat, send=True)
        msg = self._add_message(
            chat, from_bot=True, sender=BOT_USER, kind=field_name, text=visible,
            html=raw if p.has("caption") else None, parse_mode=parse_mode, entities=ents,
            reply_markup=inline, sent_reply_markup=sent_markup, reply_to=reply_to, file=stored,
        )
        return self._after_send(method, chat, msg)

    async def _m_sendPhoto(self, p: _Params) -> dict[str, Any]:
        return await self._send_media(p, "sendPhoto", "photo")

    async def _m_sendDocument(self, p: _Params) -> dict[str, Any]:
        return await self._send_media(p, "sendDocument", "document")

    def _message_to_edit(self, p: _Params) -> tuple[ChatInfo, StoredMessage]:
        if p.has("inline_message_id") and not p.has("chat_id"):
            raise ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        chat = self._chat_for_call(p)
        message_id = p.get_int("message_id", error="Bad Request: message identifier is not specified")
        if message_id is None:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        msg = chat.messages.get(message_id)
        if msg is None or msg.deleted:
            raise ApiError(400, "Bad Request: message to edit not found")
        if not msg.from_bot:
            raise ApiError(400, "Bad Request: message can't be edited")
        return chat, msg

    def _apply_edit(
        self, method: str, chat: ChatInfo, msg: StoredMessage, *, text: str, html: str | None,
        parse_mode: str | None, entities: list[dict[str, Any]], inline: dict[str, Any] | None,
        sent_markup: dict[str, Any] | None,
    ) -> dict[str, Any]:
        if text == msg.text and entities == msg.entities and inline == msg.reply_markup:
            raise ApiError(400, _NOT_MODIFIED)
        self._rate_check(chat, send=False)
        msg.history.append(
            {
                "text": msg.text, "html": msg.html, "parse_mode": msg.parse_mode,
                "entities": msg.entities, "reply_markup": msg.reply_markup,
                "edit_date": msg.edit_date,
            }
        )
        msg.text, msg.html, msg.parse_mode, msg.entities = text, html, parse_mode, entities
        msg.reply_markup, msg.sent_reply_markup = inline, sent_markup
        msg.edit_count += 1
        msg.edit_date = int(self.wall_clock())
        self._rate_record(chat, send=False)
        self._log_sent(method, msg)
        self._emit({"type": "edit", "chat_id": chat.id, "message": msg.snapshot()})
        return msg.to_api()

    async def _m_editMessageText(self, p: _Params) -> dict[str, Any]:
        chat, msg = self._message_to_edit(p)
        if msg.kind != "text":
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        visible, raw, parse_mode, ents = self._format(p, "text", "entities", caption=False)
        inline, sent_markup = self._markup(p)
        return self._apply_edit(
            "editMessageText", chat, msg, text=visible, html=raw, parse_mode=parse_mode,
            entities=ents, inline=inline, sent_markup=sent_markup,
        )

    async def _m_editMessageCaption(self, p: _Params) -> dict[str, Any]:
        chat, msg = self._message_to_edit(p)
        if msg.kind not in ("photo", "document"):
            raise ApiError(400, "Bad Request: there is no caption in the message to edit")
        visible, raw, parse_mode, ents = self._format(p, "caption", "caption_entities", caption=True)
        inline, sent_markup = self._markup(p)
        return self._apply_edit(
            "editMessageCaption", chat, msg, text=visible, html=raw if p.has("caption") else None,
            parse_mode=parse_mode, entities=ents, inline=inline, sent_markup=sent_markup,
        )

    async def _m_editMessageReplyMarkup(self, p: _Params) -> dict[str, Any]:
        chat, msg = self._message_to_edit(p)
        inline, sent_markup = self._markup(p)
        return self._apply_edit(
            "editMessageReplyMarkup", chat, msg, text=msg.text, html=msg.html,
            parse_mode=msg.parse_mode, entities=msg.entities, inline=inline, sent_markup=sent_markup,
        )

    async def _m_deleteMessage(self, p: _Params) -> bool:
        chat = self._chat_for_call(p)
        message_id = p.get_int("message_id", error="Bad Request: message identifier is not specified")
        if message_id is None:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        msg = chat.messages.get(message_id)
        if msg is None or msg.deleted:
            raise ApiError(400, "Bad Request: message to delete not found")
        msg.deleted = True
        self._log_sent("deleteMessage", msg)
        self._emit({"type": "delete", "chat_id": chat.id, "message_id": message_id, "message": msg.snapshot()})
        return True

    async def _m_answerCallbackQuery(self, p: _Params) -> bool:
        query_id = p.get_str("callback_query_id") or ""
        record = self._callbacks.get(query_id)
        if record is None or record.answer is not None:
            raise ApiError(400, _QUERY_INVALID)
        if self.callback_query_ttl is not None and self.clock() - record.created > self.callback_query_ttl:
            raise ApiError(400, _QUERY_INVALID)
        text = p.get_str("text")
        if text is not None and len(text) > CALLBACK_ANSWER_LIMIT:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        record.answer = {
            "text": text,
            "show_alert": p.get_bool("show_alert"),
            "url": p.get_str("url"),
            "cache_time": p.get_int("cache_time") or 0,
        }
        self._emit(
            {
                "type": "callback_answer", "callback_query_id": query_id, "chat_id": record.chat_id,
                "message_id": record.message_id, "user_id": record.user_id, "answer": dict(record.answer),
            }
        )
        return True

    async def _m_sendChatAction(self, p: _Params) -> bool:
        self._chat_for_call(p)
        action = p.get_str("action")
        if not action:
            raise ApiError(400, "Bad Request: action is empty")
        if action not in _CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    async def _m_getChat(self, p: _Params) -> dict[str, Any]:
        chat = self._chat_for_call(p)
        info = chat.to_api()
        info.update(
            {
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                    "premium_subscription": False, "gifts_from_channels": False,
                },
            }
        )
        return info

    async def _m_getFile(self, p: _Params) -> dict[str, Any]:
        file_id = p.get_str("file_id") or ""
        stored = self._files.get(file_id)
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }


def _scope_key(scope: Any) -> str:
    if not scope:
        return "default"
    if isinstance(scope, str):
        try:
            scope = json.loads(scope)
        except ValueError:
            return scope
    if isinstance(scope, dict):
        if scope.get("type") == "default":  # Telegram treats the explicit default scope as no scope
            return "default"
        return json.dumps(scope, sort_keys=True)
    return str(scope)


def _utf16_slice(text: str, offset: int, length: int) -> str:
    encoded = text.encode("utf-16-le")
    return encoded[offset * 2 : (offset + length) * 2].decode("utf-16-le", "replace")
