"""Priority classes: urgent (same day), ordinary (5 working days), complex (10)."""

from __future__ import annotations

import pytest

from bot.rules.priority import (
    COMPLEX,
    DEFAULT_COMPLEX_TERMS,
    DEFAULT_URGENT_TERMS,
    ORDINARY,
    URGENT,
    PriorityClassifier,
    classify_priority,
)
from tests.realdata import real


@pytest.mark.parametrize(
    ("title", "body", "expected", "term"),
    [
        ("幸福小区停水三天了", "从周一开始停水，到现在还没来水，老人孩子没水喝。", URGENT, "停水"),
        ("楼道闻到煤气味", "3栋2单元燃气泄漏，气味很重，请马上派人。", URGENT, "燃气泄漏"),
        ("电梯故障", "今天下午有人被困电梯一个小时。", URGENT, "被困"),
        ("后山护坡垮塌", "昨晚大雨后山护坡垮塌，泥土冲到房屋后墙。", URGENT, "垮塌"),
        ("工地欠薪", "快过年了，包工头拖欠工资不给，二十多个农民工回不了家。", URGENT, "拖欠工资+过年"),
        ("征地补偿不到位", "村里征地补偿款至今没有发放到位。", COMPLEX, "征地"),
        ("房产证办不下来", "小区交房八年了，房产证一直没有解决。", COMPLEX, "房产证"),
        ("历史遗留问题", "老厂改制后的职工工龄认定问题，多个部门互相推诿。", COMPLEX, "改制"),
        ("路灯不亮", "小区门口的路灯坏了一个月。", ORDINARY, None),
    ],
)
def test_hand_written(title: str, body: str, expected: str, term: str | None) -> None:
    cls, terms = classify_priority(title, body)
    assert cls == expected
    if term is None:
        assert terms == ()
    else:
        assert term in terms


def test_urgent_wins_over_complex() -> None:
    cls, terms = classify_priority("拆迁户被断水断电", "拆迁办昨天强行断水断电，一家老小没法生活。")
    assert cls == URGENT
    assert "断电" in terms


@pytest.mark.parametrize(
    ("title", "body"),
    [
        # An elevator switched off is not a power cut.
        ("物业停电梯", "物业威胁不交费就停电梯。"),
        # A hypothetical risk is not an emergency.
        ("电表箱装在门口", "一旦漏电后果不堪设想。"),
        # A chronic complaint goes through the utility's plan, not same day.
        ("小区经常停水", "小区每年夏天经常停水，请求改造管网。"),
        # A threat, not yet done.
        ("物业恐吓业主", "物业威胁说不交物业费就停水。"),
        # A past event.
        ("旧事", "去年小区停电过一次，现在已经好了。"),
        # Wage arrears without the Spring Festival: ordinary.
        ("公司拖欠工资", "公司拖欠工资两个月。"),
    ],
)
def test_not_urgent(title: str, body: str) -> None:
    assert classify_priority(title, body)[0] != URGENT


def test_custom_terms_and_conjunction() -> None:
    cls, terms = classify_priority("暖气不热", "冬天暖气不热，老人受冻。", ("暖气不热+冬天",), ())
    assert (cls, terms) == (URGENT, ("暖气不热+冬天",))
    assert classify_priority("暖气不热", "夏天检修", ("暖气不热+冬天",), ())[0] == ORDINARY


def test_classifier_object_matches_function() -> None:
    clf = PriorityClassifier(DEFAULT_URGENT_TERMS, DEFAULT_COMPLEX_TERMS)
    for title, body in [("停水", "停水两天了"), ("征地", "征地问题"), ("路灯", "不亮")]:
        assert clf.classify(title, body) == classify_priority(title, body)


def test_term_does_not_match_across_title_and_body() -> None:
    # "停" ending the title and "水" starting the body must not read as 停水.
    assert classify_priority("物业说要停", "水费明天交") == (ORDINARY, ())


@pytest.mark.parametrize(
    ("external_id", "expected"),
    [
        ("teddy2020-266069", URGENT),  # 停水已经八天了
        ("teddy2020-211874", URGENT),  # 大过年的，停水两天整了
        ("teddy2020-268304", URGENT),  # 物业强行断电
        ("teddy2020-264596", COMPLEX),  # 拆迁安置
        ("teddy2020-190371", COMPLEX),  # 征地补偿
        ("teddy2020-215654", ORDINARY),  # 物业"强调要停水、停电" - a threat
    ],
)
def test_real_messages(external_id: str, expected: str) -> None:
    row = real(external_id)
    assert classify_priority(row["title"], row["body"])[0] == expected
