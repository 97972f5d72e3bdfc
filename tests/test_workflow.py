"""The workflow against a real database (SQLite, and PostgreSQL when configured): what officers and
the desk would notice — who wins a claim, what is refused and why, what is queued to be said."""

from __future__ import annotations

import dataclasses
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from bot.app_context import AppContext
from bot.config import FollowupConfig
from bot.learn import train
from bot.rules.states import Refusal
from bot.workflow import Actor, Incoming, WorkflowContext
from bot.workflow import intake as intake_step
from bot.workflow.answers import refusal_text
from bot.workflow.buttons import BUTTONS, press
from bot.workflow.claims import claim, reply
from bot.workflow.deadlines import request_extension
from bot.workflow.followup import sweep_followups
from bot.workflow.reading import show
from bot.workflow.routing import route
from bot.workflow.verification import select_item
from scheduler.sweep import SweepReport
from storage.models import Card, Event, Item, Outbox
from tests.conftest import (
    DESK_CHAT,
    LANZHOU,
    LANZHOU_CHAT,
    LI,
    QIAN,
    STRANGER,
    TIANSHUI,
    TIANSHUI_CHAT,
    WANG,
    ZHANG,
    ZHAO,
)

NOW = datetime(2026, 10, 9, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai, a Friday


@pytest.fixture
def s(config):  # type: ignore[no-untyped-def]
    services = AppContext.create(config, clock=lambda: NOW)
    yield services
    services.db.dispose()


def actor(user_id: int, chat_id: int = LANZHOU_CHAT, name: str = "") -> Actor:
    return Actor(user_id=user_id, name=name or str(user_id), chat_id=chat_id, message_id=77)


def intake(s: AppContext, *messages: Incoming) -> list[tuple[Item, bool]]:
    return s.db.call(intake_step.intake, s.workflow, list(messages), NOW)


def outbox(s: AppContext, **where: object) -> list[Outbox]:
    def q(session):  # type: ignore[no-untyped-def]
        stmt = select(Outbox).order_by(Outbox.id)
        for k, v in where.items():
            stmt = stmt.where(getattr(Outbox, k) == v)
        return list(session.exec(stmt))

    return s.db.call(q)


def test_intake_routes_by_alias_and_queues_one_card_in_that_chat(s: AppContext) -> None:
    (item, created), = intake(s, Incoming("e1", "城关区某小区停车难，晚上车位严重不足", title="停车难"))
    assert created and item.region == LANZHOU and item.status == "new"
    cards = outbox(s, purpose="card")
    assert [c.chat_id for c in cards] == [LANZHOU_CHAT]
    text = json.loads(cards[0].payload)["text"]
    assert f"#{item.id}" in text and "兰州市" in text
    assert json.loads(cards[0].payload)["buttons"][0][0]["callback_data"] == f"claim:{item.id}"


def test_intake_is_idempotent_on_external_id(s: AppContext) -> None:
    first, = intake(s, Incoming("dup", "兰州的路灯坏了"))
    again, = intake(s, Incoming("dup", "completely different body"))
    assert first[1] is True and again[1] is False
    assert again[0].id == first[0].id and again[0].body == "兰州的路灯坏了"
    assert len(outbox(s, purpose="card")) == 1


def test_unknown_region_value_is_kept_as_hint_and_goes_to_the_desk(s: AppContext) -> None:
    (item, _), = intake(s, Incoming("u1", "我们这里的路很难走", region="火星市"))
    assert item.region is None and item.status == "unrouted" and item.region_hint == "火星市"
    assert [c.chat_id for c in outbox(s, purpose="card")] == [DESK_CHAT]


def test_explicit_region_by_code_or_name_wins_over_text(s: AppContext) -> None:
    (a, _), (b, _) = intake(s, Incoming("x1", "兰州城关区的事", region=TIANSHUI),
                            Incoming("x2", "兰州城关区的事", region="天水市"))
    assert a.region == TIANSHUI and b.region == TIANSHUI


def test_claim_then_refusals_name_the_holder_and_the_reason(s: AppContext) -> None:
    (item, _), = intake(s, Incoming("c1", "城关区噪音"))
    s.db.call(claim, s.workflow, item.id, actor(ZHANG, name="张三"), NOW)
    with pytest.raises(Refusal) as held:
        s.db.call(claim, s.workflow, item.id, actor(LI), NOW)
    assert held.value.code == "held_by" and held.value.params["holder"] == "张三"
    assert refusal_text(s.workflow, held.value, actor(LI)) == f"#{item.id} 已由 张三 于 10:00 认领。"
    with pytest.raises(Refusal) as wrong:
        s.db.call(claim, s.workflow, item.id, actor(WANG, TIANSHUI_CHAT), NOW)
    assert wrong.value.code in ("wrong_region", "held_by")
    with pytest.raises(Refusal) as stranger:
        s.db.call(claim, s.workflow, item.id, actor(STRANGER), NOW)
    assert stranger.value.code == "not_in_roster"
    with pytest.raises(Refusal) as leader:
        s.db.call(claim, s.workflow, item.id, actor(QIAN), NOW)
    assert leader.value.code == "leader_cannot"


def test_officer_of_another_region_is_refused_by_name(s: AppContext) -> None:
    (item, _), = intake(s, Incoming("c2", "城关区噪音"))
    with pytest.raises(Refusal) as wrong:
        s.db.call(claim, s.workflow, item.id, actor(WANG, TIANSHUI_CHAT), NOW)
    assert refusal_text(s.workflow, wrong.value, actor(WANG)) == f"你不是兰州市的联络员，不能办理 #{item.id}。"


def test_claim_edits_the_card_and_logs_who_from_which_chat(s: AppContext) -> None:
    (item, _), = intake(s, Incoming("c3", "城关区噪音"))
    s.db.call(claim, s.workflow, item.id, actor(ZHANG, name="张三"), NOW)
    card_payload = json.loads(outbox(s, purpose="card")[0].payload)  # not yet sent: the card itself is updated
    assert "张三" in card_payload["text"] and not card_payload["buttons"]
    events = s.db.call(lambda session: list(session.exec(select(Event).where(Event.item_id == item.id))))
    claimed = [e for e in events if e.action == "claimed"]
    assert claimed and claimed[0].actor_id == ZHANG and claimed[0].chat_id == LANZHOU_CHAT


def test_many_simultaneous_claims_have_exactly_one_winner(s: AppContext) -> None:
    (item, _), = intake(s, Incoming("race", "城关区噪音"))
    barrier = threading.Barrier(50)
    officers = [ZHANG, LI, ZHAO] * 17

    def attempt(user_id: int) -> str:
        barrier.wait()
        try:
            s.db.call(claim, s.workflow, item.id, actor(user_id), NOW)
            return "won"
        except Refusal as r:
            return r.code

    with ThreadPoolExecutor(max_workers=50) as pool:
        results = list(pool.map(attempt, officers[:50]))
    assert results.count("won") == 1
    assert set(results) - {"won"} <= {"held_by", "held_by_you"}
    events = s.db.call(lambda session: list(session.exec(select(Event).where(Event.action == "claimed"))))
    assert len(events) == 1


def test_reply_rules_holder_or_supervisor(s: AppContext) -> None:
    (item, _), = intake(s, Incoming("r1", "城关区噪音"))
    with pytest.raises(Refusal) as first:
        s.db.call(reply, s.workflow, item.id, actor(ZHANG), "已处理", NOW)
    assert first.value.code == "claim_first"
    s.db.call(claim, s.workflow, item.id, actor(ZHANG, name="张三"), NOW)
    with pytest.raises(Refusal) as other:
        s.db.call(reply, s.workflow, item.id, actor(LI), "我来回复", NOW)
    assert other.value.code == "not_holder"
    with pytest.raises(Refusal) as empty:
        s.db.call(reply, s.workflow, item.id, actor(ZHANG), "   ", NOW)
    assert empty.value.code == "empty_reply"
    done = s.db.call(reply, s.workflow, item.id, actor(ZHANG), "已协调城管部门处理。", NOW)
    assert done.status == "replied" and done.reply == "已协调城管部门处理。"
    with pytest.raises(Refusal) as again:
        s.db.call(reply, s.workflow, item.id, actor(ZHANG), "再回复", NOW)
    assert again.value.code == "already_replied"


def test_supervisor_replying_to_unclaimed_item_holds_it(s: AppContext) -> None:
    (item, _), = intake(s, Incoming("r2", "城关区噪音"))
    done = s.db.call(reply, s.workflow, item.id, actor(ZHAO, DESK_CHAT, "赵六"), "已转办", NOW)
    assert done.status == "replied" and done.claimed_by == ZHAO


def test_route_and_reroute_edit_old_card_and_post_new(s: AppContext) -> None:
    (item, _), = intake(s, Incoming("rt", "我们这里的路很难走"))
    with pytest.raises(Refusal) as officer:
        s.db.call(route, s.workflow, item.id, actor(ZHANG), "兰州市", NOW)
    assert officer.value.code == "route_supervisors_only"
    with pytest.raises(Refusal) as unknown:
        s.db.call(route, s.workflow, item.id, actor(ZHAO, DESK_CHAT), "火星", NOW)
    assert unknown.value.code == "unknown_region" and "兰州市" in unknown.value.params["choices"]
    routed = s.db.call(route, s.workflow, item.id, actor(ZHAO, DESK_CHAT), "城关区", NOW)
    assert routed.region == LANZHOU and routed.status == "new"
    moved = s.db.call(route, s.workflow, item.id, actor(ZHAO, DESK_CHAT), TIANSHUI, NOW)
    assert moved.region == TIANSHUI
    cards = s.db.call(lambda session: list(session.exec(select(Card).where(Card.item_id == item.id).order_by(Card.id))))
    assert [c.chat_id for c in cards] == [DESK_CHAT, LANZHOU_CHAT, TIANSHUI_CHAT]
    assert [c.active for c in cards] == [False, False, True]
    lanzhou_card = json.loads(s.db.call(lambda session: session.get(Outbox, cards[1].outbox_id)).payload)
    assert "已转至 天水市" in lanzhou_card["text"]


def test_group_cards_mask_personal_numbers_but_private_show_to_holder_does_not(s: AppContext) -> None:
    (item, _), = intake(s, Incoming("pii", "城关区，请回电13912345678，身份证620102199001011234"))
    card = json.loads(outbox(s, purpose="card")[0].payload)["text"]
    assert "13912345678" not in card and "139****5678" in card
    assert "620102199001011234" not in card
    s.db.call(claim, s.workflow, item.id, actor(ZHANG, name="张三"), NOW)
    s.db.call(show, s.workflow, item.id, Actor(ZHANG, "张三", chat_id=ZHANG), NOW, private=True)
    shown = json.loads(outbox(s, purpose="show")[-1].payload)["text"]
    assert "13912345678" in shown
    s.db.call(show, s.workflow, item.id, Actor(LI, "李四", chat_id=LI), NOW, private=True)
    shown_other = json.loads(outbox(s, purpose="show")[-1].payload)["text"]
    assert "13912345678" not in shown_other


def test_hostile_text_is_escaped_and_long_text_shortened_with_marker(s: AppContext) -> None:
    body = "<script>alert(1)</script> & <b>未闭合 😀" + "兰州" * 6000
    (item, _), = intake(s, Incoming("evil", body, title="<i>标题"))
    text = json.loads(outbox(s, purpose="card")[0].payload)["text"]
    assert "<script>" not in text and "&lt;script&gt;" in text and "&amp;" in text
    assert "&lt;i&gt;标题" in text
    from bot.render import visible_length

    assert visible_length(text) <= 4096
    assert f"/show {item.id}" in text  # the visible marker says how to read the rest


def test_every_button_the_bot_puts_on_a_message_is_one_the_table_answers(s: AppContext) -> None:
    """A card, a sensitive alert, an extension request, a request to verify and a look-back
    question carry buttons; each action is in the
    table of buttons, the table has no action nothing carries, and anything else is a stale button."""
    (item, _), _ = intake(s, Incoming("buttons", "今晚有人在兰州市政府门口聚集，扬言要跳楼，情况紧急。",
                                      region=LANZHOU),
                          Incoming("unclaimed", "七里河区路灯不亮", region=LANZHOU))
    s.db.call(claim, s.workflow, item.id, actor(ZHANG, name="张三"), NOW)
    s.db.call(request_extension, s.workflow, item.id, actor(ZHANG), 2, "需要现场核实", NOW)
    # an unrouted item's desk card offers the learned suggestions (two regions: two buttons)
    s.workflow.learner.model = train([(f"雁滩公园{k}号", LANZHOU) for k in range(6)]
                                     + [(f"伏羲庙{k}号", TIANSHUI) for k in range(6)])
    intake(s, Incoming("unrouted", "3号"))  # as likely one as the other
    s.db.call(select_item, s.workflow, item.id, actor(ZHAO, DESK_CHAT), NOW)  # 报前核查
    looking_back = WorkflowContext(dataclasses.replace(s.config, followup=FollowupConfig(after_days=1)), s.renderer)
    s.db.call(reply, looking_back, item.id, actor(ZHANG), "已处理。", NOW)
    s.db.call(sweep_followups, looking_back, datetime(2026, 10, 12, 2, 0, tzinfo=UTC), SweepReport())  # 回头看
    carried = {button["callback_data"].partition(":")[0]
               for row in outbox(s) for line in json.loads(row.payload).get("buttons") or []
               for button in line}
    assert carried | {"pick3"} == set(BUTTONS)  # a third suggestion needs a third region
    with pytest.raises(Refusal) as stale:
        s.db.call(press, s.workflow, "delete", item.id, actor(ZHAO, DESK_CHAT), DESK_CHAT, 1, NOW)
    assert stale.value.code == "stale_button"
