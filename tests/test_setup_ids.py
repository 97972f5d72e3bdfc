"""A new office learns its ids from the bot: ``/id`` in a group or a private chat, and a greeting
with the group's id when the bot is added — without any other bot's help."""

from __future__ import annotations

from tests.conftest import LANZHOU_CHAT, STRANGER, ZHANG
from tests.harness import Harness

NEW_GROUP = -1001000000999


async def test_id_in_a_group_gives_the_chat_id_the_user_id_and_the_config_lines(harness: Harness) -> None:
    await harness.say(LANZHOU_CHAT, STRANGER, "/id")  # not in the roster: still answered
    answer = await harness.answer_to(LANZHOU_CHAT, str(LANZHOU_CHAT))
    assert f"chat_id = {LANZHOU_CHAT}" in answer.text and "[[regions]]" in answer.text
    assert str(STRANGER) in answer.text


async def test_id_in_a_private_chat_gives_the_officer_lines(harness: Harness) -> None:
    await harness.say(ZHANG, ZHANG, "/id")
    answer = await harness.answer_to(ZHANG, "[[officers]]")
    assert f"user_id = {ZHANG}" in answer.text and 'name = "张三"' in answer.text


async def test_adding_the_bot_to_a_group_posts_the_groups_id(harness: Harness) -> None:
    harness.standin.register_chat(NEW_GROUP, "白银市联络群", type="supergroup")
    harness.standin.set_bot_member(NEW_GROUP, "left")
    harness.standin.add_bot(NEW_GROUP, by_user_id=ZHANG)
    greeting = await harness.answer_to(NEW_GROUP, f"chat_id = {NEW_GROUP}")
    assert "白银市联络群" in greeting.text
    # a change of rights while it stays in the group is not a new arrival: no second greeting
    harness.standin.set_bot_member(NEW_GROUP, "administrator", announce=True, by_user_id=ZHANG)
    asked = await harness.say(NEW_GROUP, ZHANG, "/id")
    await harness.standin.wait_for(lambda st: any(m.reply_to_message_id == asked["message_id"]
                                                  for m in st.messages(NEW_GROUP)))
    await harness.drain()
    texts = [m.text or "" for m in harness.standin.messages(NEW_GROUP)]
    assert sum(f"chat_id = {NEW_GROUP}" in t for t in texts) == 2  # the greeting and the /id answer
