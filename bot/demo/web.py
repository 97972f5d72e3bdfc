"""The sandbox web chat of ``liuyan demo``: Telegram as a page on 127.0.0.1, with no Telegram account.

The page shows the Bot API stand-in's chats the way a Telegram client would (each region's group,
the desk, the leaders, one's private chat with the bot; cards with bold, links and buttons), follows
them live over Server-Sent Events, and lets the visitor act as any person of the roster: typing
commands, replying to a card, pressing its buttons. Everything a visitor does goes through the
stand-in exactly as a Telegram user's action would, so the service cannot tell the difference.

Also served here: the sandbox clock's controls (pause, speed, skip ahead), the scenario's notes for
trainees, and the supervisors' dashboard (:mod:`bot.web.dashboard`) without typing a token.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.render import LANGUAGES, utf16_len
from bot.web import pages
from bot.web.dashboard import dashboard_routes

log = logging.getLogger(__name__)

TEXT_LIMIT = 4096
MAX_JUMP_MINUTES = 14 * 24 * 60
MAX_RATE = 100_000.0
JS_KEYS = (
    "edited", "reply", "cancel", "send", "placeholder", "replying_to", "you", "back", "no_messages",
    "pick_chat", "ok", "failed", "button_gone", "no_answer", "sandbox_time", "paused", "pause", "resume",
    "speed", "jump_hour", "jump_day", "narration", "show_all", "file", "open_file", "members_region",
    "members_desk", "members_leaders", "members_private", "bot_label", "role_officer", "role_supervisor",
    "role_leader", "role_none", "all_regions", "reconnected", "command_hint",
    "topics_label", "general",
)
JS_PARAMS = {"replying_to": ("name",), "failed": ("reason",)}
PUSHED = ("message", "edit", "delete")


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


class SandboxHub:
    """Fans the stand-in's changes, the clock's changes and the scenario's notes out to every open
    page, and describes the chats and people the way the page lists them."""

    def __init__(self, service: Any, standin: Any, clock: Any = None) -> None:
        self.service = service
        self.s = service.services
        self.standin = standin
        self.clock = clock
        self.narrations: list[dict[str, Any]] = []
        self._clients: set[asyncio.Queue[dict[str, Any] | None]] = set()
        self._source: asyncio.Queue[dict[str, Any]] | None = None
        self._pump_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ life

    async def start(self) -> None:
        if self._pump_task is not None:
            return
        self._source = self.standin.subscribe()
        self._pump_task = asyncio.create_task(self._pump())
        if self.clock is not None:
            self.clock.add_listener(self._on_clock)

    async def stop(self) -> None:
        if self.clock is not None:
            self.clock.remove_listener(self._on_clock)
        if self._pump_task is not None:
            self._pump_task.cancel()
            try:
                await self._pump_task
            except (asyncio.CancelledError, Exception):
                pass
            self._pump_task = None
        if self._source is not None:
            self.standin.unsubscribe(self._source)
            self._source = None
        for queue in list(self._clients):
            queue.put_nowait(None)  # each open event stream ends cleanly

    async def _pump(self) -> None:
        assert self._source is not None
        while True:
            event = await self._source.get()
            kind = event.get("type")
            if kind in PUSHED and event.get("message"):
                self.broadcast({"type": kind, "chat_id": event.get("chat_id"), "message": event["message"]})
            elif kind in ("chat", "topic"):  # a forum topic opened, renamed, closed: the lists change
                self.broadcast({"type": "chats"})

    def _on_clock(self, clock: Any) -> None:
        self.broadcast({"type": "clock", "clock": clock.snapshot()})

    # ------------------------------------------------------------------ fan-out

    def subscribe(self) -> asyncio.Queue[dict[str, Any] | None]:
        queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self._clients.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any] | None]) -> None:
        self._clients.discard(queue)

    def broadcast(self, event: dict[str, Any]) -> None:
        for queue in list(self._clients):
            queue.put_nowait(event)

    def narrate(self, name: str) -> dict[str, Any]:
        """A scenario note for trainees, in both languages (the page shows the visitor's)."""
        entry = {
            "name": name,
            "at": self.s.now().isoformat(),
            "text": {lang: self.s.renderer.text(f"web.narration.{name}", lang) for lang in LANGUAGES},
        }
        self.narrations.append(entry)
        self.broadcast({"type": "narration", "narration": entry})
        return entry

    # ------------------------------------------------------------------ what the page lists

    def _chat_roles(self) -> dict[int, dict[str, Any]]:
        """Chat id -> kind (region, desk, leaders), following migrations to the current id."""
        cfg = self.s.config
        chats = self.standin.chats
        roles: dict[int, dict[str, Any]] = {}

        def current(chat_id: int) -> int:
            seen = set()
            while chat_id in chats and chats[chat_id].migrated_to and chat_id not in seen:
                seen.add(chat_id)
                chat_id = chats[chat_id].migrated_to
            return chat_id

        for order, region in enumerate(cfg.regions):
            roles[current(region.chat_id)] = {"kind": "region", "region": region.code,
                                              "region_name": region.name, "order": order}
        for order, unit in enumerate(cfg.units, start=len(cfg.regions)):  # departments, after the regions
            roles[current(unit.chat_id)] = {"kind": "unit", "region": unit.code,
                                            "region_name": unit.name, "order": order}
        roles.setdefault(current(cfg.desk.chat_id), {"kind": "desk", "order": 1000})
        roles.setdefault(current(cfg.leaders.chat_id), {"kind": "leaders", "order": 1001})
        return roles

    def chats(self) -> list[dict[str, Any]]:
        roles = self._chat_roles()
        out = []
        for chat in self.standin.chats_snapshot()["chats"]:
            if chat.get("migrated_to"):
                continue
            role = roles.get(chat["id"])
            if role is None:
                role = {"kind": "private" if chat["type"] == "private" else "other",
                        "order": 2000 if chat["type"] == "private" else 3000}
            out.append({**chat, **role})
        out.sort(key=lambda c: (c["order"], c["id"]))
        return out

    def people(self) -> list[dict[str, Any]]:
        """The roster, then anyone else the stand-in knows (to see how strangers are refused)."""
        cfg = self.s.config
        names = cfg.target_names
        people = [{"id": o.user_id, "name": o.name, "role": o.role, "region": o.region,
                   "region_name": names.get(o.region), "in_roster": True} for o in cfg.officers]
        known = {p["id"] for p in people}
        for user in self.standin.chats_snapshot()["users"]:
            if user.get("is_bot") or user.get("id") in known:
                continue
            name = " ".join(x for x in (user.get("first_name"), user.get("last_name")) if x) or str(user["id"])
            people.append({"id": user["id"], "name": name, "role": None, "region": None, "region_name": None,
                           "in_roster": False})
        return people

    def state(self) -> dict[str, Any]:
        snapshot = self.standin.chats_snapshot()
        return {
            "bot": snapshot["bot"],
            "chats": self.chats(),
            "people": self.people(),
            "clock": self.clock.snapshot() if self.clock is not None else None,
            "narrations": list(self.narrations),
            "timezone": self.s.config.schedule.timezone,
        }


HUB: web.AppKey[SandboxHub] = web.AppKey("sandbox_hub", SandboxHub)


@web.middleware
async def _errors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """Plain-worded JSON errors on the page's API; never a stack trace."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400 and request.path.startswith("/api/"):
            return _error(exc.status, exc.reason or "error")
        raise
    except Exception:
        log.exception("sandbox page: unexpected error on %s %s", request.method, request.path)
        return _error(503, "internal error in the sandbox; try again")


class SandboxPage:
    """The handlers of the page and its small API."""

    def __init__(self, hub: SandboxHub) -> None:
        self.hub = hub
        self.s = hub.s
        self.standin = hub.standin

    # ------------------------------------------------------------------ page

    async def index(self, request: web.Request) -> web.Response:
        lang = pages.page_lang(request, self.s.config.language)
        token = self.s.config.api.token
        dashboard = f"/dashboard/?token={quote(token)}" if token else "/dashboard/"
        boot = {
            "lang": lang,
            "timezone": self.s.config.schedule.timezone,
            "strings": pages.strings(self.s.renderer, lang, "web.js", JS_KEYS, JS_PARAMS),
            "has_clock": self.hub.clock is not None,
        }
        return pages.render_page(request, self.s.renderer, "chat.html.j2", lang, boot=boot, dashboard=dashboard,
                                 has_clock=self.hub.clock is not None)

    # ------------------------------------------------------------------ reading

    async def state(self, request: web.Request) -> web.Response:
        return web.json_response(self.hub.state(), dumps=lambda o: json.dumps(o, ensure_ascii=False))

    async def events(self, request: web.Request) -> web.StreamResponse:
        """Server-Sent Events: ``hello`` first (then the page loads the state), then every change."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                               "X-Accel-Buffering": "no"})
        await response.prepare(request)
        queue = self.hub.subscribe()
        try:
            await response.write(b"retry: 1000\n\n")
            await _send(response, {"type": "hello"})
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), 15.0)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if event is None:
                    break
                await _send(response, event)
        except (ConnectionResetError, ConnectionError):
            pass
        finally:
            self.hub.unsubscribe(queue)
        return response

    async def file(self, request: web.Request) -> web.StreamResponse:
        """A photo or document the bot sent (the weekly chart, the HTML report)."""
        try:
            stored = self.standin.file(request.match_info["file_id"])
        except KeyError:
            return _error(404, "no such file")
        response = web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")
        # a report opened in the page runs no script and reaches nothing: a sandboxed document
        response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"
        response.headers["X-Content-Type-Options"] = "nosniff"
        if request.query.get("download") and stored.file_name:
            response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(stored.file_name)}"
        return response

    # ------------------------------------------------------------------ acting

    async def _body(self, request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise web.HTTPBadRequest(reason="the body is not JSON") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(reason="the body must be a JSON object")
        return body

    def _chat(self, request: web.Request) -> Any:
        try:
            chat_id = int(request.match_info["chat_id"])
        except ValueError:
            raise web.HTTPNotFound(reason="no such chat") from None
        chat = self.standin.chats.get(chat_id)
        if chat is None:
            raise web.HTTPNotFound(reason=f"no chat {chat_id}")
        if chat.migrated_to:
            raise web.HTTPBadRequest(reason=f"chat {chat_id} became {chat.migrated_to}; write there")
        return chat

    def _person(self, body: dict[str, Any]) -> dict[str, Any]:
        user_id = body.get("user_id")
        if not isinstance(user_id, int) or isinstance(user_id, bool):
            raise web.HTTPBadRequest(reason="user_id: who acts (a number from the people list) is required")
        person = next((p for p in self.hub.people() if p["id"] == user_id), None)
        if person is None:
            raise web.HTTPBadRequest(reason=f"user_id: {user_id} is nobody in this sandbox")
        return person

    async def post_message(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        chat = self._chat(request)
        person = self._person(body)
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise web.HTTPBadRequest(reason="text: write something")
        if utf16_len(text) > TEXT_LIMIT:
            raise web.HTTPBadRequest(reason=f"text: at most {TEXT_LIMIT} characters, as in Telegram")
        if chat.type == "private" and chat.id != person["id"]:
            raise web.HTTPBadRequest(reason=f"this is someone else's private chat with the bot; "
                                            f"{person['name']} can only write in their own")
        reply_to = body.get("reply_to_message_id")
        if reply_to is not None and (not isinstance(reply_to, int) or isinstance(reply_to, bool)):
            raise web.HTTPBadRequest(reason="reply_to_message_id: a message id or null")
        thread = body.get("message_thread_id")
        if thread is not None and (not isinstance(thread, int) or isinstance(thread, bool)):
            raise web.HTTPBadRequest(reason="message_thread_id: a topic's id or null")
        try:
            message = self.standin.inject_message(chat.id, person["id"], text, reply_to_message_id=reply_to,
                                                  message_thread_id=thread)
        except ValueError as exc:
            raise web.HTTPBadRequest(reason=str(exc)) from None
        return web.json_response({"message_id": message["message_id"], "chat_id": chat.id}, status=201)

    async def press(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        chat = self._chat(request)
        person = self._person(body)
        data = body.get("data")
        try:
            message_id = int(request.match_info["message_id"])
        except ValueError:
            raise web.HTTPNotFound(reason="no such message") from None
        if not isinstance(data, str) or not data:
            raise web.HTTPBadRequest(reason="data: the button's callback data is required")
        try:
            query_id = self.standin.press_button(chat.id, message_id, person["id"], data)
        except ValueError:
            raise web.HTTPConflict(reason="this button is no longer on the message") from None
        try:
            answer = await self.standin.wait_callback_answer(query_id, timeout=10.0)
        except TimeoutError:
            return web.json_response({"answer": None, "callback_query_id": query_id})
        return web.json_response({"answer": answer, "callback_query_id": query_id},
                                 dumps=lambda o: json.dumps(o, ensure_ascii=False))

    async def clock(self, request: web.Request) -> web.Response:
        """Pause, resume, change the speed or skip ahead; the sweep then runs at the new time."""
        clock = self.hub.clock
        if clock is None:
            raise web.HTTPNotFound(reason="this sandbox has no sandbox clock")
        body = await self._body(request)
        action = body.get("action")
        if action == "pause":
            clock.pause()
        elif action == "resume":
            clock.resume()
        elif action == "rate":
            rate = body.get("rate")
            if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 < rate <= MAX_RATE:
                raise web.HTTPBadRequest(reason=f"rate: a number above 0 and at most {MAX_RATE:g}")
            clock.set_rate(float(rate))
        elif action == "advance":
            minutes = body.get("minutes")
            if not isinstance(minutes, int) or isinstance(minutes, bool) or not 0 < minutes <= MAX_JUMP_MINUTES:
                raise web.HTTPBadRequest(reason=f"minutes: a whole number from 1 to {MAX_JUMP_MINUTES}")
            from datetime import timedelta

            from bot.demo.scenario import nudge_sweep

            clock.advance(timedelta(minutes=minutes))
            nudge_sweep(self.hub.service)
        else:
            raise web.HTTPBadRequest(reason="action: one of pause, resume, rate, advance")
        return web.json_response({"clock": clock.snapshot()})


async def _send(response: web.StreamResponse, event: dict[str, Any]) -> None:
    data = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    await response.write(f"data: {data}\n\n".encode())


def make_sandbox_app(service: Any, standin: Any, *, clock: Any = None, hub: SandboxHub | None = None) -> web.Application:
    """The page, its API under ``/api/sandbox/``, static files and the dashboard under ``/dashboard/``."""
    hub = hub or SandboxHub(service, standin, clock)
    page = SandboxPage(hub)
    app = web.Application(middlewares=[_errors], client_max_size=1024 * 1024)
    app[HUB] = hub

    async def on_startup(_: web.Application) -> None:
        await hub.start()

    async def on_shutdown(_: web.Application) -> None:
        await hub.stop()

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    app.router.add_get("/", page.index)
    app.router.add_get("/api/sandbox/state", page.state)
    app.router.add_get("/api/sandbox/events", page.events)
    app.router.add_get("/api/sandbox/files/{file_id}", page.file)
    app.router.add_post("/api/sandbox/chats/{chat_id}/messages", page.post_message)
    app.router.add_post("/api/sandbox/chats/{chat_id}/messages/{message_id}/press", page.press)
    app.router.add_post("/api/sandbox/clock", page.clock)
    pages.add_static(app, "/static")
    dashboard_routes(app, service.services, chat_url="/", refresh_seconds=3.0)
    return app


async def start_sandbox_web(service: Any, standin: Any, port: int, *, clock: Any = None,
                            hub: SandboxHub | None = None, host: str = "127.0.0.1") -> tuple[web.AppRunner, str]:
    """Serve the sandbox page on ``host:port`` (0: any free port); returns (runner, page url)."""
    app = make_sandbox_app(service, standin, clock=clock, hub=hub)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    return runner, f"http://{host}:{bound}/"


__all__ = ["SandboxHub", "make_sandbox_app", "start_sandbox_web", "HUB"]
