"""Sensitive-item triage: real false alarms must stay quiet, real alerts must page.

Real examples are loaded by external_id from ../shared/data (skipped when the
folder is absent); they were found by grep and judged by reading. The
hand-written cases below run without the data.
"""

from __future__ import annotations

import pytest

from bot.rules.sensitivity import (
    DEFAULT_CATEGORIES,
    DEFAULT_EXCLUSIONS,
    DEFAULT_THRESHOLD,
    Assessment,
    SensitivityCategory,
    SensitivityTriage,
    assess,
)
from tests.realdata import real


def assess_row(row: dict) -> Assessment:
    # The bot passes the year the message was received; the rules have no clock.
    return assess(row["title"], row["body"], reference_year=int(row["received_at"][:4]))


# -- real false alarms: a keyword is there, nobody needs paging ----------------

REAL_FALSE_ALARMS = [
    # 跳楼机: a fairground ride ("过山车、海盗船、跳楼机").
    ("teddy2020-153940", "跳楼"),
    # The developer's sarcastic advice, quoted: 开发商给出的专业建议是："跳楼"。
    ("teddy2020-197206", "跳楼"),
    # An elevator that 卡顿罢工s: a machine, not a strike.
    ("teddy2020-225600", "罢工"),
    # A ticket gate that 罢工s ("闸机罢工不能用").
    ("teddy2020-282163", "罢工"),
    # 人员聚集场所 in a fire-safety rule, and "一旦发生火灾" - a warning.
    ("teddy2020-205156", "聚集"),
    # The Tianjin explosion cited as a warning about a petrol station.
    ("teddy2020-287492", "爆炸"),
    # A chemical fire in 江苏 and a fireworks fire cited as warnings.
    ("teddy2020-281532", "起火"),
    # A child's death "去年八月份" cited in a property-management complaint.
    ("teddy2020-190218", "死亡"),
    # "信息大爆炸的时代" - a figure of speech.
    ("teddy2020-216316", "爆炸"),
    # "一哭二闹三上吊" - an idiom.
    ("teddy2020-242818", "上吊"),
    # 旅游行业 contains 游行.
    ("teddy2020-231357", "游行"),
    # A wall collapsed last night, "所幸没有造成人员伤亡".
    ("teddy2020-252625", "伤亡"),
    # A road death "于17年10月", in a 2019 message about compensation.
    ("teddy2020-200773", "身亡"),
    # Hawkers' quarrels "已导致几次斗殴": a chronic complaint about a market blocking a road.
    ("teddy2020-194384", "斗殴"),
    # A mahjong parlour where players "时常因打牌纠纷有打架斗殴": noise, told as a habit.
    ("teddy2020-285102", "斗殴"),
    # Elevator falls in 2015 that left "几个人…受伤", in a 2019 complaint about water fees.
    ("teddy2020-281549", "受伤"),
    # A driver "几乎被围殴" at a car park, told as an anecdote.
    ("teddy2020-270105", "围殴"),
    # "想死的心都有了": a figure of speech of a worker waiting for his injury claim.
    ("teddy2020-236881", "想死"),
    # An intercity line suspended (再次停运): a timetable, not drivers on strike.
    ("teddy2020-213275", "停运"),
]


@pytest.mark.parametrize(("external_id", "keyword"), REAL_FALSE_ALARMS)
def test_real_false_alarms_do_not_page(external_id: str, keyword: str) -> None:
    row = real(external_id)
    assert keyword in row["title"] + row["body"]  # the raw keyword is really there
    a = assess_row(row)
    assert not a.sensitive, a.reasons
    assert a.score < DEFAULT_THRESHOLD


# -- real alerts: people acting now or soon, deaths, violence ------------------

REAL_ALERTS = [
    # Owners of an unfinished building: "他们要高举横幅去游行，他们要去跳楼！"
    ("teddy2020-288844", {"threat_to_life", "mass_incident"}),
    # A petitioner: "不想活了！…死也要死在交警总队！"
    ("teddy2020-26255", {"threat_to_life"}),
    # "今天出现了业主车辆堵门的情况" over parking fees.
    ("teddy2020-256959", {"mass_incident"}),
    # Owners "不得已计划组织聚众维权示威".
    ("teddy2020-277714", {"mass_incident"}),
    # A sit-in (静坐维权) where staff hit old people and children.
    ("teddy2020-250498", {"mass_incident"}),
    # Shop tenants "暴力围堵小区出入口…殴打我们小区人".
    ("teddy2020-215105", {"mass_incident", "corruption"}),
    # Someone jumped from the building and died (国庆节从楼上跳下，导致死亡).
    ("teddy2020-222951", {"accident", "threat_to_life"}),
    # Security guards beat an owner, who is in hospital.
    ("teddy2020-242057", {"corruption"}),
    # A group beat hotel staff the night before.
    ("teddy2020-257797", {"mass_incident"}),
    # A neighbour broke in with a knife (入室行凶, 持刀), people injured.
    ("teddy2020-216082", {"violence"}),
    # A property company's staff fight in the estate with water cannon and extinguishers,
    # "已经有人受伤".
    ("teddy2020-189113", {"violence"}),
    # A neighbour came to the door with a knife (手持刀具…要行凶); two messages about him.
    ("teddy2020-194168", {"violence"}),
    ("teddy2020-239227", {"violence"}),
    # The market's managers threatened "打死你们" and brought thugs the next day (拳打脚踢).
    ("teddy2020-238830", {"threat_to_life", "corruption"}),
    # A landlord "出言要弄死我们", with a recording.
    ("teddy2020-218300", {"threat_to_life"}),
    # A property company's employee threatened an owner: "要弄死我".
    ("teddy2020-247713", {"threat_to_life"}),
]


@pytest.mark.parametrize(("external_id", "categories"), REAL_ALERTS)
def test_real_alerts_page(external_id: str, categories: set[str]) -> None:
    a = assess_row(real(external_id))
    assert a.sensitive, a.reasons
    scored = {key for key, score in a.category_scores if score > 0}
    assert categories <= scored
    assert a.category in scored


def test_reference_year_makes_old_events_past() -> None:
    row = real("teddy2020-200773")  # "我父亲…于17年10月在A6区被撞身亡"
    assert assess(row["title"], row["body"]).score > assess_row(row).score


# -- hand-written: false alarms ------------------------------------------------


@pytest.mark.parametrize(
    "title, body",
    [
        ("商场清仓", "本周末全场跳楼价，跳楼大甩卖。"),
        ("电梯又坏了", "3栋电梯又罢工了，三天两头坏，请物业维修。"),
        ("规划建议", "规划要求人员聚集场所配建消防设施和疏散通道。"),
        ("校园文化墙", "文化墙上写着古人的诗句“以死报国”，很有教育意义。"),
        ("两村修桥", "1972年两村曾发生械斗，如今两村关系很好，建议修一座连通的桥。"),
        ("加油站太近", "天津港爆炸事故后，我们小区旁边的加油站让人担心。"),
        ("围墙倒塌", "昨晚小区围墙倒塌，所幸无人员伤亡，请尽快修复。"),
        ("消防通道", "消防通道被占，一旦发生火灾，后果不堪设想。"),
        ("护栏太低", "难道非要等有人跳楼才重视吗？"),
        ("清真餐厅", "清真餐厅门口占道经营，影响通行。"),
        ("中华民族", "实现中华民族伟大复兴，需要每个人努力。"),
    ],
)
def test_hand_written_false_alarms(title: str, body: str) -> None:
    a = assess(title, body)
    assert not a.sensitive, a.reasons


# -- hand-written: alerts ------------------------------------------------------


@pytest.mark.parametrize(
    "title, body, category",
    [
        ("村民要堵路", "征地补偿不到位，明天村民准备到国道上去堵路。", "mass_incident"),
        ("农民工讨薪", "工地农民工集体讨薪，正在项目部门口拉横幅。", "mass_incident"),
        ("退房款", "有业主扬言再不退房款就从楼上跳下去。", "threat_to_life"),
        ("工地事故", "今天上午工地塔吊坍塌，两名工人死亡。", "accident"),
        ("食堂", "学校食堂午餐后三十多名学生食物中毒，已送医院。", "public_health"),
        ("城管当街殴打摊贩", "城管暴力执法，摊贩头部流血。", "corruption"),
        ("两村械斗", "两村村民正在械斗，已有人受伤。", "mass_incident"),
        ("讨个说法", "再不解决，我就去市政府门口喝农药。", "threat_to_life"),
        # harm already done, told in the past: who tried once may try again
        ("拆迁补偿", "去年我因为补偿的事割腕自杀未遂，到现在还是没人管。", "threat_to_life"),
        # transport strikes told colloquially
        ("份子钱太高", "的哥们都不出车了，集体停运抗议份子钱太高。", "mass_incident"),
        ("出租车", "出租车司机今天罢运，客运站门口全是人。", "mass_incident"),
        # villagers saying others intend to block roads and use force
        ("征地", "村民们说下周要组织人去堵路，还要跟施工队动手。", "mass_incident"),
        # an armed fight with injuries
        ("工地纠纷", "包工头带人持刀砍伤了两名工人，现在还在医院。", "violence"),
    ],
)
def test_hand_written_alerts(title: str, body: str, category: str) -> None:
    a = assess(title, body)
    assert a.sensitive, a.reasons
    assert a.category == category


def test_several_signals_add_up() -> None:
    one = assess("物业保安", "物业保安打人。")
    two = assess("物业保安", "物业保安打人，一名业主受伤。")
    three = assess("物业保安", "物业保安围堵业主并打人，一名业主受伤。")
    assert one.score < two.score < three.score
    assert not one.sensitive and not two.sensitive
    assert three.sensitive


def test_ethnic_religious_weighs_low_alone() -> None:
    a = assess("寺庙", "寺庙门口宗教用品摊位占道。")
    assert a.category == "ethnic_religious"
    assert not a.sensitive


def test_imminent_beats_conditional_but_not_rhetoric() -> None:
    threat = assess("烂尾楼", "如果年底拿不到房，业主们要去跳楼。")
    rhetoric = assess("烂尾楼", "难道一定要业主去跳楼才会重视吗？")
    assert threat.sensitive and not rhetoric.sensitive


def test_exclusion_is_local_not_global() -> None:
    # 跳楼价 in one place does not hide a real threat elsewhere.
    a = assess("讨债", "老板把货按跳楼价卖了跑路，工人扬言明天去跳楼。")
    assert a.sensitive
    assert any("excluded 跳楼: 跳楼价" in r for r in a.reasons)


def test_overlapping_terms_counted_once() -> None:
    a = assess("食物中毒", "")
    assert "食物中毒" in a.terms and "中毒" not in a.terms


def test_threshold_and_custom_categories() -> None:
    text = ("村民堵路", "明天村民准备到国道上去堵路。")
    assert assess(*text).sensitive
    assert not assess(*text, threshold=100.0).sensitive
    only_water = (SensitivityCategory("water", "水", "Water", ("停水",), 1.0),)
    a = assess("停水", "小区停水", categories=only_water, exclusions=())
    assert (a.sensitive, a.category, a.terms) == (True, "water", ("停水",))


def test_triage_object_is_reusable_and_agrees_with_function() -> None:
    triage = SensitivityTriage(DEFAULT_CATEGORIES, DEFAULT_EXCLUSIONS, DEFAULT_THRESHOLD)
    for title, body in [("跳楼价", "清仓"), ("堵门", "今天业主开车堵门"), ("", "")]:
        assert triage.assess(title, body) == assess(title, body)
    empty = triage.assess("", "")
    assert (empty.sensitive, empty.score, empty.category, empty.terms) == (False, 0.0, None, ())


def test_reasons_explain_the_score() -> None:
    a = assess("烂尾楼", "如果年底拿不到房，业主们要去跳楼。")
    assert any(r.startswith("threat_to_life: 跳楼") and "now/soon" in r for r in a.reasons)


def test_reference_year_per_call() -> None:
    triage = SensitivityTriage()
    text = ("旧事重提", "2015年小区一栋楼坍塌，三人死亡。")
    assert triage.assess(*text, reference_year=2019).score < triage.assess(*text).score
    assert SensitivityTriage(reference_year=2019).assess(*text) == triage.assess(
        *text, reference_year=2019
    )
