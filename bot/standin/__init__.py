"""A local stand-in of the Telegram Bot API (see :mod:`bot.standin.server`)."""

from .faults import Fault
from .limits import FakeClock
from .models import (
    BOT_ID,
    BOT_USERNAME,
    BotMembership,
    CallbackRecord,
    ChatInfo,
    ForumTopic,
    SentRecord,
    StoredFile,
    StoredMessage,
)
from .protocol import ApiError
from .server import BotApiStandin

__all__ = [
    "BOT_ID",
    "BOT_USERNAME",
    "ApiError",
    "BotApiStandin",
    "BotMembership",
    "CallbackRecord",
    "ChatInfo",
    "FakeClock",
    "Fault",
    "ForumTopic",
    "SentRecord",
    "StoredFile",
    "StoredMessage",
]
