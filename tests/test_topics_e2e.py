"""Forum topics end to end: the real service and python-telegram-bot against the stand-in, in a
region group that is a forum. Officers act in the item's topic as they would on a phone."""

from __future__ import annotations

from typing import Any

from bot.app_context import wall_clock
from bot.delivery.forums import probe_forums
from tests.conftest import (
    DESK_CHAT,
    LANZHOU_CHAT,
    LI,
    TIANSHUI_CHAT,
    ZHANG,
    ZHAO,
    unique_id,
)
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


async def close_item(h: Harness, item_id: int) -> None:
    """What closing an item does to it (the platform published the reply), whoever closes it."""
    from bot.workflow.cards import refresh_cards
    from bot.workflow.items import get_item

    def step(session):  # type: ignore[no-untyped-def]
        item = get_item(session, item_id, lock=True)
        item.status = "closed"
        session.add(item)
        refresh_cards(session, h.services.workflow, item, h.services.now())

    await h.services.act(step)


async def claim_and_reply(h: Harness, item_id: int, thread: int) -> None:
    h.standin.inject_message(LANZHOU_CHAT, ZHANG, "/claim", message_thread_id=thread)
    await h.standin.wait_for_message(LANZHOU_CHAT, contains=f"#{item_id} 已由 张三 认领", thread_id=thread)
    h.standin.inject_message(LANZHOU_CHAT, ZHANG, "/reply 已处理。", message_thread_id=thread)
    await h.standin.wait_for(lambda st: st.topic(LANZHOU_CHAT, thread).name.startswith(f"#{item_id} 已回复"), timeout=6)


async def test_renames_and_card_edits_are_coalesced_into_the_latest_state(harness: Harness) -> None:
    h = harness
    await make_forum(h)
    item = await new_item(h)
    topic = await topic_of(h, item["id"])
    await h.drain()
    renames = h.standin.stats.get("method:editForumTopic", 0)
    edits = h.standin.stats.get("method:editMessageText", 0)
    await claim_and_reply(h, item["id"], topic.message_thread_id)
    await h.drain()
    # claim and reply within the window: one rename (straight to 已回复), one edit of the card
    assert h.standin.stats.get("method:editForumTopic", 0) - renames == 1
    assert h.standin.stats.get("method:editMessageText", 0) - edits == 1
    card = next(m for m in h.standin.messages(LANZHOU_CHAT) if m.thread_id == topic.message_thread_id
            and m.kind != "service")
    assert "已由 张三 回复" in card.text and card.edit_count == 1


async def test_an_item_closed_closes_its_topic_which_reopens_when_something_needs_an_answer(harness: Harness) -> None:
    from bot.delivery.outbox import enqueue_message

    h = harness
    await make_forum(h)
    item = await new_item(h)
    topic = await topic_of(h, item["id"])
    thread = topic.message_thread_id
    await claim_and_reply(h, item["id"], thread)
    await close_item(h, item["id"])
    await h.standin.wait_for(lambda st: st.topic(LANZHOU_CHAT, thread).closed, timeout=6)
    assert await named(h, LANZHOU_CHAT, thread, f"#{item['id']} 已办结")
    # a question about the closed item (回头看): the topic is reopened for it ...
    await h.services.act(lambda s: enqueue_message(s, LANZHOU_CHAT, "请问问题是否已解决？", now=h.services.now(),
                                                   item_id=item["id"], purpose="followup"))
    asked = await h.standin.wait_for_message(LANZHOU_CHAT, contains="是否已解决", thread_id=thread)
    assert asked.thread_id == thread
    # ... and closed again once the item is (still) closed at its next change
    await close_item(h, item["id"])
    await h.standin.wait_for(lambda st: st.topic(LANZHOU_CHAT, thread).closed, timeout=6)


async def test_a_topic_closed_by_hand_is_reopened_with_the_next_message_about_its_item(harness: Harness) -> None:
    h = harness
    await make_forum(h)
    item = await new_item(h)
    topic = await topic_of(h, item["id"])
    thread = topic.message_thread_id
    await h.drain()
    h.standin.close_topic(LANZHOU_CHAT, thread, ZHANG)
    await h.say(LANZHOU_CHAT, ZHAO, f"/supervise {item['id']}")  # a supervisor, in General
    notice = await h.standin.wait_for_message(LANZHOU_CHAT, contains="督办", thread_id=thread)
    assert notice.thread_id == thread
    assert not h.standin.topic(LANZHOU_CHAT, thread).closed


async def test_a_deleted_topic_is_made_again_with_the_card_and_the_item_is_not_lost(harness: Harness) -> None:
    h = harness
    await make_forum(h)
    item = await new_item(h)
    topic = await topic_of(h, item["id"])
    await h.drain()
    h.standin.delete_topic(LANZHOU_CHAT, topic.message_thread_id)
    await h.say(LANZHOU_CHAT, ZHAO, f"/supervise {item['id']}")
    await h.standin.wait_for(lambda st: any(t.name.startswith(f"#{item['id']} ") and t.message_thread_id != topic.message_thread_id
                                            for t in st.topics(LANZHOU_CHAT)), timeout=6)
    again = next(t for t in h.standin.topics(LANZHOU_CHAT) if t.name.startswith(f"#{item['id']} "))
    notice = await h.standin.wait_for_message(LANZHOU_CHAT, contains="督办", thread_id=again.message_thread_id)
    inside = [m for m in h.standin.messages(LANZHOU_CHAT) if m.thread_id == again.message_thread_id and m.kind != "service"]
    assert "📍" in inside[0].text and inside[-1].message_id == notice.message_id  # the card first, then the notice
    # the item goes on: claimed from the new card's topic
    h.standin.inject_message(LANZHOU_CHAT, ZHANG, "/claim", message_thread_id=again.message_thread_id)
    await h.standin.wait_for_message(LANZHOU_CHAT, contains="已由 张三 认领", thread_id=again.message_thread_id)
    assert (await h.get_item(item["id"]))["status"] == "claimed"


async def test_a_group_converted_to_a_forum_mid_way_gets_topics_for_new_items_only(harness: Harness) -> None:
    h = harness
    before = await new_item(h)
    card = await h.card(LANZHOU_CHAT, before["id"])
    assert card.thread_id is None and not h.standin.topics(LANZHOU_CHAT)
    h.standin.set_forum(LANZHOU_CHAT, True)
    # anyone writing in the group shows the bot it is a forum now
    await h.say(LANZHOU_CHAT, LI, "/mine")
    await h.answer_to(LANZHOU_CHAT, "我办理中的留言")
    after = await new_item(h, title="小区停水")
    topic = await topic_of(h, after["id"])
    assert topic.name == f"#{after['id']} 待认领 小区停水"
    assert not [t for t in h.standin.topics(LANZHOU_CHAT) if t.name.startswith(f"#{before['id']} ")]
    # the old item's card, in General, still works as before
    await h.say(LANZHOU_CHAT, ZHANG, f"/claim {before['id']}")
    await h.answer_to(LANZHOU_CHAT, f"#{before['id']} 已由 张三 认领")


async def test_a_rerouted_item_leaves_a_closed_topic_saying_where_it_went(harness: Harness) -> None:
    h = harness
    await make_forum(h)
    item = await new_item(h)
    topic = await topic_of(h, item["id"])
    await h.say(DESK_CHAT, ZHAO, f"/route {item['id']} 天水")
    await h.card(TIANSHUI_CHAT, item["id"])
    await h.standin.wait_for(lambda st: st.topic(LANZHOU_CHAT, topic.message_thread_id).closed, timeout=6)
    assert await named(h, LANZHOU_CHAT, topic.message_thread_id, f"#{item['id']} 已转至天水市 夜间施工噪音")


async def test_assign_claims_for_an_officer_who_is_told_and_a_held_item_changes_hands(harness: Harness) -> None:
    h = harness
    await make_forum(h)
    item = await new_item(h)
    topic = await topic_of(h, item["id"])
    thread = topic.message_thread_id
    for user in (ZHANG, LI):  # both started the bot privately
        await h.say(user, user, "/start")
        await h.standin.wait_for(lambda st, user=user: st.messages(user))
    h.standin.inject_message(LANZHOU_CHAT, ZHAO, "/assign 张三", message_thread_id=thread)
    await h.standin.wait_for_message(LANZHOU_CHAT, contains="已派给 张三", thread_id=thread)
    told = await h.answer_to(ZHANG, f"#{item['id']}")
    assert "派给您" in told.text
    assert (await h.get_item(item["id"]))["claimed_by"] == ZHANG
    await h.say(DESK_CHAT, ZHAO, f"/assign {item['id']} {LI}")  # by user id, from the desk
    await h.standin.wait_for_message(LANZHOU_CHAT, contains="已派给 李四", thread_id=thread)
    await h.answer_to(ZHANG, "不再是办理人")
    await h.answer_to(LI, "派给您")
    assert (await h.get_item(item["id"]))["claimed_by"] == LI
    assert await named(h, LANZHOU_CHAT, thread, f"#{item['id']} 办理中·李四")


async def test_assign_is_refused_for_another_region_a_non_officer_and_a_non_supervisor(harness: Harness) -> None:
    h = harness
    item = await new_item(h)
    await h.card(LANZHOU_CHAT, item["id"])
    await h.say(DESK_CHAT, ZHAO, f"/assign {item['id']} 王五")
    await h.answer_to(DESK_CHAT, "不是兰州市的联络员")
    await h.say(DESK_CHAT, ZHAO, f"/assign {item['id']} 赵六")
    await h.answer_to(DESK_CHAT, "不是联络员")
    await h.say(DESK_CHAT, ZHAO, f"/assign {item['id']} 无名氏")
    await h.answer_to(DESK_CHAT, "名册中没有")
    await h.say(LANZHOU_CHAT, ZHANG, f"/assign {item['id']} 李四")
    await h.answer_to(LANZHOU_CHAT, "只有督办人员可以派单")
    assert (await h.get_item(item["id"]))["status"] == "new"


async def test_assign_by_a_name_several_officers_share_is_refused_listing_them(db_url: str) -> None:
    from tests.conftest import BASE_CONFIG, LANZHOU, make_config

    officers = [*BASE_CONFIG["officers"], {"user_id": 1004, "name": "张三", "region": LANZHOU, "role": "officer"}]
    async with Harness(make_config(db_url, officers=officers)) as h:
        item = await new_item(h)
        await h.card(LANZHOU_CHAT, item["id"])
        await h.say(DESK_CHAT, ZHAO, f"/assign {item['id']} 张三")
        refusal = await h.answer_to(DESK_CHAT, "2 位“张三”")
        assert "1001" in refusal.text and "1004" in refusal.text
        await h.say(DESK_CHAT, ZHAO, f"/assign {item['id']} 1004")
        await h.answer_to(DESK_CHAT, "已派给 张三")
        assert (await h.get_item(item["id"]))["claimed_by"] == 1004
