"""Chats and members: ``getChat`` and ``getChatMember`` (the bot's own status and rights)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..models import BOT_ID
from ..protocol import ApiError, Params
from .common import chat_for_call, int_param

if TYPE_CHECKING:
    from ..server import BotApiStandin


async def get_chat(api: BotApiStandin, p: Params) -> dict[str, Any]:
    chat = chat_for_call(api, p)
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


async def get_chat_member(api: BotApiStandin, p: Params) -> dict[str, Any]:
    """The bot's own membership as the driver set it; a person the stand-in knows is a member."""
    chat = chat_for_call(api, p)
    user_id = int_param(p, "user_id")
    if user_id == BOT_ID:
        return chat.bot.to_api(chat.type)
    try:
        user = api.user(user_id)
    except KeyError:
        raise ApiError(400, "Bad Request: user not found") from None
    if chat.type == "private" and chat.id != user_id:
        raise ApiError(400, "Bad Request: user not found")
    return {"status": "member", "user": dict(user)}


METHODS = {"getChat": get_chat, "getChatMember": get_chat_member}
