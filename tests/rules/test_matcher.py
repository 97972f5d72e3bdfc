"""TermMatcher: every occurrence, overlapping and nested ones included."""

from __future__ import annotations

from bot.rules.matcher import (
    Match,
    TermMatcher,
    drop_covered,
    fold_ascii,
    longest_non_overlapping,
    sentence_bounds,
)


def test_nested_term_is_found_too() -> None:
    # A regex alternation would consume "食物中毒" and never report "中毒".
    m = TermMatcher([("食物中毒", "a"), ("中毒", "b")])
    found = m.find("学校食堂发生食物中毒")
    assert [(x.term, x.value, x.start, x.end) for x in found] == [
        ("食物中毒", "a", 6, 10),
        ("中毒", "b", 8, 10),
    ]


def test_overlapping_terms_and_repeats() -> None:
    m = TermMatcher([("A市A3区", 1), ("A市", 2), ("A3区", 3)])
    found = m.find("A市A3区和A3区")
    assert sorted((x.term, x.start) for x in found) == [
        ("A3区", 2),
        ("A3区", 6),
        ("A市", 0),
        ("A市A3区", 0),
    ]
    text = "A市A3区和A3区"
    assert all(text[x.start : x.end] == x.term for x in found)


def test_same_term_with_two_values_reports_both() -> None:
    m = TermMatcher([("新城", "north"), ("新城", "south")])
    assert {x.value for x in m.find("新城小区")} == {"north", "south"}


def test_case_and_width_folding_keeps_offsets() -> None:
    m = TermMatcher([("A1区", "a1")])
    text = "住在ａ１区的居民"
    (hit,) = m.find(text)
    assert (hit.start, hit.end) == (2, 5)
    assert text[hit.start : hit.end] == "ａ１区"
    assert len(fold_ascii("İ Ａｂ　")) == len("İ Ａｂ　")


def test_ascii_boundaries() -> None:
    m = TermMatcher([("A1区", 1)], ascii_boundaries=True)
    assert m.find("BA1区") == []
    assert len(m.find("在A1区")) == 1


def test_empty_matcher_and_empty_text() -> None:
    assert TermMatcher([]).find("任何文字") == []
    assert TermMatcher([("x", 1)]).find("") == []


def test_longest_non_overlapping_prefers_longer() -> None:
    m = TermMatcher([("长沙", 1), ("长沙县", 2), ("县城", 3)])
    kept = longest_non_overlapping(m.find("长沙县城"))
    assert [x.term for x in kept] == ["长沙县"]


def test_drop_covered() -> None:
    m = TermMatcher([("跳楼", "t"), ("跳楼价", "x")])
    found = m.find("商场跳楼价甩卖，有人扬言跳楼")
    terms = [x for x in found if x.value == "t"]
    covers = [x for x in found if x.value == "x"]
    kept = drop_covered(terms, covers)
    assert [(x.term, x.start) for x in kept] == [("跳楼", 12)]


def test_sentence_bounds() -> None:
    text = "第一句。第二句，有逗号！第三"
    assert sentence_bounds(text, 5) == (4, 11)
    assert text[slice(*sentence_bounds(text, 13))] == "第三"


def test_match_is_a_value() -> None:
    assert Match("a", 1, 0, 1) == Match("a", 1, 0, 1)
    assert Match("ab", 1, 0, 2).length == 2
