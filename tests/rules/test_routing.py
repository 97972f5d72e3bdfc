"""Routing rules: explicit choice, most specific place name, title weight, ties."""

from __future__ import annotations

import pytest

from bot.rules.routing import (
    REASON_EXPLICIT,
    REASON_NONE,
    REASON_TEXT,
    REASON_TIE,
    RegionDirectory,
    RegionRef,
    common_word_aliases,
)
from tests.realdata import real

# -- hand-written directory (a made-up city, not the data set) ----------------

REGIONS = [
    RegionRef("furong", "芙蓉区", ("芙蓉", "定王台街道", "东湖街道")),
    RegionRef("yuelu", "岳麓区", ("岳麓", "梅溪湖", "含浦镇")),
    RegionRef("kaifu", "开福区", ("开福", "北辰三角洲")),
    RegionRef("city", "长沙市", ("长沙",)),
]


@pytest.fixture(scope="module")
def directory() -> RegionDirectory:
    return RegionDirectory(REGIONS, umbrella=("city",), neutral_terms=("湖南省",))


def test_resolve_by_code_name_alias(directory: RegionDirectory) -> None:
    assert directory.resolve("yuelu").code == "yuelu"
    assert directory.resolve(" 岳麓区 ").code == "yuelu"
    assert directory.resolve("梅溪湖").code == "yuelu"
    assert directory.resolve("YUELU").code == "yuelu"
    assert directory.resolve("Ｙｕｅｌｕ").code == "yuelu"
    assert directory.resolve("岳 麓 区").code == "yuelu"
    assert directory.resolve("岳麓山") is None
    assert directory.resolve("") is None


def test_ambiguous_alias_does_not_resolve() -> None:
    d = RegionDirectory([RegionRef("a", "甲区", ("新城",)), RegionRef("b", "乙区", ("新城",))])
    assert d.resolve("新城") is None
    assert d.route(None, "新城小区停水", "").reason == REASON_TIE


def test_duplicate_codes_rejected() -> None:
    with pytest.raises(ValueError):
        RegionDirectory([RegionRef("a", "甲区"), RegionRef("a", "乙区")])


def test_explicit_wins_over_text(directory: RegionDirectory) -> None:
    r = directory.route("开福区", "岳麓区梅溪湖噪音扰民", "岳麓区的问题")
    assert (r.region, r.reason, r.hint) == ("kaifu", REASON_EXPLICIT, None)


def test_unresolved_explicit_is_kept_as_hint(directory: RegionDirectory) -> None:
    r = directory.route("雨花区", "岳麓区含浦镇道路破损", "")
    assert (r.region, r.reason, r.hint) == ("yuelu", REASON_TEXT, "雨花区")
    r = directory.route("雨花区", "公交线路建议", "")
    assert (r.region, r.reason, r.hint) == (None, REASON_NONE, "雨花区")


def test_blank_explicit_is_ignored(directory: RegionDirectory) -> None:
    r = directory.route("   ", "岳麓区道路", "")
    assert (r.reason, r.hint) == (REASON_TEXT, None)


def test_longer_name_beats_the_shorter_inside_it(directory: RegionDirectory) -> None:
    # "芙蓉区" and its alias "芙蓉" overlap: counted once, as the longer.
    r = directory.route(None, "芙蓉区东湖街道积水", "")
    assert r.region == "furong"
    assert r.matched == ("芙蓉区", "东湖街道")


def test_road_named_after_a_district_does_not_count(directory: RegionDirectory) -> None:
    # 芙蓉路 / 芙蓉中路 run through several districts.
    r = directory.route(None, "开福区芙蓉中路路灯不亮", "芙蓉路北段")
    assert (r.region, r.matched) == ("kaifu", ("开福区",))
    assert directory.route(None, "芙蓉路噪音", "").reason == REASON_NONE


def test_title_outweighs_body(directory: RegionDirectory) -> None:
    r = directory.route(None, "岳麓区含浦镇信号差", "本村原属开福区，开福区划出后，开福区不管")
    assert (r.region, r.reason) == ("yuelu", REASON_TEXT)


def test_body_counts_when_title_has_no_place(directory: RegionDirectory) -> None:
    r = directory.route(None, "小区停水三天", "家住岳麓区梅溪湖，岳麓区水务请处理，曾去过开福区")
    assert r.region == "yuelu"


def test_tie_is_not_routed(directory: RegionDirectory) -> None:
    r = directory.route(None, "芙蓉区和岳麓区交界处的路灯", "")
    assert (r.region, r.reason) == (None, REASON_TIE)
    assert set(r.matched) == {"芙蓉区", "岳麓区"}


def test_umbrella_city_does_not_cause_a_tie(directory: RegionDirectory) -> None:
    r = directory.route(None, "长沙市岳麓区梅溪湖违建", "")
    assert (r.region, r.reason) == ("yuelu", REASON_TEXT)
    assert "长沙市" not in r.matched
    # Alone, the city-level office gets it.
    r = directory.route(None, "长沙市公交线路建议", "")
    assert (r.region, r.reason) == ("city", REASON_TEXT)


def test_city_name_as_nobodys_alias_never_ties() -> None:
    d = RegionDirectory(
        [RegionRef("A1区", "A1区"), RegionRef("A3区", "A3区")], neutral_terms=("A市",)
    )
    r = d.route(None, "A市A3区垃圾站", "A市A市A市")
    assert (r.region, r.reason, r.matched) == ("A3区", REASON_TEXT, ("A3区",))
    assert d.route(None, "A市公交", "").reason == REASON_NONE


def test_neutral_term_hides_shorter_alias() -> None:
    d = RegionDirectory([RegionRef("ch", "长沙县", ("长沙",))], neutral_terms=("长沙市",))
    assert d.route(None, "长沙市地铁", "").reason == REASON_NONE
    assert d.route(None, "长沙县星沙停电", "").region == "ch"


def test_continuation_blocker_does_not_hide_a_town_alias() -> None:
    d = RegionDirectory([RegionRef("csx", "长沙县", ("路口镇",))])
    r = d.route(None, "长沙县路口镇红绿灯错乱", "")
    # "长沙县路口…" is the county too (a district name before 路口 is the district).
    assert (r.region, r.matched) == ("csx", ("长沙县", "路口镇"))


def test_river_bank_area_is_not_the_river() -> None:
    d = RegionDirectory([RegionRef("wc", "望城区", ("望城",))])
    assert d.route(None, "望城河东路灯", "").region == "wc"
    assert d.route(None, "望城路噪音", "").region is None


def test_ascii_codes_do_not_match_inside_longer_codes() -> None:
    d = RegionDirectory([RegionRef("A1区", "A1区")])
    assert d.route(None, "BA1区的问题", "").reason == REASON_NONE


# -- district + 路灯/路口, county + town, common-word aliases -----------------

GANSU = [
    RegionRef("620100", "兰州市", ("兰州", "城关区", "七里河区", "榆中县"), common_aliases=("安宁",)),
    RegionRef("621200", "陇南市", ("陇南", "武都区", "城关镇")),
    RegionRef("620500", "天水市", ("天水", "秦州区", "麦积区")),
]


@pytest.fixture(scope="module")
def gansu() -> RegionDirectory:
    return RegionDirectory(GANSU, neutral_terms=("甘肃省",))


@pytest.mark.parametrize("title", ["城关区路灯坏了", "城关区路口红绿灯坏了", "七里河区路灯",
                                   "七里河区路面塌陷", "城关区路段积水严重", "城关区路边摊占道"])
def test_district_followed_by_road_feature_is_the_district(gansu: RegionDirectory,
                                                           title: str) -> None:
    r = gansu.route(None, title, "")
    assert (r.region, r.reason) == ("620100", REASON_TEXT)
    assert r.matched[0] in ("城关区", "七里河区")


def test_district_named_road_is_still_a_road(gansu: RegionDirectory) -> None:
    # "城关区路" alone (a road named after the district) still says nothing about the office,
    # nor does "on X road" (路上).
    assert gansu.route(None, "城关区路噪音扰民", "").reason == REASON_NONE
    assert gansu.route(None, "秦州区路上大货车超速", "").reason == REASON_NONE
    r = gansu.route(None, "秦州区城关区路路灯不亮", "")
    assert (r.region, r.matched) == ("620500", ("秦州区",))


def test_county_qualifies_the_town_after_it(gansu: RegionDirectory) -> None:
    # 城关镇 is configured for 陇南 (its own seat town); "榆中县城关镇" is 榆中县's: no tie.
    r = gansu.route(None, "榆中县城关镇供暖不达标", "榆中县城关镇某小区")
    assert (r.region, r.reason, r.matched) == ("620100", REASON_TEXT, ("榆中县",))
    # Unqualified, the town is the region's that configured it.
    assert gansu.route(None, "城关镇供暖不达标", "").region == "621200"
    # Not adjacent: two places named, a real tie.
    assert gansu.route(None, "榆中县和城关镇交界处", "").reason == REASON_TIE


def test_two_districts_side_by_side_still_tie(gansu: RegionDirectory) -> None:
    # Only a town-level name is qualified; two district-level names are a border, not a place.
    assert gansu.route(None, "城关区秦州区共管路段", "").reason == REASON_TIE


def test_common_word_aliases_are_flagged() -> None:
    assert common_word_aliases(["兰州", " 安宁 ", "城关区", "合作", "安宁"]) == ("安宁", "合作")
    assert common_word_aliases(["安宁区", "天水", "合作市"]) == ()


@pytest.mark.parametrize("title", ["楼下酒吧吵得我们不得安宁", "噪音扰民，居民不得安宁"])
def test_common_word_alias_in_prose_does_not_route(gansu: RegionDirectory, title: str) -> None:
    r = gansu.route(None, title, "")
    assert (r.region, r.reason) == (None, REASON_NONE)


@pytest.mark.parametrize("title", ["安宁区停水三天", "兰州安宁停水三天", "安宁一带停水三天"])
def test_common_word_alias_marked_as_a_place_routes(gansu: RegionDirectory, title: str) -> None:
    assert gansu.route(None, title, "").region == "620100"


def test_common_word_alias_resolves_explicitly(gansu: RegionDirectory) -> None:
    assert gansu.resolve("安宁").code == "620100"


def test_plain_alias_that_is_a_common_word_still_routes_everywhere() -> None:
    # What a deployment gets if it configures "安宁" as a plain alias: the reason to warn.
    d = RegionDirectory([RegionRef("lz", "兰州市", ("安宁",))])
    assert d.route(None, "噪音扰民，居民不得安宁", "").region == "lz"


# -- real messages (A-city data set, place names anonymised by the data set) --

A_CITY = RegionDirectory(
    [
        RegionRef(n, n)
        for n in ("A1区", "A2区", "A3区", "A4区", "A5区", "A6区", "A7县", "A8县", "A9市")
    ],
    neutral_terms=("A市",),
)


@pytest.mark.parametrize(
    ("external_id", "region", "reason"),
    [
        # "A2区A1区南路…": A1区南路 is a road (芙蓉南路), the place is A2区.
        ("teddy2020-196037", "A2区", REASON_TEXT),
        # Title A3区; the body names A6区 four times ("原属A6区").
        ("teddy2020-192427", "A3区", REASON_TEXT),
        # Title A7县; the body cites an accident in A9市 as a warning.
        ("teddy2020-277875", "A7县", REASON_TEXT),
        # "A1区A9市河观光带": A9市河 is a river (浏阳河).
        ("teddy2020-204512", "A1区", REASON_TEXT),
        # Only the road A1区北路 is named: not routed rather than misrouted.
        ("teddy2020-269045", None, REASON_NONE),
        # A city-wide policy question.
        ("teddy2020-200353", None, REASON_NONE),
    ],
)
def test_real_messages(external_id: str, region: str | None, reason: str) -> None:
    row = real(external_id)
    r = A_CITY.route(None, row["title"], row["body"])
    assert (r.region, r.reason) == (region, reason)


A_CITY_COMMON = RegionDirectory(
    [RegionRef("A4区", "A4区", common_aliases=("安宁",)), RegionRef("A7县", "A7县"),
     RegionRef("A1区", "A1区")],
    neutral_terms=("A市",),
)


@pytest.mark.parametrize("external_id", ["teddy2020-190523", "teddy2020-275107"])
def test_real_prose_with_a_common_word_alias_is_not_routed(external_id: str) -> None:
    # "…水深火热不得安宁…", "…老人小孩不得安宁…": no district named, and 安宁 is a word here.
    row = real(external_id)
    r = A_CITY_COMMON.route(None, row["title"], row["body"])
    assert (r.region, r.reason) == (None, REASON_NONE)


def test_real_district_street_light_office_counts_for_the_district() -> None:
    # "…希望A4区路灯管理所实地勘察…": the district's own street-light office.
    row = real("teddy2020-227050")
    assert "A4区路灯" in row["body"]
    r = A_CITY.route(None, "", row["body"])
    assert r.region == "A4区" and "A4区" in r.matched


def test_real_county_qualifies_a_town_configured_elsewhere() -> None:
    # "A7县路口镇…": 路口镇 of A7县, even where another region has a 路口镇 of its own.
    d = RegionDirectory([RegionRef("A7县", "A7县"), RegionRef("other", "A8县", ("路口镇",))],
                        neutral_terms=("A市",))
    row = real("teddy2020-189864")
    r = d.route(None, row["title"], row["body"])
    assert (r.region, r.reason) == ("A7县", REASON_TEXT)
