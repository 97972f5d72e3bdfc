"""Deadline rules against the official 2026 calendar (dates checked with chinesecalendar 1.11.0)."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.rules.deadlines import (
    Deadline,
    DeadlinePolicy,
    OfficeHours,
    Priority,
    QuietHours,
    ReminderPoint,
    ReminderSpec,
    apply_supervision,
    compute_deadline,
    due_soon_until,
    extension_allowed,
    extension_refusal,
    in_quiet_time,
    is_overdue,
    next_allowed_time,
    overdue_repeat_due,
    parse_priority,
    parse_reminder_point,
    reminder_points,
)
from bot.rules.workdays import WorkCalendar

TZ = ZoneInfo("Asia/Shanghai")
POLICY = DeadlinePolicy()
LADDER = ["50%", "1wd", "2h"]


def at(s: str) -> datetime:
    """ISO text with offset -> aware datetime."""
    value = datetime.fromisoformat(s)
    assert value.tzinfo is not None
    return value


def due(received: str, priority: Priority | str, extension: int = 0) -> Deadline:
    return compute_deadline(at(received), Priority(priority), POLICY, TZ, extension)


# --------------------------------------------------------------------------- priority


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("urgent", Priority.URGENT),
        (" URGENT ", Priority.URGENT),
        ("u", Priority.URGENT),
        ("U", Priority.URGENT),
        ("紧急", Priority.URGENT),
        ("ordinary", Priority.ORDINARY),
        ("O", Priority.ORDINARY),
        ("一般", Priority.ORDINARY),
        (" 复杂\n", Priority.COMPLEX),
        ("Complex", Priority.COMPLEX),
        ("c", Priority.COMPLEX),
        ("", None),
        ("urgently", None),
        ("普通话", None),
        (None, None),
    ],
)
def test_parse_priority(text: str | None, expected: Priority | None) -> None:
    assert parse_priority(text) is expected


def test_priority_is_str_enum() -> None:
    assert Priority.ORDINARY == "ordinary"
    assert str(Priority.COMPLEX) == "complex"


# --------------------------------------------------------------------------- deadlines


def test_ordinary_across_national_day_is_due_on_make_up_saturday() -> None:
    # Mon 09-28 10:00: working days after it are 09-29, 09-30, 10-08, 10-09, Sat 10-10.
    d = due("2026-09-28T10:00:00+08:00", Priority.ORDINARY)
    assert d == Deadline(due=at("2026-10-10T18:00:00+08:00"), provisional=False)
    assert d.due.tzinfo == TZ


def test_received_at_in_another_offset_is_converted_first() -> None:
    # 2026-09-28 02:00 UTC is 10:00 in Shanghai: same answer.
    assert due("2026-09-28T02:00:00+00:00", "ordinary").due == at("2026-10-10T18:00:00+08:00")
    # Sun 2026-11-22 20:00 UTC is Mon 11-23 04:00 in Shanghai: the day of receipt is Monday.
    assert due("2026-11-22T20:00:00+00:00", "ordinary").due == at("2026-11-30T18:00:00+08:00")


def test_ordinary_and_complex_across_spring_festival() -> None:
    # Fri 02-13: +1 Sat 02-14 (make-up), then 02-24, 25, 26, 27 -> 5th is Fri 02-27.
    assert due("2026-02-13T10:00:00+08:00", "ordinary").due == at("2026-02-27T18:00:00+08:00")
    # 10th: 02-28 (Sat, make-up), 03-02, 03-03, 03-04, 03-05.
    assert due("2026-02-13T10:00:00+08:00", "complex").due == at("2026-03-05T18:00:00+08:00")


def test_receipt_day_never_counts_even_on_a_holiday() -> None:
    # Received during the holiday (Thu 10-01): 10-08, 10-09, 10-10, 10-12, 10-13.
    assert due("2026-10-01T09:00:00+08:00", "ordinary").due == at("2026-10-13T18:00:00+08:00")


def test_urgent_same_working_day_before_end_of_hours() -> None:
    assert due("2026-11-23T07:30:00+08:00", "urgent").due == at("2026-11-23T18:00:00+08:00")
    assert due("2026-11-23T17:59:59+08:00", "urgent").due == at("2026-11-23T18:00:00+08:00")


def test_urgent_after_hours_friday_goes_to_monday() -> None:
    assert due("2026-11-20T19:00:00+08:00", "urgent").due == at("2026-11-23T18:00:00+08:00")
    # Exactly at the end of office hours is already "after hours".
    assert due("2026-11-20T18:00:00+08:00", "urgent").due == at("2026-11-23T18:00:00+08:00")


def test_urgent_after_hours_friday_before_make_up_sunday() -> None:
    # Fri 09-18 19:00: the next working day is the make-up Sunday 09-20.
    assert due("2026-09-18T19:00:00+08:00", "urgent").due == at("2026-09-20T18:00:00+08:00")
    # Fri 10-09 19:00: the next working day is the make-up Saturday 10-10.
    assert due("2026-10-09T19:00:00+08:00", "urgent").due == at("2026-10-10T18:00:00+08:00")


def test_urgent_received_on_a_holiday() -> None:
    # Mon 02-16 (Spring Festival), even during office hours: first working day after is 02-24.
    assert due("2026-02-16T10:00:00+08:00", "urgent").due == at("2026-02-24T18:00:00+08:00")
    # Sat 10-03 (National Day): 10-08.
    assert due("2026-10-03T11:00:00+08:00", "urgent").due == at("2026-10-08T18:00:00+08:00")
    # Make-up Saturday 02-14 is a working day: same day.
    assert due("2026-02-14T10:00:00+08:00", "urgent").due == at("2026-02-14T18:00:00+08:00")


def test_extension_days_add_working_days() -> None:
    # Ordinary from Mon 09-28 (due 10-10) + 3: 10-12, 10-13, 10-14.
    assert due("2026-09-28T10:00:00+08:00", "ordinary", 3).due == at("2026-10-14T18:00:00+08:00")
    # Urgent due Fri 11-20 + 1 -> Mon 11-23.
    assert due("2026-11-20T10:00:00+08:00", "urgent", 1).due == at("2026-11-23T18:00:00+08:00")
    # Urgent after hours Fri 09-18 (due Sun 09-20) + 2 -> 09-21, 09-22.
    assert due("2026-09-18T19:00:00+08:00", "urgent", 2).due == at("2026-09-22T18:00:00+08:00")
    with pytest.raises(ValueError):
        due("2026-09-28T10:00:00+08:00", "ordinary", -1)


def test_year_end_provisional() -> None:
    # Thu 12-24: 12-25, 28, 29, 30, 31 -> known.
    assert due("2026-12-24T10:00:00+08:00", "ordinary") == Deadline(
        at("2026-12-31T18:00:00+08:00"), provisional=False
    )
    # Mon 12-28: 29, 30, 31, then 2027 guessed Mon–Fri: Fri 01-01, Mon 01-04.
    assert due("2026-12-28T10:00:00+08:00", "ordinary") == Deadline(
        at("2027-01-04T18:00:00+08:00"), provisional=True
    )
    # Urgent on Thu 12-31 in hours stays in 2026; after hours it spills into 2027.
    assert due("2026-12-31T10:00:00+08:00", "urgent") == Deadline(
        at("2026-12-31T18:00:00+08:00"), provisional=False
    )
    assert due("2026-12-31T19:00:00+08:00", "urgent") == Deadline(
        at("2027-01-01T18:00:00+08:00"), provisional=True
    )
    # An extension that reaches 2027 also makes it provisional.
    assert due("2026-12-30T10:00:00+08:00", "urgent", 2).provisional is True


def test_custom_policy_and_office_hours() -> None:
    policy = DeadlinePolicy(ordinary_days=7, hours=OfficeHours(time(8, 30), time(17, 30)))
    d = compute_deadline(at("2026-11-23T10:00:00+08:00"), Priority.ORDINARY, policy, TZ)
    assert d.due == at("2026-12-02T17:30:00+08:00")  # 24,25,26,27,30, 12-01, 12-02


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="ordinary_days"):
        DeadlinePolicy(ordinary_days=0)
    with pytest.raises(ValueError, match="max_extension_days"):
        DeadlinePolicy(max_extension_days=-1)
    with pytest.raises(ValueError):
        OfficeHours(time(18, 0), time(9, 0))


def test_naive_received_at_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        compute_deadline(datetime(2026, 11, 23, 10), Priority.URGENT, POLICY, TZ)


# --------------------------------------------------------------------------- extensions, overdue


def test_extension_totals_and_cap() -> None:
    assert extension_allowed(0, 5, POLICY) == 5
    assert extension_allowed(5, 10, POLICY) == 15  # exactly at the cap
    assert extension_allowed(10, 6, POLICY) is None
    assert extension_refusal(10, 6, POLICY) == "over_cap"
    assert extension_allowed(0, 0, POLICY) is None
    assert extension_refusal(0, 0, POLICY) == "not_positive"
    assert extension_refusal(3, -2, POLICY) == "not_positive"
    assert extension_refusal(5, 10, POLICY) is None
    assert extension_allowed(0, 16, POLICY) is None
    assert extension_allowed(0, 3, DeadlinePolicy(max_extension_days=2)) is None


def test_is_overdue() -> None:
    deadline = at("2026-10-10T18:00:00+08:00")
    assert not is_overdue(deadline, at("2026-10-10T17:59:59+08:00"))
    assert is_overdue(deadline, at("2026-10-10T18:00:00+08:00"))
    assert is_overdue(deadline, at("2026-10-10T10:00:00+00:00"))  # 18:00 Shanghai


# --------------------------------------------------------------------------- reminder ladder


def test_parse_reminder_point() -> None:
    assert parse_reminder_point("50%") == ReminderSpec("percent", 50)
    assert parse_reminder_point(" 1WD ") == ReminderSpec("workdays", 1)
    assert parse_reminder_point("2h") == ReminderSpec("hours", 2)
    assert parse_reminder_point("2H").key == "before:2h"
    assert parse_reminder_point("50 %").key == "before:50%"


@pytest.mark.parametrize(
    "bad", ["", "50", "0%", "100%", "150%", "0h", "0wd", "-1h", "2d", "1.5h", "h", "2 hours"]
)
def test_parse_reminder_point_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="reminder point"):
        parse_reminder_point(bad)


def test_parse_reminder_point_rejects_non_string() -> None:
    with pytest.raises(ValueError, match="reminder point"):
        parse_reminder_point(50)  # type: ignore[arg-type]


def test_reminder_points_ordinary_across_national_day() -> None:
    received = at("2026-09-28T10:00:00+08:00")
    deadline = due("2026-09-28T10:00:00+08:00", "ordinary").due  # Sat 10-10 18:00
    points = reminder_points(received, deadline, True, ["2h", "1wd", "50%"], TZ, OfficeHours())
    # Office time: 09-28 10-18 (8h) + 09-29, 09-30, 10-08, 10-09, 10-10 (9h each) = 53h;
    # half = 26.5h; running total 09-28 8h, 09-29 17h, 09-30 26h, so 0.5h into 10-08: 09:30.
    assert points == [
        ReminderPoint("before:50%", at("2026-10-08T09:30:00+08:00"), "holder"),
        ReminderPoint("before:1wd", at("2026-10-09T18:00:00+08:00"), "holder"),
        ReminderPoint("before:2h", at("2026-10-10T16:00:00+08:00"), "holder"),
    ]


def test_reminder_points_complex_across_spring_festival() -> None:
    received = at("2026-02-13T10:00:00+08:00")
    deadline = at("2026-03-05T18:00:00+08:00")
    points = reminder_points(received, deadline, False, ["50%", "1wd", "2h", "2wd", "50%"], TZ)
    # 98 office hours; half (49h) is 14:00 on Fri 02-27. Duplicates are kept once.
    assert [(p.key, p.at) for p in points] == [
        ("before:50%", at("2026-02-27T14:00:00+08:00")),
        ("before:2wd", at("2026-03-03T18:00:00+08:00")),
        ("before:1wd", at("2026-03-04T18:00:00+08:00")),
        ("before:2h", at("2026-03-05T16:00:00+08:00")),
    ]
    assert {p.audience for p in points} == {"group"}  # unclaimed: remind the whole chat


def test_reminder_1wd_skips_back_over_holidays() -> None:
    # Deadline Thu 10-08 18:00: the previous working day is Wed 09-30.
    received = at("2026-09-25T10:00:00+08:00")
    points = reminder_points(received, at("2026-10-08T18:00:00+08:00"), True, ["1wd"], TZ)
    assert points == [ReminderPoint("before:1wd", at("2026-09-30T18:00:00+08:00"))]


def test_reminder_points_before_receipt_are_dropped() -> None:
    # Urgent received 17:00, due 18:00: "2h" (16:00) and "1wd" (previous day) are in the past.
    received = at("2026-11-23T17:00:00+08:00")
    deadline = due("2026-11-23T17:00:00+08:00", "urgent").due
    points = reminder_points(received, deadline, True, LADDER, TZ)
    assert points == [ReminderPoint("before:50%", at("2026-11-23T17:30:00+08:00"))]


def test_reminder_points_keys_are_stable() -> None:
    received = at("2026-11-23T10:00:00+08:00")
    deadline = due("2026-11-23T10:00:00+08:00", "ordinary").due
    a = reminder_points(received, deadline, False, ["50%", "1WD", " 2h"], TZ)
    b = reminder_points(received, deadline, True, ["50%", "1wd", "2h"], TZ)
    assert [p.key for p in a] == [p.key for p in b] == ["before:50%", "before:1wd", "before:2h"]
    assert [p.at for p in a] == [p.at for p in b]


def test_reminder_points_invalid_entry() -> None:
    received = at("2026-11-23T10:00:00+08:00")
    with pytest.raises(ValueError, match="reminder point"):
        reminder_points(received, received + timedelta(days=3), True, ["50%", "soon"], TZ)


# --------------------------------------------------------------------------- quiet hours


QUIET = QuietHours()  # 21:00 -> 08:00


@pytest.mark.parametrize(
    ("when", "quiet"),
    [
        ("2026-11-23T20:59:59+08:00", False),  # Mon evening, before the window
        ("2026-11-23T21:00:00+08:00", True),
        ("2026-11-23T23:59:00+08:00", True),
        ("2026-11-24T00:00:00+08:00", True),  # wraps midnight
        ("2026-11-24T07:59:59+08:00", True),
        ("2026-11-24T08:00:00+08:00", False),
        ("2026-11-24T12:00:00+08:00", False),
        ("2026-11-21T12:00:00+08:00", True),  # Sat: non-working day
        ("2026-10-02T12:00:00+08:00", True),  # National Day holiday
        ("2026-10-10T12:00:00+08:00", False),  # make-up Saturday is a working day
        ("2026-11-24T04:00:00+00:00", False),  # 12:00 Shanghai given in UTC
        ("2026-11-23T13:30:00+00:00", True),  # 21:30 Shanghai given in UTC
    ],
)
def test_in_quiet_time(when: str, quiet: bool) -> None:
    assert in_quiet_time(at(when), QUIET, TZ) is quiet


def test_in_quiet_time_any_day() -> None:
    assert not in_quiet_time(at("2026-11-21T12:00:00+08:00"), QUIET, TZ, workdays_only=False)
    assert in_quiet_time(at("2026-11-21T22:00:00+08:00"), QUIET, TZ, workdays_only=False)


def test_quiet_window_within_one_day_and_empty() -> None:
    lunch = QuietHours(time(12, 0), time(13, 30))
    assert in_quiet_time(at("2026-11-23T12:30:00+08:00"), lunch, TZ)
    assert not in_quiet_time(at("2026-11-23T23:00:00+08:00"), lunch, TZ)
    none = QuietHours(time(0, 0), time(0, 0))
    assert not in_quiet_time(at("2026-11-23T03:00:00+08:00"), none, TZ)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-11-23T15:00:00+08:00", "2026-11-23T15:00:00+08:00"),  # allowed: unchanged
        ("2026-11-23T22:00:00+08:00", "2026-11-24T08:00:00+08:00"),  # Mon night -> Tue 08:00
        ("2026-11-24T03:00:00+08:00", "2026-11-24T08:00:00+08:00"),  # after midnight
        ("2026-11-20T22:00:00+08:00", "2026-11-23T08:00:00+08:00"),  # Fri night -> Mon
        ("2026-11-21T12:00:00+08:00", "2026-11-23T08:00:00+08:00"),  # Sat noon -> Mon
        ("2026-09-30T21:30:00+08:00", "2026-10-08T08:00:00+08:00"),  # into National Day
        ("2026-10-09T23:00:00+08:00", "2026-10-10T08:00:00+08:00"),  # make-up Saturday
        ("2026-09-19T10:00:00+08:00", "2026-09-20T08:00:00+08:00"),  # Sat -> make-up Sunday
    ],
)
def test_next_allowed_time(now: str, expected: str) -> None:
    result = next_allowed_time(at(now), QUIET, TZ)
    assert result == at(expected)
    assert result.tzinfo == TZ
    assert not in_quiet_time(result, QUIET, TZ)


def test_next_allowed_time_any_day() -> None:
    result = next_allowed_time(at("2026-11-20T22:00:00+08:00"), QUIET, TZ, workdays_only=False)
    assert result == at("2026-11-21T08:00:00+08:00")


def test_next_allowed_time_is_earliest() -> None:
    # Brute force over a week at 15-minute steps: the result is never later than needed.
    start = at("2026-09-28T00:00:00+08:00")
    for i in range(0, 14 * 24 * 4):
        now = start + timedelta(minutes=15 * i)
        result = next_allowed_time(now, QUIET, TZ)
        assert result >= now
        probe = now
        while probe < result:
            assert in_quiet_time(probe, QUIET, TZ)
            probe += timedelta(minutes=15)


# --------------------------------------------------------------------------- overdue repeats


def test_overdue_repeat_first_notice_always() -> None:
    assert overdue_repeat_due(None, at("2026-11-21T12:00:00+08:00"), TZ)


def test_overdue_repeat_once_per_working_day() -> None:
    sent_mon = at("2026-11-23T18:00:00+08:00")  # first notice when it became overdue
    assert not overdue_repeat_due(sent_mon, at("2026-11-23T20:00:00+08:00"), TZ)
    assert not overdue_repeat_due(sent_mon, at("2026-11-24T09:29:59+08:00"), TZ)
    assert overdue_repeat_due(sent_mon, at("2026-11-24T09:30:00+08:00"), TZ)
    sent_tue = at("2026-11-24T09:31:00+08:00")
    assert not overdue_repeat_due(sent_tue, at("2026-11-24T16:00:00+08:00"), TZ)
    assert overdue_repeat_due(sent_tue, at("2026-11-25T10:00:00+08:00"), TZ)


def test_overdue_repeat_skips_non_working_days() -> None:
    sent_fri = at("2026-11-20T09:30:00+08:00")
    assert not overdue_repeat_due(sent_fri, at("2026-11-21T10:00:00+08:00"), TZ)  # Sat
    assert not overdue_repeat_due(sent_fri, at("2026-11-22T10:00:00+08:00"), TZ)  # Sun
    assert overdue_repeat_due(sent_fri, at("2026-11-23T09:30:00+08:00"), TZ)  # Mon
    sent_before_holiday = at("2026-09-30T09:30:00+08:00")
    assert not overdue_repeat_due(sent_before_holiday, at("2026-10-03T10:00:00+08:00"), TZ)
    assert overdue_repeat_due(sent_before_holiday, at("2026-10-08T09:30:00+08:00"), TZ)
    # Make-up Sunday 09-20 is a working day.
    assert overdue_repeat_due(at("2026-09-18T09:30:00+08:00"), at("2026-09-20T11:00:00+08:00"), TZ)


def test_overdue_repeat_custom_time_and_utc_input() -> None:
    sent = at("2026-11-23T10:00:00+08:00")
    # 01:00 UTC on Tue is 09:00 Shanghai: before a 09:30 slot, after a 08:45 one.
    now = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    assert not overdue_repeat_due(sent, now, TZ)
    assert overdue_repeat_due(sent, now, TZ, at=time(8, 45))


def test_overdue_repeat_not_again_the_same_morning() -> None:
    # A first notice held by quiet hours went out at 08:00: no repeat at 09:30 the same day.
    first = at("2026-11-24T08:00:00+08:00")
    assert not overdue_repeat_due(first, at("2026-11-24T09:30:00+08:00"), TZ)
    assert not overdue_repeat_due(first, at("2026-11-24T17:00:00+08:00"), TZ)
    assert overdue_repeat_due(first, at("2026-11-25T09:30:00+08:00"), TZ)


# --------------------------------------------------------------------------- more calendar cases


def test_ordinary_across_new_year_2026_make_up_sunday() -> None:
    # Wed 2025-12-31: 01-04 (Sun, make-up), 01-05, 06, 07, 08; both years known.
    assert due("2025-12-31T10:00:00+08:00", "ordinary") == Deadline(at("2026-01-08T18:00:00+08:00"), False)
    # Urgent on the holiday Sat 01-03: the make-up Sunday.
    assert due("2026-01-03T10:00:00+08:00", "urgent").due == at("2026-01-04T18:00:00+08:00")


def test_urgent_after_hours_before_labour_day() -> None:
    assert due("2026-04-30T19:00:00+08:00", "urgent").due == at("2026-05-06T18:00:00+08:00")
    # ordinary from Thu 04-30: 05-06, 07, 08, Sat 05-09 (make-up), Mon 05-11
    assert due("2026-04-30T10:00:00+08:00", "ordinary").due == at("2026-05-11T18:00:00+08:00")


def test_complex_from_the_eve_of_mid_autumn_across_national_day() -> None:
    # Thu 09-24: 09-28, 29, 30, 10-08, 09, 10 (Sat), 12, 13, 14, 15.
    assert due("2026-09-24T10:00:00+08:00", "complex").due == at("2026-10-15T18:00:00+08:00")


# --------------------------------------------------------------------------- supervision, due soon


def test_apply_supervision_shrinks_what_remained_in_working_time() -> None:
    deadline = at("2026-11-30T18:00:00+08:00")  # Mon
    supervised = at("2026-11-24T10:00:00+08:00")  # Tue
    assert apply_supervision(deadline, None, 0.5) == deadline
    # Tue 8 h + Wed, Thu, Fri, Mon 9 h = 44 working hours; half is 22: Tue 8, Wed 9, Thu 5
    half = apply_supervision(deadline, supervised, 0.5)
    assert half == at("2026-11-26T14:00:00+08:00") and half.tzinfo == deadline.tzinfo
    assert apply_supervision(deadline, supervised, 1.0) == deadline
    # a deadline already past when supervised stays as it was
    assert apply_supervision(deadline, at("2026-12-01T09:00:00+08:00"), 0.5) == deadline
    with pytest.raises(ValueError, match="factor"):
        apply_supervision(deadline, supervised, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        apply_supervision(datetime(2026, 11, 30, 18), supervised, 0.5)


@pytest.mark.parametrize(("supervised", "factor", "expected"), [
    # Fri 17:00 -> Mon 18:00: 1 h on Friday + 9 on Monday; half is Monday 13:00, not Sunday night
    ("2026-11-27T17:00:00+08:00", 0.5, "2026-11-30T13:00:00+08:00"),
    # supervised on a Saturday night: only Monday's 9 office hours remain
    ("2026-11-28T23:10:00+08:00", 0.5, "2026-11-30T13:30:00+08:00"),
    # seconds and microseconds never reach a deadline: rounded up to the next whole minute
    ("2026-11-30T09:00:00.123456+08:00", 1 / 3, "2026-11-30T12:01:00+08:00"),
    ("2026-11-30T17:59:59+08:00", 0.5, "2026-11-30T18:00:00+08:00"),
])
def test_apply_supervision_lands_inside_office_hours(supervised: str, factor: float,
                                                    expected: str) -> None:
    due = apply_supervision(at("2026-11-30T18:00:00+08:00"), at(supervised), factor,
                            OfficeHours(), ZoneInfo("Asia/Shanghai"))
    assert due == at(expected)
    local = due.astimezone(ZoneInfo("Asia/Shanghai"))
    assert local.second == 0 and local.microsecond == 0
    assert time(9) <= local.time() <= time(18) and local.weekday() < 5


@pytest.mark.parametrize(("now", "until"), [
    ("2026-11-23T10:00:00+08:00", "2026-11-24T18:00:00+08:00"),  # Mon -> Tue evening
    ("2026-11-20T15:00:00+08:00", "2026-11-23T18:00:00+08:00"),  # Fri -> Mon evening
    ("2026-10-09T15:00:00+08:00", "2026-10-10T18:00:00+08:00"),  # Fri -> make-up Saturday
    ("2026-09-30T10:00:00+08:00", "2026-10-08T18:00:00+08:00"),  # over National Day
    ("2026-10-03T10:00:00+08:00", "2026-10-08T18:00:00+08:00"),  # asked on a holiday
    ("2026-12-31T10:00:00+08:00", "2027-01-01T18:00:00+08:00"),  # 2027 guessed Mon-Fri
])
def test_due_soon_until(now: str, until: str) -> None:
    assert due_soon_until(at(now), TZ) == at(until)


# --------------------------------------------------------------------------- the config's calendar

CAL_2027 = WorkCalendar(holidays=frozenset({date(2027, 1, 1)}), workdays=frozenset({date(2027, 2, 14)}))
POLICY_2027 = DeadlinePolicy(hours=OfficeHours(calendar=CAL_2027))


def test_new_year_2027_from_the_config() -> None:
    # Thu 2026-12-31: the 5th working day after it, New Year's Day off, is Fri 01-08, and it is
    # not provisional since the config lists days of 2027.
    got = compute_deadline(at("2026-12-31T10:00:00+08:00"), Priority.ORDINARY, POLICY_2027, TZ)
    assert got == Deadline(at("2027-01-08T18:00:00+08:00"), provisional=False)
    # Without the config: a Mon-Fri guess that counts 01-01 as a working day, provisional.
    assert due("2026-12-31T10:00:00+08:00", "ordinary") == Deadline(at("2027-01-07T18:00:00+08:00"), True)


def test_make_up_sunday_from_the_config_counts() -> None:
    # Fri 2027-02-12 urgent after hours: due the next working day, the make-up Sunday 02-14.
    got = compute_deadline(at("2027-02-12T19:00:00+08:00"), Priority.URGENT, POLICY_2027, TZ)
    assert got == Deadline(at("2027-02-14T18:00:00+08:00"), provisional=False)
    assert not in_quiet_time(at("2027-02-14T10:00:00+08:00"), QuietHours(), TZ, calendar=CAL_2027)
    assert in_quiet_time(at("2027-01-01T10:00:00+08:00"), QuietHours(), TZ, calendar=CAL_2027)


def test_reminder_points_count_the_config_days() -> None:
    received = at("2026-12-30T10:00:00+08:00")  # Wed; ordinary due Thu 2027-01-07 (01-01 off)
    deadline = compute_deadline(received, Priority.ORDINARY, POLICY_2027, TZ).due
    points = reminder_points(received, deadline, True, ["1wd", "30m"], TZ, POLICY_2027.hours)
    assert [(p.key, p.at) for p in points] == [
        ("before:1wd", at("2027-01-06T18:00:00+08:00")),
        ("before:30m", at("2027-01-07T17:30:00+08:00")),
    ]


def test_minutes_reminder_point() -> None:
    assert parse_reminder_point(" 30M ") == ReminderSpec("minutes", 30)
    assert str(parse_reminder_point("30m")) == "30m"
