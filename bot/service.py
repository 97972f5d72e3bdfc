"""The running service: Telegram bot + intake API + delivery worker + scheduler, one event loop.

``Service`` wires the parts (like python-telegram-bot's examples, one place that builds the app);
``liuyan run``, ``liuyan demo`` and the end-to-end tests all start it the same way.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web
from telegram import BotCommand, BotCommandScopeDefault, ChatMember, Update
from telegram.error import Conflict, InvalidToken, TelegramError
from telegram.ext import Application, ApplicationBuilder, ChatMemberHandler, ContextTypes, MessageHandler, filters

import handlers
from bot.app_context import AppContext
from bot.config import Config
from bot.delivery.pacing import Pacer
from bot.delivery.process import DeliveryProcess, make_worker
from bot.delivery.transport import AiohttpRequest
from bot.delivery.worker import MAX_IN_FLIGHT, DeliveryWorker
from bot.rules.workdays import LOOKAHEAD_DAYS, unknown_years
from bot.web.dashboard import dashboard_routes
from bot.web.intake import make_app
from handlers.ordering import PerChatOrder

log = logging.getLogger(__name__)

# Pause between two getUpdates calls. Telegram answers a long poll as soon as one update is there,
# so under load (officers sending 100+ commands a second) a pause of 0 makes one request per
# update; 10 ms lets updates gather into batches (measured: at 100 commands a second p99 194 ms
# against 2.9 s with no pause) and adds at most 10 ms at quiet times.
POLL_INTERVAL = 0.01


def build_application(s: AppContext, *, webhook: bool = False) -> Application:
    cfg = s.config.telegram
    builder: ApplicationBuilder = (
        Application.builder()
        .token(cfg.token)
        .base_url(cfg.api_url)
        .base_file_url(cfg.api_url.replace("/bot", "/file/bot") if cfg.api_url.endswith("/bot") else cfg.api_url)
        # PTB builds and reads every request; aiohttp carries them (see bot.delivery.transport)
        .request(AiohttpRequest(
            # the delivery worker's sends (MAX_IN_FLIGHT) plus room for callback answers and the
            # handlers' own requests
            MAX_IN_FLIGHT + 8, read_timeout=cfg.request_timeout, write_timeout=cfg.request_timeout,
            connect_timeout=cfg.request_timeout))
        .get_updates_request(AiohttpRequest(
            1, read_timeout=cfg.poll_timeout + 10, write_timeout=cfg.request_timeout,
            connect_timeout=cfg.request_timeout))
        .concurrent_updates(PerChatOrder(256))
    )
    if webhook:
        builder = builder.updater(None)
    app = builder.build()
    app.bot_data["services"] = s
    handlers.register(app)
    # delivery housekeeping, in their own group so they never shadow a command
    app.add_handler(ChatMemberHandler(_on_my_membership, ChatMemberHandler.MY_CHAT_MEMBER), group=90)
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, _on_migration), group=90)
    app.add_error_handler(_on_error)
    return app


def _preload_reports() -> None:
    try:
        from bot.reports import preload

        preload()
    except Exception:
        log.warning("could not preload the reports' libraries", exc_info=True)


async def _on_my_membership(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The bot was added back to a group it had been removed from: send its backlog now rather
    than at the next probe."""
    change = update.my_chat_member
    s: AppContext = context.application.bot_data["services"]
    if change is None or s.delivery is None:
        return
    if change.new_chat_member.status in (ChatMember.MEMBER, ChatMember.ADMINISTRATOR):
        s.delivery.probe_now(change.chat.id)


async def _on_migration(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Telegram's service message about a group becoming a supergroup: store the new id at once
    (a send to the old id would find out too, one request later)."""
    message = update.effective_message
    s: AppContext = context.application.bot_data["services"]
    if message is None or s.delivery is None or not message.migrate_to_chat_id:
        return
    await s.delivery.chat_migrated(message.chat.id, message.migrate_to_chat_id)


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log with the trace; the person who acted hears a plain apology, never a trace."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        s: AppContext = context.application.bot_data["services"]
        user = update.effective_user
        lang = s.renderer.lang(user.language_code if user else None)
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(s.renderer.text("misc.error_plain", lang)[:200], show_alert=True)
            else:
                await context.bot.send_message(update.effective_chat.id, s.renderer.text("misc.error", lang))
        except TelegramError:
            pass


async def set_menu(app: Application, s: AppContext) -> None:
    """The command menu, in Chinese by default and in English for English-speaking clients."""
    for lang, code in (("zh", None), ("en", "en")):
        commands = [BotCommand(name, s.renderer.text(f"menu.{name}_plain", lang)) for name, _ in handlers.COMMANDS]
        await app.bot.set_my_commands(commands, scope=BotCommandScopeDefault(), language_code=code)


class TelegramWebhook:
    """Receives Telegram's POSTs on the intake server (webhook mode).

    The ``X-Telegram-Bot-Api-Secret-Token`` header must equal the configured secret (compared in
    constant time); anything else is 403 and is not looked at. An update is handled before the
    answer, in its chat's order (PTB's customwebhookbot pattern, but awaited): Telegram resends what
    did not get a 2xx, so a crash mid-update loses nothing. An update id seen moments ago (a resend
    whose first answer was lost) is acknowledged without handling it twice.
    """

    SEEN = 4096

    def __init__(self, app: Application, secret: str) -> None:
        self.app = app
        self.secret = secret.encode("utf-8")
        self._seen: dict[int, None] = {}

    async def handle(self, request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self.secret):
            return web.json_response({"error": "wrong or missing secret token"}, status=403)
        try:
            data = await request.json(loads=json.loads)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an update")
            update = Update.de_json(data, self.app.bot)
        except Exception:
            return web.json_response({"error": "not a Telegram update"}, status=400)
        if update.update_id in self._seen:
            return web.json_response({"ok": True, "duplicate": True})
        await self.app.update_processor.process_update(update, self.app.process_update(update))
        self._seen[update.update_id] = None
        while len(self._seen) > self.SEEN:
            self._seen.pop(next(iter(self._seen)))
        return web.json_response({"ok": True})


def warn_unknown_calendar(config: Config, now: datetime) -> None:
    """One warning at start when the next 30 days reach a year the calendar does not know."""
    unknown = unknown_years(now.astimezone(config.schedule.tz).date(), config.calendar)
    if unknown:
        years = ", ".join(str(y) for y in unknown)
        log.warning("calendar: the next %s days reach %s, which neither the installed chinesecalendar nor "
                    "[calendar] knows; deadlines there are provisional (Mon-Fri) until the State Council's "
                    "days are typed into [calendar] or the package is upgraded", LOOKAHEAD_DAYS, years)


class PollingErrors:
    """getUpdates failures as an operator needs them: one line when a kind of failure starts, one
    when it has lasted ten more minutes, one when polling works again — not a trace per retry.
    ``Conflict`` means another process polls with the same token (a second `liuyan run`)."""

    REPEAT_SECONDS = 600.0

    def __init__(self) -> None:
        self._kind: str | None = None
        self._since = 0.0
        self._last = 0.0

    def report(self, error: TelegramError) -> None:
        import time

        kind = type(error).__name__
        now = time.monotonic()
        if kind == self._kind and now - self._last < self.REPEAT_SECONDS:
            return
        if kind != self._kind:
            self._since = now
        self._kind, self._last = kind, now
        if isinstance(error, Conflict):
            log.error("telegram: another process is polling with this bot's token (%s); stop the other "
                      "`liuyan run`, or use webhook mode for more than one process", error)
        elif isinstance(error, InvalidToken):
            log.error("telegram: the Bot API refused the token; check telegram.token or LIUYAN_TELEGRAM_TOKEN")
        else:
            log.warning("telegram: getUpdates failed (%s: %s) for %.0f s; retrying", kind, error, now - self._since)


@dataclass
class Service:
    """One process: start() brings every part up, stop() takes them down in reverse order."""

    services: AppContext
    app: Application
    delivery: DeliveryWorker | DeliveryProcess
    runner: web.AppRunner | None = None
    scheduler: Any = None
    serve_api: bool = True

    @classmethod
    def create(cls, config: Config, *, services: AppContext | None = None, pacer: Pacer | None = None,
               serve_api: bool = True, poll_seconds: float = 1.0,
               delivery_command: list[str] | None = None) -> Service:
        s = services or AppContext.create(config)
        webhook = config.telegram.mode == "webhook"
        app = build_application(s, webhook=webhook)
        delivery: Any
        if config.telegram.delivery == "process":
            delivery = DeliveryProcess(config, s.db, command=delivery_command)
        else:
            delivery = make_worker(s, app.bot, pacer=pacer, poll_seconds=poll_seconds)
        s.delivery = delivery
        s.health.delivery = delivery
        return cls(services=s, app=app, delivery=delivery, serve_api=serve_api)

    @property
    def port(self) -> int | None:
        if self.runner is None or not self.runner.addresses:
            return None
        return self.runner.addresses[0][1]

    async def start(self, *, scheduler: bool = True) -> None:
        s, cfg = self.services, self.services.config
        warn_unknown_calendar(cfg, s.now())
        try:
            await self.app.initialize()
        except TelegramError:
            await self.app.bot.shutdown()  # the connections getMe opened; the caller says why in one line
            raise
        try:
            await set_menu(self.app, s)
        except TelegramError as exc:  # the menu is a convenience; the service works without it
            log.warning("could not set the command menu: %s", exc)
        await self.delivery.start()
        s.workflow.learner.start(s.db)  # routing suggestions: retrained in the background
        # reports' libraries load in the background, so the first roundup is built as fast as any
        s.extras["warm"] = False
        self._preload = asyncio.create_task(self._warm_up(), name="liuyan-preload")
        webhook = None
        if cfg.telegram.mode == "webhook":
            assert cfg.telegram.webhook_secret and cfg.telegram.webhook_url
            webhook = TelegramWebhook(self.app, cfg.telegram.webhook_secret)
        if self.serve_api:
            self.runner = web.AppRunner(dashboard_routes(make_app(s, webhook=webhook), s), access_log=None)
            await self.runner.setup()
            site = web.TCPSite(self.runner, cfg.api.host, cfg.api.port)
            await site.start()
        await self.app.start()
        if webhook is not None:
            # webhook_url is the public address Telegram posts to (a proxy in front of this
            # server forwards it to webhook_path); every process sets the same one
            await self.app.bot.set_webhook(cfg.telegram.webhook_url, secret_token=cfg.telegram.webhook_secret,
                                           allowed_updates=Update.ALL_TYPES)
        else:
            assert self.app.updater is not None
            await self.app.updater.start_polling(poll_interval=POLL_INTERVAL, timeout=cfg.telegram.poll_timeout,
                                                 allowed_updates=Update.ALL_TYPES, drop_pending_updates=False,
                                                 bootstrap_retries=-1, error_callback=PollingErrors().report)
        if scheduler:
            from scheduler.jobs import start_scheduler

            self.scheduler = start_scheduler(s)

    async def _warm_up(self) -> None:
        await asyncio.to_thread(_preload_reports)
        self.services.extras["warm"] = True

    async def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None
        await self.delivery.stop()
        await asyncio.to_thread(self.services.workflow.learner.stop)
        preload = getattr(self, "_preload", None)
        if preload is not None:
            await asyncio.gather(preload, return_exceptions=True)
        await self.app.shutdown()

    async def run_forever(self) -> None:
        """``liuyan run``: until SIGINT/SIGTERM."""
        import signal

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except NotImplementedError:  # pragma: no cover - not on Unix
                pass
        await self.start()
        log.info("liuyan running: API on %s:%s, Telegram %s mode", self.services.config.api.host, self.port,
                 self.services.config.telegram.mode)
        try:
            await stop.wait()
        finally:
            await self.stop()
