"""Working-day arithmetic against the official 2026 calendar (checked with chinesecalendar 1.11.0).

2026 facts used here: Spring Festival off Sun 02-15..Mon 02-23, make-up working Sat 02-14 and
Sat 02-28; Mid-Autumn off Fri 09-25..Sun 09-27; National Day off Thu 10-01..Wed 10-07, make-up
working Sun 09-20 and Sat 10-10; 2027 is not yet in the calendar (weekday fallback).
"""

from datetime import date, datetime, timedelta

import pytest

from bot.rules.workdays import (
    WorkCalendar,
    add_workdays,
    is_known,
    is_workday,
    next_workday,
    prev_workday,
    unknown_days,
    workdays_between,
)


def test_ordinary_weekdays_and_weekend() -> None:
    assert is_workday(date(2026, 11, 20))  # Fri
    assert not is_workday(date(2026, 11, 21))  # Sat
    assert not is_workday(date(2026, 11, 22))  # Sun
    assert is_workday(date(2026, 11, 23))  # Mon


def test_spring_festival_2026() -> None:
    off = [date(2026, 2, 15) + timedelta(days=i) for i in range(9)]  # 02-15 .. 02-23
    assert all(not is_workday(d) for d in off)
    assert is_workday(date(2026, 2, 14))  # make-up Saturday
    assert is_workday(date(2026, 2, 24))
    assert is_workday(date(2026, 2, 28))  # make-up Saturday
    assert not is_workday(date(2026, 3, 1))


def test_national_day_2026_with_make_up_days() -> None:
    assert is_workday(date(2026, 9, 20))  # Sunday, make-up working day
    assert not is_workday(date(2026, 9, 19))  # plain Saturday
    assert [is_workday(date(2026, 9, d)) for d in (25, 26, 27)] == [False] * 3  # Mid-Autumn
    assert all(not is_workday(date(2026, 10, d)) for d in range(1, 8))
    assert is_workday(date(2026, 10, 8)) and is_workday(date(2026, 10, 9))
    assert is_workday(date(2026, 10, 10))  # Saturday, make-up working day
    assert not is_workday(date(2026, 10, 11))


def test_datetime_is_accepted_as_its_date() -> None:
    assert is_workday(datetime(2026, 10, 10, 23, 59))
    assert not is_workday(datetime(2026, 10, 1, 12, 0))


def test_is_known_and_weekday_fallback_for_2027() -> None:
    assert is_known(date(2026, 12, 31))
    assert not is_known(date(2027, 1, 1))
    # Fallback is plain Mon–Fri: New Year's Day 2027 (a Friday) is *guessed* a working day,
    # which is exactly why such results are flagged provisional.
    assert is_workday(date(2027, 1, 1))
    assert not is_workday(date(2027, 1, 2))  # Sat
    assert not is_workday(date(2027, 1, 3))  # Sun
    assert is_workday(date(2027, 1, 4))  # Mon


def test_add_workdays_start_day_never_counts() -> None:
    # From a working day: Mon 11-23 + 1 = Tue 11-24.
    assert add_workdays(date(2026, 11, 23), 1) == (date(2026, 11, 24), False)
    # From a non-working day: Sat 11-21 + 1 = Mon 11-23 (not "day 0" as find_workday counts).
    assert add_workdays(date(2026, 11, 21), 1) == (date(2026, 11, 23), False)
    assert add_workdays(date(2026, 11, 21), 2) == (date(2026, 11, 24), False)


def test_add_workdays_zero() -> None:
    assert add_workdays(date(2026, 11, 23), 0) == (date(2026, 11, 23), False)
    assert add_workdays(date(2026, 11, 21), 0) == (date(2026, 11, 23), False)
    assert add_workdays(date(2026, 10, 1), 0) == (date(2026, 10, 8), False)


def test_add_workdays_across_national_day() -> None:
    # Mon 09-28 + 5: 09-29, 09-30, 10-08, 10-09, Sat 10-10 (make-up).
    assert add_workdays(date(2026, 9, 28), 5) == (date(2026, 10, 10), False)
    assert add_workdays(date(2026, 9, 28), 6) == (date(2026, 10, 12), False)


def test_make_up_sunday_counts() -> None:
    # Fri 09-18 + 1 is Sun 09-20 (make-up), not Mon 09-21.
    assert next_workday(date(2026, 9, 18)) == date(2026, 9, 20)
    assert next_workday(date(2026, 9, 20)) == date(2026, 9, 21)


def test_add_workdays_across_spring_festival() -> None:
    # Fri 02-13 + 1 = Sat 02-14 (make-up); + 2 = Tue 02-24 after the 9-day break.
    assert add_workdays(date(2026, 2, 13), 1) == (date(2026, 2, 14), False)
    assert add_workdays(date(2026, 2, 13), 2) == (date(2026, 2, 24), False)


def test_add_workdays_backwards() -> None:
    assert add_workdays(date(2026, 10, 10), -1) == (date(2026, 10, 9), False)
    assert add_workdays(date(2026, 10, 8), -1) == (date(2026, 9, 30), False)
    assert prev_workday(date(2026, 2, 24)) == date(2026, 2, 14)
    assert prev_workday(date(2026, 9, 21)) == date(2026, 9, 20)


def test_year_end_provisional() -> None:
    # Thu 12-24 + 5 stays in 2026: 12-25, 12-28, 12-29, 12-30, 12-31.
    assert add_workdays(date(2026, 12, 24), 5) == (date(2026, 12, 31), False)
    # Fri 12-25 + 5 reaches into 2027 (fallback Mon–Fri): provisional.
    assert add_workdays(date(2026, 12, 25), 5) == (date(2027, 1, 1), True)
    assert add_workdays(date(2026, 12, 31), 2) == (date(2027, 1, 4), True)
    # Starting in an unknown year is provisional even for n = 0.
    assert add_workdays(date(2027, 1, 2), 0) == (date(2027, 1, 4), True)


def test_workdays_between_half_open() -> None:
    assert workdays_between(date(2026, 11, 23), date(2026, 11, 23)) == 0
    assert workdays_between(date(2026, 11, 23), date(2026, 11, 24)) == 1
    assert workdays_between(date(2026, 11, 20), date(2026, 11, 23)) == 1  # Fri -> Mon
    assert workdays_between(date(2026, 9, 28), date(2026, 10, 10)) == 5
    assert workdays_between(date(2026, 9, 30), date(2026, 10, 7)) == 0  # whole holiday
    assert workdays_between(date(2026, 11, 24), date(2026, 11, 23)) == 0  # reversed span


@pytest.mark.parametrize("start", [date(2026, 1, 1) + timedelta(days=i) for i in range(0, 365, 7)])
def test_add_and_between_agree(start: date) -> None:
    for n in (1, 5, 10):
        end, _ = add_workdays(start, n)
        assert is_workday(end)
        assert workdays_between(start, end) == n


def test_new_year_2026_with_make_up_sunday() -> None:
    # 2026-01-01..03 off; Sun 01-04 is a make-up working day. Both years are in the calendar.
    assert not is_workday(date(2026, 1, 2))
    assert is_workday(date(2026, 1, 4))
    assert add_workdays(date(2025, 12, 31), 1) == (date(2026, 1, 4), False)
    assert workdays_between(date(2025, 12, 30), date(2026, 1, 5)) == 3  # 12-31, 01-04, 01-05


def test_labour_day_2026_with_make_up_saturday() -> None:
    # 05-01..05 off; Sat 05-09 is a make-up working day.
    assert add_workdays(date(2026, 4, 30), 1) == (date(2026, 5, 6), False)
    assert add_workdays(date(2026, 4, 30), 4) == (date(2026, 5, 9), False)
    assert next_workday(date(2026, 5, 9)) == date(2026, 5, 11)


def test_mid_autumn_runs_into_national_day() -> None:
    # Thu 09-24; Mid-Autumn 09-25..27 off, then three working days, then National Day 10-01..07.
    assert next_workday(date(2026, 9, 24)) == date(2026, 9, 28)
    assert add_workdays(date(2026, 9, 24), 5) == (date(2026, 10, 9), False)
    assert workdays_between(date(2026, 9, 24), date(2026, 10, 9)) == 5


def test_year_end_2026_counts_across_into_guessed_2027() -> None:
    assert workdays_between(date(2026, 12, 30), date(2027, 1, 4)) == 3  # 12-31, 01-01 (guessed), 01-04
    assert add_workdays(date(2027, 1, 4), -1) == (date(2027, 1, 1), True)
    assert add_workdays(date(2027, 1, 4), -2) == (date(2026, 12, 31), True)


# --------------------------------------------------------------------------- the config's own days

CAL_2027 = WorkCalendar(
    holidays=frozenset({date(2027, 1, 1), date(2027, 2, 5)}),
    workdays=frozenset({date(2027, 2, 14)}),  # a Sunday made a working day
)


def test_config_days_make_their_year_known() -> None:
    assert not is_known(date(2027, 3, 1))
    assert CAL_2027.is_known(date(2027, 3, 1)) and CAL_2027.is_known(date(2027, 12, 31))
    assert not CAL_2027.is_known(date(2028, 1, 3))


def test_config_holidays_and_make_up_days() -> None:
    assert not CAL_2027.is_workday(date(2027, 1, 1))  # a Friday, off
    assert CAL_2027.is_workday(date(2027, 2, 14))  # a Sunday, working
    assert CAL_2027.add_workdays(date(2026, 12, 31), 1) == (date(2027, 1, 4), False)
    assert CAL_2027.add_workdays(date(2027, 2, 12), 1) == (date(2027, 2, 14), False)


def test_config_days_win_over_the_package() -> None:
    cal = WorkCalendar(holidays=frozenset({date(2026, 11, 23)}), workdays=frozenset({date(2026, 11, 22)}))
    assert is_workday(date(2026, 11, 23)) and not cal.is_workday(date(2026, 11, 23))
    assert not is_workday(date(2026, 11, 22)) and cal.is_workday(date(2026, 11, 22))
    assert cal.workdays_between(date(2026, 11, 20), date(2026, 11, 24)) == 2  # Sun 22 and Tue 24


def test_unknown_days() -> None:
    assert unknown_days(date(2026, 12, 1), 30) == []
    assert unknown_days(date(2026, 12, 2), 30) == [date(2027, 1, 1)]
    assert unknown_days(date(2026, 12, 30), 3) == [date(2027, 1, 1), date(2027, 1, 2)]
    assert unknown_days(date(2026, 12, 2), 30, CAL_2027) == []
    assert unknown_days(date(2027, 12, 30), 3, CAL_2027) == [date(2028, 1, 1), date(2028, 1, 2)]
