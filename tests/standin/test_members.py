"""The bot's own membership: getChatMember, rights to send and pin, being added, a revoked token."""

from __future__ import annotations

import pytest
from telegram import Bot, ChatMember, ChatMemberAdministrator, ChatMemberRestricted
from telegram.error import BadRequest, Forbidden, InvalidToken

from bot.standin import BOT_ID, BotApiStandin

from .conftest import BASIC, FORUM, GROUP, OFFICER, TOKEN


async def test_get_chat_member_for_the_bot(api: BotApiStandin, bot: Bot) -> None:
    me = await bot.get_chat_member(FORUM, BOT_ID)
    assert isinstance(me, ChatMemberAdministrator)
    assert me.can_manage_topics and me.can_pin_messages and me.user.id == BOT_ID
    basic = await bot.get_chat_member(BASIC, BOT_ID)
    assert isinstance(basic, ChatMemberAdministrator) and basic.can_manage_topics is None

    api.set_bot_member(FORUM, "administrator", {"can_pin_messages": False, "can_manage_topics": False})
    me = await bot.get_chat_member(FORUM, BOT_ID)
    assert (me.can_pin_messages, me.can_manage_topics) == (False, False)
    api.set_bot_member(FORUM, "member")
    assert (await bot.get_chat_member(FORUM, BOT_ID)).status == ChatMember.MEMBER

    other = await bot.get_chat_member(FORUM, OFFICER)
    assert other.status == ChatMember.MEMBER and other.user.first_name == "张三"
    with pytest.raises(BadRequest, match="(?i)user not found"):
        await bot.get_chat_member(FORUM, 424242)


async def test_a_bot_without_rights_cannot_send_or_pin(api: BotApiStandin, bot: Bot) -> None:
    card = await bot.send_message(GROUP, "card")
    assert await bot.pin_chat_message(GROUP, card.message_id)
    assert api.message(GROUP, card.message_id).pinned
    assert await bot.unpin_chat_message(GROUP)
    api.set_bot_member(GROUP, "member")
    with pytest.raises(BadRequest, match="(?i)not enough rights to manage pinned messages in the chat"):
        await bot.pin_chat_message(GROUP, card.message_id)
    await bot.send_message(GROUP, "a member may still post")

    api.set_bot_member(GROUP, "restricted", {"can_send_messages": False})
    restricted = await bot.get_chat_member(GROUP, BOT_ID)
    assert isinstance(restricted, ChatMemberRestricted) and restricted.can_send_messages is False
    with pytest.raises(BadRequest, match="(?i)not enough rights to send text messages to the chat"):
        await bot.send_message(GROUP, "x")
    assert [m.text for m in api.messages(GROUP)] == ["card", "a member may still post"]


async def test_left_and_added_back(api: BotApiStandin, bot: Bot) -> None:
    api.set_bot_member(GROUP, "left")
    with pytest.raises(Forbidden, match="(?i)bot is not a member of the supergroup chat"):
        await bot.send_message(GROUP, "x")
    with pytest.raises(Forbidden, match="(?i)bot is not a member of the supergroup chat"):
        await bot.get_chat_member(GROUP, BOT_ID)
    api.inject_message(GROUP, OFFICER, "/id")  # not delivered: the bot is not there
    assert api.pending_updates() == []

    api.add_bot(GROUP, by_user_id=OFFICER)
    updates = await bot.get_updates(timeout=0)
    change = updates[0].my_chat_member
    assert change is not None and change.chat.id == GROUP and change.from_user.id == OFFICER
    assert (change.old_chat_member.status, change.new_chat_member.status) == ("left", "member")
    joined = updates[1].message
    assert [u.id for u in joined.new_chat_members] == [BOT_ID]
    assert (await bot.get_chat_member(GROUP, BOT_ID)).status == ChatMember.MEMBER


async def test_kicked_and_brought_back_keeps_its_rights(api: BotApiStandin, bot: Bot) -> None:
    api.kick_bot(FORUM, announce=True, by_user_id=OFFICER)
    with pytest.raises(Forbidden, match="(?i)bot was kicked from the supergroup chat"):
        await bot.create_forum_topic(FORUM, "#1")
    api.unkick_bot(FORUM)
    assert (await bot.create_forum_topic(FORUM, "#1")).name == "#1"
    updates = await bot.get_updates(timeout=0)
    kicked = updates[0].my_chat_member
    assert kicked is not None and kicked.new_chat_member.status == ChatMember.BANNED


async def test_get_me_refuses_a_revoked_token() -> None:
    async with BotApiStandin(tokens={TOKEN}) as api:
        async with Bot(TOKEN, base_url=api.base_url) as good:
            assert (await good.get_me()).id == BOT_ID
        # PTB's Bot checks its token with getMe on start and names the 401 as a rejected token.
        with pytest.raises(InvalidToken, match="(?i)rejected by the server"):
            async with Bot("123456789:AAF-revoked-token", base_url=api.base_url):
                pass
        assert api.stats["401"] == 1 and api.request_log[-1].description == "Unauthorized"
