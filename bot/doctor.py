"""``liuyan doctor``: what an office runs first, and again whenever something looks wrong.

One line per check, each ``ok``, ``warn`` or ``fail``; the command exits 1 only when a line fails.
Every check is read-only: nothing is stored, sent or migrated, so it is safe beside a running service.
The lines' words come from the ``ops`` catalogue (``bot/templates/<lang>/ops.toml``).
"""

from __future__ import annotations

import asyncio
import errno
import json
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import aiohttp
from telegram import Bot, ChatMember, ChatMemberAdministrator, ChatMemberRestricted
from telegram.constants import ChatType
from telegram.error import Forbidden, InvalidToken, NetworkError, TelegramError

from bot.config import Config
from bot.delivery.forums import may_manage_topics
from bot.render import Renderer
from bot.rules.workdays import LOOKAHEAD_DAYS, unknown_years
from bot.workflow.context import common_word_aliases_of
from storage.db import Database
from storage.migrations import current_revision, head_revision, known_revisions
from storage.urls import redact_url

Status = Literal["ok", "warn", "fail"]
TELEGRAM_TIMEOUT = 10.0


@dataclass(frozen=True)
class Check:
    """One line of the report: ``key`` names the catalogue entry, ``params`` fill it in."""

    status: Status
    subject: str
    key: str
    params: dict[str, Any]


def _line(status: Status, subject: str, key: str, **params: Any) -> Check:
    return Check(status, subject, key, params)


def check_database(config: Config) -> list[Check]:
    """The database answers, and its schema is current or one the next start will upgrade."""
    try:
        db = Database(config.database.url)
    except Exception as exc:
        return [_line("fail", "database", "doctor.database_unusable_plain", error=_first_line(exc))]
    try:
        if not db.ping():
            return [_line("fail", "database", "doctor.database_down_plain", url=redact_url(config.database.url))]
        current = current_revision(db.engine)
    except Exception as exc:
        return [_line("fail", "database", "doctor.database_unusable_plain", error=_first_line(exc))]
    finally:
        db.dispose()
    lines = [_line("ok", "database", "doctor.database_ok_plain", url=redact_url(config.database.url))]
    head = head_revision()
    if current == head:
        lines.append(_line("ok", "migrations", "doctor.migrations_current_plain", revision=head))
    elif current is None or current in known_revisions():
        lines.append(_line("ok", "migrations", "doctor.migrations_pending_plain", current=current or "—", head=head))
    else:
        lines.append(_line("fail", "migrations", "doctor.migrations_newer_plain", current=current, head=head))
    return lines


def check_calendar(config: Config, today: date) -> list[Check]:
    """Every day of the next 30 is one the installed calendar package or ``[calendar]`` knows."""
    years = unknown_years(today, config.calendar)
    if years:
        return [_line("fail", "calendar", "doctor.calendar_unknown_plain",
                      years=", ".join(str(y) for y in years), days=LOOKAHEAD_DAYS)]
    return [_line("ok", "calendar", "doctor.calendar_ok_plain", days=LOOKAHEAD_DAYS)]


def _chats(config: Config) -> Iterable[tuple[str, int]]:
    yield "leaders", config.leaders.chat_id
    yield "desk", config.desk.chat_id
    for region in config.regions:
        yield region.name, region.chat_id
    for unit in config.units:
        yield unit.name, unit.chat_id


def _may_post(member: ChatMember, chat_type: str) -> bool:
    if member.status in (ChatMember.LEFT, ChatMember.BANNED):
        return False
    if chat_type == ChatType.CHANNEL:
        return member.status == ChatMember.OWNER or (
            isinstance(member, ChatMemberAdministrator) and bool(member.can_post_messages))
    if isinstance(member, ChatMemberRestricted):
        return bool(member.can_send_messages)
    return True


async def check_telegram(config: Config) -> list[Check]:
    """The token (getMe), then each configured chat: the bot is in it and may post there."""
    bot = Bot(config.telegram.token, base_url=config.telegram.api_url)
    try:
        async with asyncio.timeout(TELEGRAM_TIMEOUT):
            await bot.initialize()
            me = await bot.get_me()
    except (InvalidToken, Forbidden):  # PTB's message quotes the token: not for a terminal or a log
        return [_line("fail", "telegram", "doctor.token_refused_plain", error="401 Unauthorized")]
    except (NetworkError, TimeoutError, OSError) as exc:
        return [_line("fail", "telegram", "doctor.telegram_unreachable_plain", url=config.telegram.api_url,
                      error=_first_line(exc) or type(exc).__name__)]
    except TelegramError as exc:
        return [_line("fail", "telegram", "doctor.token_refused_plain", error=_first_line(exc))]
    lines = [_line("ok", "telegram", "doctor.token_ok_plain", username=me.username or me.first_name)]
    try:
        for name, chat_id in _chats(config):
            lines.extend(await _check_chat(bot, me.id, name, chat_id))
    finally:
        try:
            await bot.shutdown()
        except Exception:
            pass
    return lines


async def _check_chat(bot: Bot, bot_id: int, name: str, chat_id: int) -> list[Check]:
    subject = f"chat {name}"
    try:
        async with asyncio.timeout(TELEGRAM_TIMEOUT):
            chat = await bot.get_chat(chat_id)
            member = await bot.get_chat_member(chat_id, bot_id)
    except (TelegramError, TimeoutError) as exc:
        return [_line("fail", subject, "doctor.chat_unreachable_plain", name=name, chat_id=chat_id,
                      error=_first_line(exc) or type(exc).__name__)]
    if not _may_post(member, chat.type):
        return [_line("fail", subject, "doctor.chat_cannot_post_plain", name=name, chat_id=chat_id,
                      status=member.status)]
    if chat.is_forum and not may_manage_topics(member):
        return [_line("warn", subject, "doctor.chat_no_topics_plain", name=name, chat_id=chat_id)]
    return [_line("ok", subject, "doctor.chat_ok_plain", name=name, chat_id=chat_id, title=chat.title or "")]


async def check_api_port(config: Config) -> list[Check]:
    """The intake API's port is free, or our own ``/healthz`` answers on it (the service is up)."""
    host, port = config.api.host, config.api.port
    if port == 0:
        return [_line("ok", "api", "doctor.port_free_plain", host=host, port=port)]
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                return [_line("fail", "api", "doctor.port_unusable_plain", host=host, port=port, error=exc.strerror)]
        else:
            return [_line("ok", "api", "doctor.port_free_plain", host=host, port=port)]
    if await _our_healthz(host, port):
        return [_line("ok", "api", "doctor.port_ours_plain", host=host, port=port)]
    return [_line("fail", "api", "doctor.port_taken_plain", host=host, port=port)]


async def _our_healthz(host: str, port: int) -> bool:
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/healthz"
    try:
        timeout = aiohttp.ClientTimeout(total=5)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as response:
            body = json.loads(await response.text())
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return False
    return isinstance(body, dict) and body.get("status") in ("ok", "database unreachable")


def check_aliases(config: Config) -> list[Check]:
    """Aliases that are also common words route messages that merely use the word."""
    return [_line("warn", "aliases", "doctor.alias_common_plain", alias=alias, region=region)
            for alias, region in common_word_aliases_of(config)]


async def run_checks(config: Config, today: date) -> list[Check]:
    """Every check after the config's (which has passed when this runs), in the order printed."""
    lines: list[Check] = []
    lines.extend(await asyncio.to_thread(check_database, config))
    lines.extend(await check_telegram(config))
    lines.extend(check_calendar(config, today))
    lines.extend(await check_api_port(config))
    lines.extend(check_aliases(config))
    return lines


def render_lines(checks: Iterable[Check], renderer: Renderer, lang: str | None = None) -> list[str]:
    """``ok   subject: detail``, one per check, aligned for a terminal."""
    return [f"{c.status:<4} {c.subject}: {renderer.text(c.key, lang, **c.params)}" for c in checks]


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0]
