"""A local stand-in of the Telegram Bot API (see :mod:`bot.standin.server`)."""

from .models import BOT_ID, BOT_USERNAME, CallbackRecord, ChatInfo, SentRecord, StoredFile, StoredMessage
from .server import ApiError, BotApiStandin, FakeClock, Fault

__all__ = [
    "BOT_ID",
    "BOT_USERNAME",
    "ApiError",
    "BotApiStandin",
    "CallbackRecord",
    "ChatInfo",
    "FakeClock",
    "Fault",
    "SentRecord",
    "StoredFile",
    "StoredMessage",
]
