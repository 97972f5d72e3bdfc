"""The Bot API methods the stand-in answers, one module per family, joined in one table.

Each handler is ``async def handler(api, params) -> result`` and raises
:class:`bot.standin.protocol.ApiError` for an error answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from . import bot, callbacks, chats, files, messages, topics, updates

Handler = Callable[[Any, Any], Awaitable[Any]]

#: Method name (as Telegram spells it) -> handler. Names are matched case-insensitively.
METHODS: dict[str, Handler] = {
    **bot.METHODS,
    **updates.METHODS,
    **messages.METHODS,
    **callbacks.METHODS,
    **files.METHODS,
    **chats.METHODS,
    **topics.METHODS,
}

__all__ = ["METHODS", "Handler"]
