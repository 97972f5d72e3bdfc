"""Forum topics through PTB against the stand-in: what Telegram answers and what it sends."""

from __future__ import annotations

import pytest
from telegram import Bot
from telegram.error import BadRequest

from bot.standin import BotApiStandin

from .conftest import FORUM, GROUP, OFFICER


async def test_create_topic_and_send_into_it(api: BotApiStandin, bot: Bot) -> None:
    topic = await bot.create_forum_topic(FORUM, "#12 待认领 路灯不亮")
    assert topic.name == "#12 待认领 路灯不亮" and topic.icon_color == 7322096
    thread = topic.message_thread_id
    creation = api.message(FORUM, thread)
    assert creation.service == {"forum_topic_created": {"name": "#12 待认领 路灯不亮", "icon_color": 7322096}}

    card = await bot.send_message(FORUM, "<b>#12</b> 路灯不亮", parse_mode="HTML", message_thread_id=thread)
    assert card.message_thread_id == thread and card.is_topic_message is True
    # Telegram sets reply_to_message on every topic message to the topic's creation message.
    assert card.reply_to_message is not None
    assert card.reply_to_message.message_id == thread
    assert card.reply_to_message.forum_topic_created is not None
    assert card.reply_to_message.forum_topic_created.name == "#12 待认领 路灯不亮"

    # A reply to a message in the topic lands in the topic without naming it, and shows the real target.
    answer = await bot.send_message(FORUM, "已认领", reply_to_message_id=card.message_id)
    assert answer.message_thread_id == thread and answer.reply_to_message.message_id == card.message_id

    # Without a thread the message goes to General: no thread id, no topic flag.
    general = await bot.send_message(FORUM, "本周待认领 3 件")
    assert general.message_thread_id is None and not general.is_topic_message
    assert [m.message_id for m in api.messages(FORUM) if m.thread_id == thread] == [thread, card.message_id, answer.message_id]


async def test_topic_names_and_non_forum_chats(api: BotApiStandin, bot: Bot) -> None:
    await bot.create_forum_topic(FORUM, "字" * 128)
    with pytest.raises(BadRequest, match="(?i)TOPIC_NAME_INVALID"):
        await bot.create_forum_topic(FORUM, "字" * 129)
    with pytest.raises(BadRequest, match="(?i)the chat is not a forum"):
        await bot.create_forum_topic(GROUP, "#1")
    with pytest.raises(BadRequest, match="(?i)message thread not found"):
        await bot.send_message(GROUP, "x", message_thread_id=5)
    with pytest.raises(BadRequest, match="(?i)message thread not found"):
        await bot.send_message(FORUM, "x", message_thread_id=999)
    assert len(api.topics(FORUM)) == 1


async def test_close_reopen_edit_and_their_errors(api: BotApiStandin, bot: Bot) -> None:
    thread = (await bot.create_forum_topic(FORUM, "#3 待认领")).message_thread_id
    assert await bot.edit_forum_topic(FORUM, thread, name="#3 办理中·张三")
    assert api.topic(FORUM, thread).name == "#3 办理中·张三"
    with pytest.raises(BadRequest, match="(?i)TOPIC_NOT_MODIFIED"):
        await bot.edit_forum_topic(FORUM, thread, name="#3 办理中·张三")

    assert await bot.close_forum_topic(FORUM, thread)
    with pytest.raises(BadRequest, match="(?i)TOPIC_NOT_MODIFIED"):
        await bot.close_forum_topic(FORUM, thread)
    with pytest.raises(BadRequest, match="(?i)^topic_closed$"):
        await bot.send_message(FORUM, "催办", message_thread_id=thread)
    assert await bot.reopen_forum_topic(FORUM, thread)
    with pytest.raises(BadRequest, match="(?i)TOPIC_NOT_MODIFIED"):
        await bot.reopen_forum_topic(FORUM, thread)
    await bot.send_message(FORUM, "催办", message_thread_id=thread)
    services = [next(iter(m.service)) for m in api.messages(FORUM) if m.kind == "service"]
    assert services == ["forum_topic_created", "forum_topic_edited", "forum_topic_closed", "forum_topic_reopened"]
    # The bot's own topic actions are not sent back to it as updates.
    assert api.pending_updates() == []


async def test_deleted_topic_takes_its_messages(api: BotApiStandin, bot: Bot) -> None:
    thread = (await bot.create_forum_topic(FORUM, "#4")).message_thread_id
    card = await bot.send_message(FORUM, "card", message_thread_id=thread)
    assert await bot.delete_forum_topic(FORUM, thread)
    with pytest.raises(BadRequest, match="(?i)message thread not found"):
        await bot.send_message(FORUM, "again", message_thread_id=thread)
    with pytest.raises(BadRequest, match="(?i)message thread not found"):
        await bot.close_forum_topic(FORUM, thread)
    with pytest.raises(BadRequest, match="(?i)message to edit not found"):
        await bot.edit_message_text("edited", FORUM, card.message_id)
    assert api.messages(FORUM) == [] and api.topics(FORUM) == []


async def test_topic_rights(api: BotApiStandin, bot: Bot) -> None:
    mine = (await bot.create_forum_topic(FORUM, "mine")).message_thread_id
    theirs = api.create_topic(FORUM, OFFICER, "theirs").message_thread_id
    api.set_bot_member(FORUM, "administrator", {"can_manage_topics": False, "can_delete_messages": False})
    with pytest.raises(BadRequest, match="(?i)not enough rights to manage topics"):
        await bot.create_forum_topic(FORUM, "#5")
    with pytest.raises(BadRequest, match="(?i)not enough rights to manage topics"):
        await bot.close_forum_topic(FORUM, theirs)
    with pytest.raises(BadRequest, match="(?i)not enough rights to delete the topic"):
        await bot.delete_forum_topic(FORUM, mine)
    # As in Telegram, the creator of a topic may edit, close and reopen it without the right.
    assert await bot.close_forum_topic(FORUM, mine)
    assert await bot.edit_forum_topic(FORUM, mine, name="mine, renamed")

    api.set_bot_member(FORUM, "member")
    with pytest.raises(BadRequest, match="(?i)not enough rights to manage topics"):
        await bot.create_forum_topic(FORUM, "#6")
    api.set_bot_member(FORUM, "administrator")
    assert (await bot.create_forum_topic(FORUM, "#6")).name == "#6"


async def test_people_in_topics_send_updates_as_telegram_does(api: BotApiStandin, bot: Bot) -> None:
    thread = api.create_topic(FORUM, OFFICER, "问题讨论").message_thread_id
    sent = api.inject_message(FORUM, OFFICER, "/claim", message_thread_id=thread)
    api.rename_topic(FORUM, thread, OFFICER, "问题讨论（已认领）")
    api.close_topic(FORUM, thread, OFFICER)
    with pytest.raises(BadRequest, match="(?i)^topic_closed$"):
        await bot.send_message(FORUM, "回复", message_thread_id=thread)
    api.reopen_topic(FORUM, thread, OFFICER)

    updates = await bot.get_updates(timeout=0)
    messages = [u.message for u in updates]
    assert messages[0].forum_topic_created is not None and messages[0].forum_topic_created.name == "问题讨论"
    command = messages[1]
    assert command.message_id == sent["message_id"] and command.text == "/claim"
    assert command.message_thread_id == thread and command.is_topic_message
    assert command.reply_to_message.message_id == thread  # the topic's creation message, not a card
    assert messages[2].forum_topic_edited is not None and messages[2].forum_topic_edited.name == "问题讨论（已认领）"
    assert messages[3].forum_topic_closed is not None and messages[3].message_thread_id == thread
    assert messages[4].forum_topic_reopened is not None

    # A reply inside the topic keeps its real target; deleting the topic by hand sends nothing.
    reply = api.inject_message(FORUM, OFFICER, "补充", reply_to_message_id=sent["message_id"])
    assert reply["message_thread_id"] == thread and reply["reply_to_message"]["message_id"] == sent["message_id"]
    await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    api.delete_topic(FORUM, thread)
    with pytest.raises(BadRequest, match="(?i)message thread not found"):
        await bot.send_message(FORUM, "回复", message_thread_id=thread)
    with pytest.raises(ValueError, match="(?i)no topic"):
        api.inject_message(FORUM, OFFICER, "x", message_thread_id=thread)


async def test_group_becomes_a_forum_midway(api: BotApiStandin, bot: Bot) -> None:
    before = await bot.get_chat(GROUP)
    assert not before.is_forum
    with pytest.raises(BadRequest, match="(?i)the chat is not a forum"):
        await bot.create_forum_topic(GROUP, "#7")
    api.set_forum(GROUP)
    after = await bot.get_chat(GROUP)
    assert after.is_forum is True
    thread = (await bot.create_forum_topic(GROUP, "#7")).message_thread_id
    assert (await bot.send_message(GROUP, "x", message_thread_id=thread)).is_topic_message
    with pytest.raises(ValueError, match="(?i)only a supergroup"):
        api.set_forum(-4001)
