"""Priority, complex items, extensions and the due/overdue lists, against a real database: what
officers and the desk would notice — the deadline that moves, who may move it, what each chat is told."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.app_context import AppContext
from bot.config import Config
from bot.rules.deadlines import Priority, apply_supervision, compute_deadline
from bot.rules.states import Refusal
from bot.web.intake import item_json
from bot.workflow import Actor, Incoming, buttons, claims
from bot.workflow import deadlines as steps
from bot.workflow.answers import refusal_text
from bot.workflow.cards import render_card
from bot.workflow.claims import reply
from bot.workflow.intake import intake
from bot.workflow.items import get_item
from bot.workflow.supervision import supervise
from storage.models import Event, ExtensionRequest, Item, Outbox
from tests.conftest import DESK_CHAT, LANZHOU_CHAT, LEADERS_CHAT, LI, QIAN, STRANGER, TIANSHUI_CHAT, WANG, ZHANG, ZHAO

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)  # Monday


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"2026-{text}").replace(tzinfo=TZ)


@pytest.fixture
def s(config: Config) -> Iterator[AppContext]:
    services = AppContext.create(config, clock=lambda: NOW)
    yield services
    services.db.dispose()


def actor(user_id: int, chat_id: int = LANZHOU_CHAT) -> Actor:
    names = {ZHANG: "张三", LI: "李四", WANG: "王五", ZHAO: "赵六", QIAN: "钱七"}
    return Actor(user_id=user_id, name=names.get(user_id, "路人"), chat_id=chat_id, message_id=77)


def new(s: AppContext, body: str = "城关区某小区楼道堆放杂物，存在消防隐患。", received: datetime = NOW,
        claim: int | None = ZHANG) -> int:
    (item, _), = s.db.call(intake, s.workflow, [Incoming(f"e{received.timestamp()}{body[:4]}", body,
                                                        received_at=received)], received)
    if claim is not None:
        s.db.call(claims.claim, s.workflow, item.id, actor(claim), received)
    return item.id


def get(s: AppContext, item_id: int) -> Item:
    return s.db.call(lambda ss: get_item(ss, item_id))


def said(s: AppContext, chat_id: int, purpose: str | None = None) -> list[str]:
    def q(session):  # type: ignore[no-untyped-def]
        stmt = select(Outbox).where(Outbox.chat_id == chat_id, Outbox.method == "sendMessage")
        if purpose:
            stmt = stmt.where(Outbox.purpose == purpose)
        return [json.loads(r.payload)["text"] for r in session.exec(stmt.order_by(Outbox.id))]

    return s.db.call(q)


def events(s: AppContext, item_id: int, action: str) -> list[dict[str, Any]]:
    def q(session):  # type: ignore[no-untyped-def]
        rows = session.exec(select(Event).where(Event.item_id == item_id, Event.action == action))
        return [json.loads(e.detail) | {"actor": e.actor_id} for e in rows]

    return s.db.call(q)


def refused(s: AppContext, fn: Any, *args: Any) -> Refusal:
    with pytest.raises(Refusal) as info:
        s.db.call(fn, s.workflow, *args)
    return info.value


# ---------------------------------------------------------------------------- priority


def test_supervisor_makes_an_item_urgent_and_everyone_sees_the_new_deadline(s: AppContext) -> None:
    item = new(s)
    assert get(s, item).deadline == at("11-30T18:00")
    s.db.call(steps.set_priority, s.workflow, item, actor(ZHAO, DESK_CHAT), "紧急", NOW, "涉及消防安全")
    assert get(s, item).priority == "urgent" and get(s, item).deadline == at("11-23T18:00")
    assert "已改为【紧急】，新时限：2026-11-23 18:00" in said(s, DESK_CHAT)[-1]
    notice = said(s, LANZHOU_CHAT, "deadline_changed")[-1]  # the holder is told where they work
    assert f'<a href="tg://user?id={ZHANG}">张三</a>' in notice and "涉及消防安全" in notice
    (event,) = events(s, item, "priority_changed")
    assert event["old"] == "ordinary" and event["new"] == "urgent" and event["actor"] == ZHAO
    # the card is edited to show the new priority and deadline
    edits = s.db.call(lambda ss: [json.loads(r.payload)["text"] for r in ss.exec(
        select(Outbox).where(Outbox.item_id == item, Outbox.purpose.in_(["card", "card_edit"])))])  # type: ignore[attr-defined]
    assert "【紧急】" in edits[-1] and "11-23 18:00" in edits[-1]


@pytest.mark.parametrize("who, value, code", [
    (ZHANG, "urgent", "priority_supervisors_only"),
    (QIAN, "urgent", "priority_supervisors_only"),
    (STRANGER, "urgent", "not_in_roster"),
    (ZHAO, "very", "bad_priority"),
    (ZHAO, "ordinary", "same_priority"),
])
def test_priority_refusals(s: AppContext, who: int, value: str, code: str) -> None:
    item = new(s)
    assert refused(s, steps.set_priority, item, actor(who), value, NOW).code == code
    assert get(s, item).priority == "ordinary"


def test_priority_of_a_replied_item_cannot_change(s: AppContext) -> None:
    item = new(s)
    s.db.call(reply, s.workflow, item, actor(ZHANG), "已处理", NOW)
    assert refused(s, steps.set_priority, item, actor(ZHAO), "urgent", NOW).code == "already_replied"


def test_a_supervised_item_stays_supervised_when_its_priority_changes(s: AppContext) -> None:
    item = new(s)  # due Mon 11-30 18:00
    s.db.call(supervise, s.workflow, item, actor(QIAN, LEADERS_CHAT), at("11-24T10:00"))
    factor = s.config.deadlines.supervised_factor
    assert get(s, item).deadline == apply_supervision(at("11-30T18:00"), at("11-24T10:00"), factor,
                                                      s.workflow.policy.hours, TZ)
    assert get(s, item).deadline == at("11-26T14:00")  # half of the 44 working hours left
    s.db.call(steps.set_priority, s.workflow, item, actor(ZHAO, DESK_CHAT), "complex", at("11-25T10:00"))
    base = compute_deadline(NOW, Priority.COMPLEX, s.workflow.policy, TZ).due  # Mon 12-07 18:00
    assert base == at("12-07T18:00")
    # what remained at the moment of supervision, shrunk by the factor, for the new priority
    # (in working time: 89 office hours remained, half of them ends Tue 12-01 09:30)
    assert get(s, item).deadline == at("12-01T09:30")


# ---------------------------------------------------------------------------- complex


def test_holder_marks_an_item_complex_with_a_reason(s: AppContext) -> None:
    item = new(s)
    s.db.call(steps.mark_complex, s.workflow, item, actor(ZHANG), "涉及住建、消防两个部门，需要调查", NOW)
    got = get(s, item)
    assert got.priority == "complex" and got.complex_reason == "涉及住建、消防两个部门，需要调查"
    assert got.deadline == at("12-07T18:00")  # 10 working days after Mon 11-23
    assert events(s, item, "marked_complex")[0]["reason"] == "涉及住建、消防两个部门，需要调查"
    assert "已改为【复杂】" in said(s, LANZHOU_CHAT)[-1]


def test_complex_refusals(s: AppContext) -> None:
    item = new(s)
    assert refused(s, steps.mark_complex, item, actor(LI), "理由", NOW).code == "complex_holder_only"
    assert refused(s, steps.mark_complex, item, actor(ZHANG), "  ", NOW).code == "complex_needs_reason"
    assert refused(s, steps.mark_complex, item, actor(ZHANG), "很长" * 300, NOW).code == "reason_too_long"
    unclaimed = new(s, "七里河区另一件事。", claim=None)
    assert refused(s, steps.mark_complex, unclaimed, actor(ZHANG), "理由", NOW).code == "claim_first"
    s.db.call(steps.mark_complex, s.workflow, item, actor(ZHAO, DESK_CHAT), "督办人员判断", NOW)
    assert refused(s, steps.mark_complex, item, actor(ZHANG), "再来", NOW).code == "same_priority"


# ---------------------------------------------------------------------------- extensions


def request_message(s: AppContext, item_id: int, message_id: int) -> Outbox:
    """The desk's request message, as the delivery worker leaves it once Telegram accepted it."""

    def q(session):  # type: ignore[no-untyped-def]
        row = session.exec(select(Outbox).where(Outbox.item_id == item_id, Outbox.purpose == "extension_request",
                                                Outbox.status == "pending")).one()
        row.status, row.message_id = "sent", message_id
        session.add(row)
        return row

    return s.db.call(q)


def press(s: AppContext, action: str, item_id: int, user_id: int, message_id: int, when: datetime = NOW) -> str:
    return s.db.call(buttons.press, s.workflow, action, item_id, actor(user_id, DESK_CHAT), DESK_CHAT, message_id, when)


def test_extension_request_goes_to_the_desk_and_approval_moves_the_deadline(s: AppContext) -> None:
    item = new(s)  # due Mon 11-30 18:00
    s.db.call(steps.request_extension, s.workflow, item, actor(ZHANG), 3, "需要现场核实", NOW)
    assert "已提交，等待督办人员审批" in said(s, LANZHOU_CHAT)[-1]
    row = request_message(s, item, 900)
    payload = json.loads(row.payload)
    assert "申请延期 <b>3</b> 个工作日" in payload["text"] and "需要现场核实" in payload["text"]
    assert "批准后 2026-12-03 18:00" in payload["text"] and f"tg://user?id={ZHAO}" in payload["text"]
    assert [b["callback_data"] for b in payload["buttons"][0]] == [f"ext_ok:{item}", f"ext_no:{item}"]
    assert get(s, item).deadline == at("11-30T18:00")  # nothing moves before the decision

    popup = press(s, "ext_ok", item, ZHAO, 900)
    assert popup == f"已批准 #{item} 延期 3 个工作日"
    got = get(s, item)
    assert got.extended_by == 3 and got.deadline == at("12-03T18:00")
    assert "已延期 3 个工作日" in render_card(s.workflow, got)[0]
    api = item_json(s, got, NOW)
    assert api["extended_by"] == 3 and api["deadline"] == "2026-12-03T18:00:00+08:00" and api["provisional"] is False
    (event,) = events(s, item, "extension_approved")
    assert event["days"] == 3 and event["total"] == 3 and event["actor"] == ZHAO
    holder_note = said(s, LANZHOU_CHAT, "extension_decided")[-1]
    assert f'<a href="tg://user?id={ZHANG}">张三</a>' in holder_note and "已由 赵六 批准" in holder_note
    assert "新时限：2026-12-03 18:00" in said(s, DESK_CHAT, "extension_decided")[-1]
    # the same buttons pressed again change nothing
    with pytest.raises(Refusal) as again:
        press(s, "ext_ok", item, ZHAO, 900)
    assert again.value.code == "no_pending_extension" and get(s, item).extended_by == 3


def test_refused_extension_leaves_the_deadline_and_tells_the_holder(s: AppContext) -> None:
    item = new(s)
    s.db.call(steps.request_extension, s.workflow, item, actor(ZHANG), 2, "等待材料", NOW)
    request_message(s, item, 901)
    assert press(s, "ext_no", item, ZHAO, 901) == f"已驳回 #{item} 的延期申请"
    got = get(s, item)
    assert got.extended_by == 0 and got.deadline == at("11-30T18:00")
    assert "未获 赵六 批准" in said(s, LANZHOU_CHAT, "extension_decided")[-1]
    assert events(s, item, "extension_refused")[0]["days"] == 2
    status = s.db.call(lambda ss: ss.exec(select(ExtensionRequest.status)).all())
    assert status == ["refused"]


def test_extension_refusals(s: AppContext) -> None:
    item = new(s)
    assert refused(s, steps.request_extension, item, actor(LI), 2, "理由", NOW).code == "extend_holder_only"
    assert refused(s, steps.request_extension, item, actor(ZHAO, DESK_CHAT), 2, "理由", NOW).code == "extend_holder_only"
    assert refused(s, steps.request_extension, item, actor(ZHANG), 0, "理由", NOW).code == "extension_not_positive"
    assert refused(s, steps.request_extension, item, actor(ZHANG), 2, "", NOW).code == "extension_needs_reason"
    over = refused(s, steps.request_extension, item, actor(ZHANG), 16, "理由", NOW)
    assert over.code == "extension_over_cap" and over.params["left"] == 15
    s.db.call(steps.request_extension, s.workflow, item, actor(ZHANG), 2, "理由", NOW)
    assert refused(s, steps.request_extension, item, actor(ZHANG), 1, "再要", NOW).code == "extension_pending"


def test_extensions_add_up_to_the_cap_and_no_further(s: AppContext) -> None:
    item = new(s)
    for n, (days, message_id) in enumerate(((10, 910), (5, 911))):
        s.db.call(steps.request_extension, s.workflow, item, actor(ZHANG), days, "理由", NOW + timedelta(hours=n))
        request_message(s, item, message_id)
        press(s, "ext_ok", item, ZHAO, message_id)
    assert get(s, item).extended_by == 15
    text = refusal_text(s.workflow, refused(s, steps.request_extension, item, actor(ZHANG), 1, "理由", NOW),
                                   actor(ZHANG))
    assert "已延期 15 个工作日" in text and "上限 15 个工作日" in text


def test_only_a_supervisor_of_the_region_decides_and_only_on_the_live_request(config: Config) -> None:
    from tests.conftest import BASE_CONFIG, TIANSHUI, make_config

    officers = [*BASE_CONFIG["officers"], {"user_id": 2003, "name": "周九", "region": TIANSHUI, "role": "supervisor"}]
    s = AppContext.create(make_config(config.database.url, officers=officers))
    try:
        item = new(s)
        s.db.call(steps.request_extension, s.workflow, item, actor(ZHANG), 2, "理由", NOW)
        request_message(s, item, 920)
        for user_id, code in ((ZHANG, "decide_supervisors_only"), (QIAN, "decide_supervisors_only"),
                              (2003, "decide_supervisors_only")):
            with pytest.raises(Refusal) as info:
                press(s, "ext_ok", item, user_id, 920)
            assert info.value.code == code
        with pytest.raises(Refusal) as stale:  # a button on some other message
            press(s, "ext_ok", item, ZHAO, 12345)
        assert stale.value.code == "stale_button"
        assert press(s, "ext_no", item, ZHAO, 920)
        # a new request: the old request's buttons do not decide it
        s.db.call(steps.request_extension, s.workflow, item, actor(ZHANG), 1, "再申请", NOW)
        request_message(s, item, 921)
        with pytest.raises(Refusal) as old:
            press(s, "ext_ok", item, ZHAO, 920)
        assert old.value.code == "no_pending_extension"
        assert press(s, "ext_ok", item, ZHAO, 921) and get(s, item).extended_by == 1
    finally:
        s.db.dispose()


def test_extension_of_a_supervised_item_keeps_the_supervision(s: AppContext) -> None:
    item = new(s)  # due Mon 11-30 18:00
    s.db.call(supervise, s.workflow, item, actor(ZHAO, DESK_CHAT), at("11-25T10:00"))
    s.db.call(steps.request_extension, s.workflow, item, actor(ZHANG), 2, "理由", at("11-25T11:00"))
    request_message(s, item, 930)
    press(s, "ext_ok", item, ZHAO, 930, at("11-25T12:00"))
    # 11-30 + 2 working days = Wed 12-02 18:00, then what remained at supervision is shrunk
    # (in working time: 53 office hours remained, half of them ends Mon 11-30 09:30)
    assert get(s, item).deadline == at("11-30T09:30")


def test_year_end_deadline_is_provisional_on_card_and_api(s: AppContext) -> None:
    received = at("12-28T10:00")
    item = new(s, received=received)
    got = get(s, item)
    assert got.deadline == at("12-28T10:00").replace(year=2027, month=1, day=4, hour=18) and got.deadline_provisional
    assert "（暂定）" in render_card(s.workflow, got)[0]
    assert item_json(s, got, received)["provisional"] is True
    # an extension reaching into 2027 from a known 2026 deadline is provisional too
    early = new(s, "七里河区某处积水。", received=at("12-21T10:00"))  # due Mon 12-28 18:00, known
    assert not get(s, early).deadline_provisional
    s.db.call(steps.request_extension, s.workflow, early, actor(ZHANG), 5, "理由", at("12-22T10:00"))
    request_message(s, early, 940)
    press(s, "ext_ok", early, ZHAO, 940, at("12-22T11:00"))
    got = get(s, early)
    # 12-29, 12-30, 12-31, then 2027 guessed Mon-Fri: Fri 01-01 (really New Year's Day), Mon 01-04
    assert got.deadline_provisional and got.deadline.astimezone(TZ).date().isoformat() == "2027-01-04"


# ---------------------------------------------------------------------------- due and overdue


def test_due_and_overdue_list_this_chats_items(s: AppContext) -> None:
    late = new(s, "城关区老问题。", received=at("11-09T10:00"))  # due Mon 11-16: overdue
    soon = new(s, "城关区急事，停水两天了没水用。", received=at("11-23T09:00"))  # urgent: due today
    later = new(s, "城关区慢事。", received=at("11-23T09:30"))  # due 11-30
    elsewhere = new(s, "麦积区问题。", received=at("11-09T10:00"), claim=WANG)
    assert get(s, soon).priority == "urgent"

    due = s.db.call(steps.list_due, s.workflow, actor(ZHANG), NOW)
    assert [i.id for i in due] == [soon]
    overdue = s.db.call(steps.list_overdue, s.workflow, actor(ZHANG), NOW)
    assert [i.id for i in overdue] == [late]
    answer = said(s, LANZHOU_CHAT, "list")[-1]
    assert "已超期的留言（兰州市）" in answer and f"#{late}" in answer and "已超期 5 个工作日" in answer
    assert f"#{elsewhere}" not in answer and f"#{later}" not in answer
    # the desk sees every region's
    assert [i.id for i in s.db.call(steps.list_overdue, s.workflow, actor(ZHAO, DESK_CHAT), NOW)] == [late, elsewhere]
    assert "天水市" in said(s, DESK_CHAT, "list")[-1]
    # an officer in private sees their region's
    assert [i.id for i in s.db.call(steps.list_overdue, s.workflow, actor(WANG, WANG), NOW)] == [elsewhere]
    # nothing due: a plain answer, not an empty message
    s.db.call(steps.list_due, s.workflow, actor(WANG, TIANSHUI_CHAT), NOW)
    assert "没有即将到期的留言" in said(s, TIANSHUI_CHAT, "list")[-1]
    assert refused(s, steps.list_due, actor(STRANGER), NOW).code == "not_in_roster"


# ---------------------------------------------------------------------------- both languages


def test_every_deadline_string_and_template_exists_in_chinese_and_english() -> None:
    import tomllib

    from bot.render import TEMPLATES

    def keys(lang: str) -> set[str]:
        with (TEMPLATES / lang / "deadlines.toml").open("rb") as fh:
            data = tomllib.load(fh)
        return {f"{section}.{key}" for section, table in data.items() for key in table}

    assert keys("zh") == keys("en") and len(keys("zh")) > 20
    for name in ("reminder.html.j2", "reminder_list.html.j2", "extension_request.html.j2",
                 "extension_decided.html.j2"):
        assert (TEMPLATES / "zh" / name).exists() and (TEMPLATES / "en" / name).exists()


def test_an_english_speaking_officer_gets_lists_and_refusals_in_english(config: Config) -> None:
    from tests.conftest import BASE_CONFIG, make_config

    officers = [dict(o, language="en") if o["user_id"] == ZHANG else o for o in BASE_CONFIG["officers"]]
    s = AppContext.create(make_config(config.database.url, officers=officers), clock=lambda: NOW)
    try:
        late = new(s, "城关区老问题。", received=at("11-09T10:00"))
        s.db.call(steps.list_overdue, s.workflow, actor(ZHANG), NOW)
        text = said(s, LANZHOU_CHAT, "list")[-1]
        assert "<b>Overdue (兰州市)</b>" in text and f"#{late}" in text and "overdue by 5 working days" in text
        s.db.call(steps.list_due, s.workflow, actor(ZHANG), NOW)
        assert "Nothing is due soon." in said(s, LANZHOU_CHAT, "list")[-1]
        refusal = refused(s, steps.request_extension, late, actor(ZHANG), 16, "reason", NOW)
        assert "pass the cap of 15" in refusal_text(s.workflow, refusal, actor(ZHANG))
        s.db.call(steps.mark_complex, s.workflow, late, actor(ZHANG), "several departments", NOW)
        assert "is now [complex], due" in said(s, LANZHOU_CHAT)[-1]
    finally:
        s.db.dispose()


def test_reminders_and_extension_messages_render_in_english(s: AppContext) -> None:
    wf = s.workflow
    item = new(s)
    got = get(s, item)
    line = steps.describe_item(wf, got, NOW) | {"repeat": False}
    text = wf.renderer.template("reminder.html.j2", "en", desk=True, overdue=[line], due=[line], unclaimed=[line],
                                more=3, supervisors=[{"id": ZHAO, "name": "赵六"}])
    assert "past their deadline" in text and "due soon" in text and "… and 3 more" in text
    assert f'<a href="tg://user?id={ZHAO}">赵六</a>' in text
    request = ExtensionRequest(item_id=item, days=2, reason="<why>", requested_by=ZHANG, requested_by_name="张三",
                               requested_at=NOW)
    text = wf.renderer.template("extension_request.html.j2", "en", item=got, title="t", request=request,
                                region_name="兰州市", cap=15, new_deadline=got.deadline, provisional=True,
                                supervisors=[])
    assert "Asks for <b>2</b> more working days" in text and "&lt;why&gt;" in text and "(provisional)" in text
    for approved in (True, False):
        text = wf.renderer.template("extension_decided.html.j2", "en", item=got, request=request, by="赵六",
                                    approved=approved, title="t", holder={"id": ZHANG, "name": "张三"})
        assert text.startswith(f'<a href="tg://user?id={ZHANG}">张三</a>: ')
