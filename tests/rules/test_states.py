"""The state machine: the one table of transitions, and the checks that enforce it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.render import Renderer
from bot.rules.states import (
    ANSWERED_STATUSES,
    OPEN_STATUSES,
    TRANSITIONS,
    ItemView,
    Person,
    Refusal,
    Role,
    Status,
    check_claim,
    check_reply,
    check_route,
    check_transition,
)

OFFICER = Person(user_id=1001, name="张三", role=Role.OFFICER, region="620100")
SUPERVISOR = Person(user_id=1004, name="赵六", role=Role.SUPERVISOR, region="*")


def item(status: Status, claimed_by: int | None = None) -> ItemView:
    region = None if status == Status.UNROUTED else "620100"
    return ItemView(id=7, status=str(status), region=region, region_name="兰州市" if region else None,
                    claimed_by=claimed_by, claimed_by_name="张三" if claimed_by else None,
                    claimed_at="10:00" if claimed_by else None, replied_at="11:00")


def allowed(check: Callable[[Person, ItemView], None], person: Person, view: ItemView) -> bool:
    try:
        check(person, view)
    except Refusal:
        return False
    return True


def test_the_table_holds_the_documented_life_of_an_item() -> None:
    arrows = {(s, target) for sources, target in TRANSITIONS.values() for s in sources}
    documented = {
        (Status.UNROUTED, Status.NEW), (Status.NEW, Status.CLAIMED), (Status.CLAIMED, Status.REPLIED),
        (Status.REPLIED, Status.CLOSED), (Status.REPLIED, Status.REOPENED), (Status.CLOSED, Status.REOPENED),
        (Status.REOPENED, Status.CLAIMED), (Status.REOPENED, Status.REPLIED),
    }
    assert documented <= arrows
    # nothing leaves a closed item but a reopening; nothing makes an answered item unanswered otherwise
    assert {t for s, t in arrows if s == Status.CLOSED} == {Status.REOPENED}
    assert {t for s, t in arrows if s == Status.REPLIED} == {Status.CLOSED, Status.REOPENED}


def test_every_status_is_open_or_answered_and_any_open_item_may_be_replied_to() -> None:
    assert set(OPEN_STATUSES) | set(ANSWERED_STATUSES) == set(Status)
    assert not set(OPEN_STATUSES) & set(ANSWERED_STATUSES)
    assert TRANSITIONS["reply"][0] == frozenset(OPEN_STATUSES)


@pytest.mark.parametrize("status", list(Status))
def test_claim_is_refused_exactly_where_the_table_has_no_claim(status: Status) -> None:
    assert allowed(check_claim, OFFICER, item(status, claimed_by=1002 if status == Status.CLAIMED else None)) \
        == (status in TRANSITIONS["claim"][0])


@pytest.mark.parametrize("status", list(Status))
def test_reply_is_refused_exactly_where_the_table_has_no_reply(status: Status) -> None:
    # a supervisor: the one person the roles let reply to any item, so only the status decides
    assert allowed(check_reply, SUPERVISOR, item(status)) == (status in TRANSITIONS["reply"][0])


@pytest.mark.parametrize("status", list(Status))
def test_route_is_refused_exactly_where_the_table_has_no_route(status: Status) -> None:
    action = "route" if status == Status.UNROUTED else "reroute"
    assert allowed(check_route, SUPERVISOR, item(status)) == (status in TRANSITIONS[action][0])


def test_refusals_say_why_in_the_items_terms() -> None:
    with pytest.raises(Refusal) as held:
        check_claim(OFFICER, item(Status.CLAIMED, claimed_by=1002))
    assert held.value.code == "held_by"
    with pytest.raises(Refusal) as mine:
        check_claim(OFFICER, item(Status.CLAIMED, claimed_by=OFFICER.user_id))
    assert mine.value.code == "held_by_you"
    with pytest.raises(Refusal) as done:
        check_reply(SUPERVISOR, item(Status.CLOSED))
    assert done.value.code == "already_replied" and done.value.params["at"] == "11:00"
    with pytest.raises(Refusal) as unrouted:
        check_claim(SUPERVISOR, item(Status.UNROUTED))
    assert unrouted.value.code == "not_routed"


def test_the_checks_consult_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """Take a move out of the table and the check refuses it: the table is not documentation."""
    assert allowed(check_claim, OFFICER, item(Status.NEW))
    monkeypatch.setitem(TRANSITIONS, "claim", (frozenset(), Status.CLAIMED))
    with pytest.raises(Refusal) as refused:
        check_claim(OFFICER, item(Status.NEW))
    assert refused.value.code == "wrong_status"
    with pytest.raises(Refusal):
        check_transition("close", SUPERVISOR, item(Status.REOPENED))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_status_and_the_generic_refusal_have_words(lang: str) -> None:
    renderer = Renderer(lang)
    for status in Status:
        words = renderer.text(f"status.{status}", lang)
        assert words and words.isascii() == (lang == "en")  # in the reader's language, not a fallback
    assert "#7" in renderer.text("refuse.wrong_status", lang, id=7, status="reopened")
