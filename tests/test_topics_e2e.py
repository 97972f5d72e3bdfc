"""Forum topics end to end: the real service and python-telegram-bot against the stand-in, in a
region group that is a forum. Officers act in the item's topic as they would on a phone."""

from __future__ import annotations

from typing import Any

from bot.app_context import wall_clock
from bot.delivery.forums import probe_forums
from tests.conftest import DESK_CHAT, LANZHOU_CHAT, LI, TIANSHUI_CHAT, WANG, ZHANG, ZHAO, unique_id
from tests.harness import Harness


async def make_forum(h: Harness, chat_id: int = LANZHOU_CHAT) -> None:
    """The group turns topics on and the bot has looked (as it does at start and every few minutes)."""
    h.standin.set_forum(chat_id, True)
    await probe_forums(h.services.db, h.service.app.bot, wall_clock)


async def new_item(h: Harness, title: str = "夜间施工噪音", body: str = "城关区雁滩路夜间施工噪音扰民，请查处。",
                   **fields: Any) -> dict[str, Any]:
    return await h.post_message(external_id=unique_id(), title=title, body=body, **fields)


async def topic_of(h: Harness, item_id: int, chat_id: int = LANZHOU_CHAT, timeout: float = 5.0):  # type: ignore[no-untyped-def]
    """The item's topic once it exists, with the card inside it."""
    def find(st):  # type: ignore[no-untyped-def]
        for topic in st.topics(chat_id):
            if topic.name.startswith(f"#{item_id} "):
                card = [m for m in st.messages(chat_id) if m.thread_id == topic.message_thread_id
                        and f"#{item_id}" in (m.text or "") and "📍" in (m.text or "")]
                if card:
                    return topic
        return None

    return await h.standin.wait_for(find, timeout=timeout)


async def named(h: Harness, chat_id: int, thread_id: int, start: str, timeout: float = 6.0) -> str:
    await h.standin.wait_for(lambda st: st.topic(chat_id, thread_id).name.startswith(start), timeout=timeout)
    return h.standin.topic(chat_id, thread_id).name


async def test_a_forum_group_gets_a_topic_per_item_with_the_card_first_and_the_status_in_its_name(harness: Harness) -> None:
    h = harness
    await make_forum(h)
    item = await new_item(h)
    topic = await topic_of(h, item["id"])
    assert topic.name == f"#{item['id']} 待认领 夜间施工噪音"
    in_topic = [m for m in h.standin.messages(LANZHOU_CHAT) if m.thread_id == topic.message_thread_id
                and m.kind != "service"]
    assert in_topic and f"#{item['id']}" in in_topic[0].text  # the card is the topic's first message
    card = in_topic[0]
    h.standin.press_button(LANZHOU_CHAT, card.message_id, ZHANG, f"claim:{item['id']}")
    assert await named(h, LANZHOU_CHAT, topic.message_thread_id, f"#{item['id']} 办理中·张三")
    await h.say(LANZHOU_CHAT, ZHANG, "/reply 已责令施工单位夜间停工。", ) if False else None


async def test_in_a_topic_commands_need_no_number_and_reply_takes_all_its_text(harness: Harness) -> None:
    h = harness
    await make_forum(h)
    item = await new_item(h)
    other = await new_item(h, title="路灯不亮")
    topic = await topic_of(h, item["id"])
    thread = topic.message_thread_id
    # a number naming another item is refused, in the topic
    h.standin.inject_message(LANZHOU_CHAT, ZHANG, f"/claim {other['id']}", message_thread_id=thread)
    refusal = await h.standin.wait_for_message(LANZHOU_CHAT, contains=f"#{item['id']} 的", thread_id=thread)
    assert f"#{other['id']}" in refusal.text
    assert (await h.get_item(other["id"]))["status"] == "new"
    h.standin.inject_message(LANZHOU_CHAT, ZHANG, "/claim", message_thread_id=thread)
    await h.standin.wait_for_message(LANZHOU_CHAT, contains=f"#{item['id']} 已由 张三 认领", thread_id=thread)
    # a plain message of the holder in the topic is a progress note; /note needs no number
    h.standin.inject_message(LANZHOU_CHAT, ZHANG, "已电话联系施工单位", message_thread_id=thread)
    h.standin.inject_message(LANZHOU_CHAT, ZHANG, "/note 12 点前往现场核查", message_thread_id=thread)
    await h.standin.wait_for_message(LANZHOU_CHAT, contains="进展已记录", thread_id=thread)
    h.standin.inject_message(LANZHOU_CHAT, ZHANG, "/show", message_thread_id=thread)
    notes = await h.standin.wait_for_message(LANZHOU_CHAT, contains="办理记录", thread_id=thread)
    assert "已电话联系施工单位" in notes.text and "12 点前往现场核查" in notes.text
    # /reply takes all of its argument as text (a leading number is part of the reply)
    h.standin.inject_message(LANZHOU_CHAT, ZHANG, "/reply 3 天内完成整改，已责令夜间停工。", message_thread_id=thread)
    await h.standin.wait_for_message(LANZHOU_CHAT, contains=f"#{item['id']}", thread_id=thread,
                                     predicate=lambda m: "已回复" in m.text or "回复" in m.text)
    stored = await h.get_item(item["id"])
    assert stored["status"] == "replied" and stored["reply"] == "3 天内完成整改，已责令夜间停工。"
    assert await named(h, LANZHOU_CHAT, thread, f"#{item['id']} 已回复")
