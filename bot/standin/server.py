"""A local stand-in of the Telegram Bot API on 127.0.0.1, for tests, benchmarks and ``liuyan demo``.

Why a stand-in and not mocks: the bot talks to Telegram through python-telegram-bot's real HTTP
client, and most production failures live exactly there - HTML that Telegram cannot parse, a card
over 4,096 UTF-16 units, ``callback_data`` over 64 bytes, flood limits (429), a group upgraded to a
supergroup, the bot kicked from a chat, an edit that changes nothing, a forum topic closed by hand.
The stand-in answers like Telegram in all of these cases, byte for byte where the bot might match on
the wording, and lets a test play the users (``inject_message``, ``press_button``, ``close_topic``)
and look at what the bot did (``messages``, ``wait_for_message``, ``chats_snapshot``).

How it is put together:

* :mod:`bot.standin.world` - the state (chats, the bot's membership, messages, topics, updates);
  :mod:`bot.standin.people` - what people in the chats do to it;
* :mod:`bot.standin.methods` - the Bot API methods, one module per family;
* :mod:`bot.standin.faults` - injected errors, hangs and outages;
* :mod:`bot.standin.driver` - the same control over HTTP, for scripts (``/driver/...``);
* this module - the HTTP front that dispatches ``/bot<token>/<method>`` and the lifecycle.

Choices worth knowing:

* Flood limits are strict sliding windows (see :mod:`bot.standin.limits`): per group/supergroup
  chat at most 20 messages in any 60 s, counting ``sendMessage``, ``sendPhoto``, ``sendDocument``
  and - unless ``count_edits=False`` - ``editMessageText``, ``editMessageCaption`` and
  ``editMessageReplyMarkup`` (Telegram's own limits on edits are undocumented but real; counting
  them is the cautious choice). Overall at most 30 *sends* per second across all chats (edits do
  not count there). Private chats have no per-chat limit here. Topic calls are not counted.
* ``editMessageText`` without ``reply_markup`` removes the inline keyboard, as on Telegram.
* Telegram keeps a stray ``&`` literally; the stand-in rejects it unless ``strict_entities=False``
  (see :mod:`bot.standin.html`). MarkdownV2 is not implemented and answers 400.
* After a ``hang``, the request is processed normally, as Telegram would: a client that timed out
  may still have sent the message - which is exactly what a retrying client must cope with.
* The bot sits in every group as an administrator with the usual rights unless a test says
  otherwise (``register_chat(bot_status=...)``, ``set_bot_member``).
* Call the test-facing methods from the event loop the server runs on; they are synchronous but
  wake waiters through asyncio events.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable
from typing import Any, Self

from aiohttp import web

from .driver import add_driver_routes
from .faults import Fault, Faults
from .limits import FakeClock, RateLimiter
from .methods import METHODS, Handler
from .methods.bot import scope_key
from .methods.files import DOCUMENT_MAX_BYTES
from .methods.updates import Webhook
from .models import RequestRecord
from .people import People
from .protocol import (
    ApiError,
    WithDescription,
    error_response,
    json_response,
    read_params,
)

__all__ = ["ApiError", "BotApiStandin", "FakeClock", "Fault"]

_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")


class BotApiStandin(People):
    """The stand-in server. Use ``async with BotApiStandin() as api:`` or ``start()``/``stop()``.

    Point PTB at it with ``Application.builder().token(T).base_url(api.base_url)`` or
    ``telegram.Bot(T, base_url=api.base_url)``; any token of the form ``digits:chars`` is accepted
    unless ``tokens`` restricts them (others then get 401 Unauthorized, as a revoked token does;
    a string that is not shaped like a token gets 404 Not Found, as on Telegram).
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
        super().__init__(clock=clock, wall_clock=wall_clock, privacy_mode=privacy_mode)
        self.host = "127.0.0.1"
        self._requested_port = port
        self.port: int | None = None
        self.strict_chats = strict_chats
        self.enforce_limits = enforce_limits
        self.strict_entities = strict_entities
        self.autodetect_entities = autodetect_entities
        self.count_edits = count_edits
        self.tokens = set(tokens) if tokens else None
        self.callback_query_ttl = callback_query_ttl
        self.webhook_retry_delay = webhook_retry_delay
        self.limiter = RateLimiter(clock, per_chat=group_rate, overall=global_rate)
        self.faults = Faults()
        #: Answer the next calls of a method with an error (see :meth:`Faults.fail_next`).
        self.fail_next = self.faults.fail_next

        self.request_log: list[RequestRecord] = []
        self.webhook_log: list[dict[str, Any]] = []
        self._allowed_updates: list[str] | None = None
        self._poll_generation = 0
        self._commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self._webhook: Webhook | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self._methods: dict[str, tuple[str, Handler]] = {name.lower(): (name, h) for name, h in METHODS.items()}

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> Self:
        """Bind to 127.0.0.1 (port 0 picks a free one) and start answering."""
        app = web.Application(client_max_size=DOCUMENT_MAX_BYTES + 10 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        add_driver_routes(app, self)
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
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
            self._webhook_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
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

    @property
    def driver_url(self) -> str:
        """Root of the HTTP driver (see :mod:`bot.standin.driver`)."""
        return f"{self.url}/driver"

    # ------------------------------------------------------------------ the Bot API over HTTP

    async def _handle_other(self, request: web.Request) -> web.Response:
        return json_response({"ok": False, "error_code": 404, "description": "Not Found"}, 404)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        for stored in self._files.values():
            if stored.file_path == path:
                return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")
        return json_response({"ok": False, "error_code": 404, "description": "Not Found"}, 404)

    async def _handle(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        self.stats["requests"] += 1
        chat_ref: int | str | None = None
        try:
            if not _TOKEN_RE.match(token):
                raise ApiError(404, "Not Found")
            params = await read_params(request)
            chat_ref = params.raw("chat_id")
            if self.faults.down:
                raise ApiError(502, "Bad Gateway")
            entry = self._methods.get(method.lower())
            name = entry[0] if entry else method
            self.stats[f"method:{name}"] += 1
            hang = self.faults.take_hang(name, chat_ref)
            if hang is not None:
                await self._wait_until(lambda: self._closing, hang.seconds)
            if self.tokens is not None and token not in self.tokens:
                raise ApiError(401, "Unauthorized")
            if entry is None:
                raise ApiError(404, "Not Found")
            fault = self.faults.take_fault(name, chat_ref)
            if fault is not None:
                raise fault.to_error()
            result = await entry[1](self, params)
        except ApiError as err:
            self.stats[str(err.code)] += 1
            self.request_log.append(RequestRecord(self.clock(), method, chat_ref, err.code, err.description))
            return error_response(err)
        self.stats["200"] += 1
        self.request_log.append(RequestRecord(self.clock(), name, chat_ref, 200))
        if isinstance(result, WithDescription):
            return json_response({"ok": True, "result": result.result, "description": result.description})
        return json_response({"ok": True, "result": result})

    # ------------------------------------------------------------------ faults (see bot.standin.faults)

    def clear_faults(self) -> None:
        """Drop all pending ``fail_next`` and ``hang`` injections and bring the server up."""
        self.faults.clear()

    def hang(self, method: str, seconds: float, times: int | None = 1) -> None:
        """Stall the next ``times`` calls of ``method`` for ``seconds`` before processing them."""
        self.faults.hang(method, seconds, times)

    def set_down(self, down: bool = True) -> None:
        """While down, every request answers 502 Bad Gateway (as when Telegram's front is down)."""
        self.faults.down = down

    # ------------------------------------------------------------------ server-side state

    def commands(self, scope: dict[str, Any] | None = None, language_code: str = "") -> list[dict[str, str]]:
        """Commands set with setMyCommands for a scope (default scope when None)."""
        return list(self._commands.get((scope_key(scope), language_code or ""), []))

    @property
    def webhook_url(self) -> str | None:
        return self._webhook.url if self._webhook else None

    def reset_limits(self) -> None:
        """Forget past sends for the flood limits (e.g. between benchmark phases)."""
        self.limiter.reset()
