"""The bot itself: ``getMe``, its command lists, ``close`` and ``logOut``."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from ..models import BOT_FIRST_NAME, BOT_ID, BOT_USERNAME
from ..protocol import ApiError, Params

if TYPE_CHECKING:
    from ..server import BotApiStandin

_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


def scope_key(scope: Any) -> str:
    """One key per command scope, the explicit default scope being the same as none."""
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


async def get_me(api: BotApiStandin, p: Params) -> dict[str, Any]:
    return {
        "id": BOT_ID,
        "is_bot": True,
        "first_name": BOT_FIRST_NAME,
        "username": BOT_USERNAME,
        "can_join_groups": True,
        "can_read_all_group_messages": not api.privacy_mode,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


async def set_my_commands(api: BotApiStandin, p: Params) -> bool:
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
    key = (scope_key(p.get_json("scope")), p.get_str("language_code") or "")
    if clean:
        api._commands[key] = clean
    else:
        api._commands.pop(key, None)
    return True


async def get_my_commands(api: BotApiStandin, p: Params) -> list[dict[str, str]]:
    return api.commands(p.get_json("scope"), p.get_str("language_code") or "")


async def delete_my_commands(api: BotApiStandin, p: Params) -> bool:
    api._commands.pop((scope_key(p.get_json("scope")), p.get_str("language_code") or ""), None)
    return True


async def close(api: BotApiStandin, p: Params) -> bool:
    return True


async def log_out(api: BotApiStandin, p: Params) -> bool:
    return True


METHODS = {
    "getMe": get_me,
    "setMyCommands": set_my_commands,
    "getMyCommands": get_my_commands,
    "deleteMyCommands": delete_my_commands,
    "close": close,
    "logOut": log_out,
}
