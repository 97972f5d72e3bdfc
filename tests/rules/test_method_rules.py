"""The clock of 报前核查 and 回头看, and the words their commands accept."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.config import ConfigError
from bot.rules.deadlines import OfficeHours
from bot.rules.method import (
    followup_due,
    in_office_hours,
    next_weekly,
    parse_followup_answer,
    parse_verdict,
    reminder_at,
    verification_due,
)
from tests.conftest import make_config

TZ = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    return datetime.fromisoformat(f"2026-{text}").replace(tzinfo=TZ)


def test_a_choice_belongs_to_the_next_roundup_and_is_due_the_friday_before() -> None:
    assert next_weekly(at("11-24 10:00"), "mon", time(9), TZ) == at("11-30 09:00")
    assert next_weekly(at("11-30 09:00"), "mon", time(9), TZ) == at("12-07 09:00")  # the roundup itself: the next
    assert verification_due(at("11-24 10:00"), at("11-30 09:00"), "fri", time(17), TZ) == at("11-27 17:00")
    # chosen after Friday 17:00: still verifiable before Monday's roundup is built
    assert verification_due(at("11-28 10:00"), at("11-30 09:00"), "fri", time(17), TZ) == at("11-30 09:00")
    assert reminder_at(at("11-24 10:00"), at("11-27 17:00"), 8) == at("11-27 09:00")
    assert reminder_at(at("11-27 10:00"), at("11-27 17:00"), 8) is None  # the ask itself is fresh


def test_a_look_back_falls_due_like_a_deadline_and_is_asked_in_office_hours() -> None:
    hours = OfficeHours()
    assert followup_due(at("11-27 17:59"), 1, hours, TZ) == at("11-30 18:00")  # Friday: next working day is Monday
    assert followup_due(at("09-30 10:00"), 1, hours, TZ) == at("10-08 18:00")  # over National Day (10-01..07)
    assert in_office_hours(at("11-30 09:00"), hours, TZ) and not in_office_hours(at("11-30 18:00"), hours, TZ)
    assert not in_office_hours(at("11-28 10:00"), hours, TZ)  # a Saturday


@pytest.mark.parametrize("word,verdict", [("true", "true"), ("属实", "true"), ("PARTLY", "partly"),
                                          ("部分属实", "partly"), ("不属实", "false"), ("maybe", None), ("", None)])
def test_verdict_words(word: str, verdict: str | None) -> None:
    assert parse_verdict(word) == verdict


def test_followup_words() -> None:
    assert parse_followup_answer("已解决") == "solved" and parse_followup_answer("Ongoing") == "ongoing"
    assert parse_followup_answer("later") is None


@pytest.mark.parametrize("section,message", [
    ({"verification": {"due": "17:00"}}, "verification.due: expected a weekday and a time"),
    ({"verification": {"due": "Mon 09:00"}}, "verification.due: must come before the weekly roundup"),
    ({"verification": {"due": "Fri 25:00"}}, "verification.due: expected a time"),
    ({"verification": {"remind_before_hours": 0}}, "verification.remind_before_hours: must be between 1"),
    ({"followup": {"after_days": 0}}, "followup.after_days: must be between 1"),
    ({"followup": {"after_day": 3}}, "followup.after_day: unknown key"),
])
def test_bad_method_config_names_the_key(section: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        make_config("sqlite:///unused.db", **section)
    assert str(err.value).startswith(message)


def test_method_config_defaults_and_values() -> None:
    cfg = make_config("sqlite:///unused.db")
    assert cfg.followup is None and cfg.verification.due == "fri 17:00"
    cfg = make_config("sqlite:///unused.db", verification={"due": "Thursday 16:30"}, followup={"after_days": 3})
    assert (cfg.verification.due_day, cfg.verification.due_time) == ("thu", time(16, 30))
    assert cfg.followup is not None and cfg.followup.after_days == 3
