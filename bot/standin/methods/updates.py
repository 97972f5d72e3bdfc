"""Getting updates to the bot: long polling (``getUpdates``) or a webhook the stand-in POSTs to."""

from __future__ import annotations

import asyncio
import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import ClientError, ClientSession, ClientTimeout

from ..protocol import STATUS_TEXT, ApiError, Params, WithDescription

if TYPE_CHECKING:
    from ..server import BotApiStandin

_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_DEFAULT_UPDATE_TYPES = (
    "message", "edited_message", "channel_post", "edited_channel_post", "callback_query",
    "my_chat_member", "inline_query", "chosen_inline_result",
)


@dataclass
class Webhook:
    url: str
    secret_token: str | None = None
    max_connections: int = 40
    allowed_updates: list[str] | None = None
    last_error_date: int | None = None
    last_error_message: str | None = None
    delivered: int = 0


def _allowed(api: BotApiStandin, update: dict[str, Any]) -> bool:
    allowed = api._allowed_updates or list(_DEFAULT_UPDATE_TYPES)
    return any(key in update for key in allowed)


def confirm(api: BotApiStandin, offset: int) -> None:
    """Forget updates before ``offset`` (negative: keep the last ``-offset``) and of unwanted types."""
    if offset > 0:
        api._updates = [u for u in api._updates if u["update_id"] >= offset]
    elif offset < 0:
        api._updates = api._updates[offset:]
    # Updates of types the bot did not ask for are forgotten, as on Telegram.
    api._updates = [u for u in api._updates if _allowed(api, u)]


def _take_allowed_updates(api: BotApiStandin, p: Params) -> None:
    if p.has("allowed_updates"):
        allowed = p.get_json("allowed_updates")
        if isinstance(allowed, list):
            api._allowed_updates = [str(a) for a in allowed] or None


async def get_updates(api: BotApiStandin, p: Params) -> list[dict[str, Any]]:
    if api._webhook is not None:
        raise ApiError(
            409,
            "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
        )
    offset = p.get_int("offset") or 0
    limit = min(max(p.get_int("limit") or 100, 1), 100)
    timeout = max(p.get_float("timeout") or 0.0, 0.0)
    _take_allowed_updates(api, p)
    confirm(api, offset)
    api._poll_generation += 1
    generation = api._poll_generation
    api._notify()  # a long poll still waiting from before is terminated (409), as on Telegram
    await api._wait_until(
        lambda: generation != api._poll_generation or api._closing or bool(api._updates),
        timeout,
    )
    if p.client_gone():
        return []  # a poll the client abandoned: nobody reads this answer, so no 409 either
    if generation != api._poll_generation:
        raise ApiError(409, STATUS_TEXT[409])
    confirm(api, 0)
    return copy.deepcopy(api._updates[:limit])


async def set_webhook(api: BotApiStandin, p: Params) -> Any:
    url = p.get_str("url") or ""
    if not url:
        return await delete_webhook(api, p)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        raise ApiError(400, "Bad Request: bad webhook: the stand-in delivers only to http(s)://127.0.0.1 or localhost")
    secret = p.get_str("secret_token")
    if secret is not None and not _SECRET_RE.match(secret):
        raise ApiError(400, "Bad Request: secret token contains unallowed characters")
    if p.get_bool("drop_pending_updates"):
        api._updates.clear()
    _take_allowed_updates(api, p)
    api._webhook = Webhook(
        url=url,
        secret_token=secret,
        max_connections=p.get_int("max_connections") or 40,
        allowed_updates=api._allowed_updates,
    )
    if api._webhook_task is None or api._webhook_task.done():
        api._webhook_task = asyncio.get_running_loop().create_task(deliver_webhooks(api))
    api._notify()
    return WithDescription(True, "Webhook was set")


async def delete_webhook(api: BotApiStandin, p: Params) -> Any:
    if p.get_bool("drop_pending_updates"):
        api._updates.clear()
    had = api._webhook is not None
    api._webhook = None
    api._notify()
    return WithDescription(True, "Webhook was deleted" if had else "Webhook is already deleted")


async def get_webhook_info(api: BotApiStandin, p: Params) -> dict[str, Any]:
    hook = api._webhook
    info: dict[str, Any] = {
        "url": hook.url if hook else "",
        "has_custom_certificate": False,
        "pending_update_count": len(api._updates),
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


async def deliver_webhooks(api: BotApiStandin) -> None:
    """POST queued updates one by one to the webhook, in order; retry on failure."""
    async with ClientSession(timeout=ClientTimeout(total=10)) as session:
        while not api._closing:
            hook = api._webhook
            if hook is None or not api._updates:
                await api._wait_until(
                    lambda: api._closing or (api._webhook is not None and bool(api._updates)), None
                )
                continue
            confirm(api, 0)
            if not api._updates:
                continue
            update = api._updates[0]
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
            api.webhook_log.append({"update_id": update["update_id"], "url": hook.url, "error": error})
            if error is None:
                if api._updates and api._updates[0] is update:
                    api._updates.pop(0)
                hook.delivered += 1
                api._notify()
            else:
                hook.last_error_date = int(api.wall_clock())
                hook.last_error_message = error
                api._notify()
                await api._wait_until(_hook_changed(api, hook), api.webhook_retry_delay)


def _hook_changed(api: BotApiStandin, hook: Webhook) -> Callable[[], bool]:
    """True once the stand-in closes or the webhook is replaced (retry at once then)."""
    return lambda: api._closing or api._webhook is not hook


METHODS = {
    "getUpdates": get_updates,
    "setWebhook": set_webhook,
    "deleteWebhook": delete_webhook,
    "getWebhookInfo": get_webhook_info,
}
