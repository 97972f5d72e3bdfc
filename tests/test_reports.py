"""Figures, hot issues, key items and the rendered reports, on hand-made items with known answers
and on the real messages of the data set."""

from __future__ import annotations

import json
import warnings
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.config import Config
from bot.render import TEXT_LIMIT, Renderer, visible_length
from bot.reports.builder import (
    build_report,
    monthly_period,
    rank_regions,
    render_full_html,
    render_summary,
    weekly_period,
)
from bot.reports.chart import cjk_font_path
from bot.reports.chart import render_chart_png as chart_png
from bot.reports.figures import RegionFigures, compute_figures, render_chart_png
from bot.reports.hot_issues import Message, hot_issues
from bot.reports.key_items import Candidate, select_key_items
from storage.db import Database
from storage.models import Item
from tests.conftest import LANZHOU, TIANSHUI, data_file, make_config

TZ = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    """``"10-12 10:00"`` in 2026, Asia/Shanghai."""
    return datetime.strptime(f"2026-{text}", "%Y-%m-%d %H:%M").replace(tzinfo=TZ)


def item(n: int, region: str | None, received: str, deadline: str, replied: str | None = None,
         rating: str | None = None, rated: str | None = None, **kw: object) -> Item:
    return Item(
        external_id=f"fig-{n}", title=kw.pop("title", f"留言{n}"), body=kw.pop("body", "内容"), region=region,  # type: ignore[arg-type]
        status="replied" if replied else ("new" if region else "unrouted"),
        received_at=at(received), created_at=at(received), deadline=at(deadline),
        replied_at=at(replied) if replied else None, rating=rating, rated_at=at(rated) if rated else None,
        **kw,  # type: ignore[arg-type]
    )


def store(config: Config, items: list[Item]) -> Database:
    db = Database(config.database.url)
    db.create_schema()

    def add(session):  # type: ignore[no-untyped-def]
        for it in items:
            session.add(it)

    db.call(add)
    return db


# The week of Monday 2026-10-12 (a normal working week: 10-17/18 are the weekend), seen on
# Wednesday 10-21 10:00.
WEEK = (at("10-12 00:00"), at("10-19 00:00"))
NOW = at("10-21 10:00")

def hand_made() -> list[Item]:
    """Fresh items each time (an Item stored once belongs to that database's session)."""
    return [
        # Lanzhou
        item(1, LANZHOU, "10-12 10:00", "10-16 18:00", replied="10-13 15:00", rating="satisfied", rated="10-14 09:00"),
        item(2, LANZHOU, "10-13 09:00", "10-18 12:00", replied="10-19 09:00", rating="basically_satisfied",
             rated="10-19 20:00"),  # replied late: 4 working days (14, 15, 16, 19)
        item(3, LANZHOU, "10-14 09:00", "10-17 12:00"),  # due in the week, never replied: overdue
        item(4, LANZHOU, "10-16 09:00", "10-23 18:00", replied="10-20 09:00", rating="unsatisfied",
             rated="10-20 12:00"),  # due next week; replied after the week but before now: 2 working days
        item(5, LANZHOU, "10-05 09:00", "10-13 18:00", replied="10-12 09:00"),  # received before, due in the week
        item(6, LANZHOU, "10-15 09:00", "10-22 18:00", replied="10-22 12:00", rating="satisfied",
             rated="10-22 13:00"),  # replied and rated after NOW: not yet, as of NOW
        # Tianshui: replied the same (Saturday) day it came
        item(7, TIANSHUI, "10-17 10:00", "10-23 18:00", replied="10-17 12:00", rating="satisfied", rated="10-18 09:00"),
        # unrouted: in the total only
        item(8, None, "10-13 10:00", "10-15 18:00"),
        # outside the week altogether
        item(9, LANZHOU, "10-19 09:00", "10-26 18:00", replied="10-19 10:00"),
    ]


def test_figures_count_what_the_definitions_say(config: Config) -> None:
    db = store(config, hand_made())
    try:
        figures = db.call(compute_figures, config, *WEEK, NOW)
    finally:
        db.dispose()
    lz, ts = figures.regions
    assert (lz.code, lz.name, ts.code) == (LANZHOU, "兰州市", TIANSHUI)
    assert (lz.received, lz.replied, lz.reply_rate) == (5, 3, pytest.approx(3 / 5))
    assert (lz.due, lz.replied_on_time, lz.overdue, lz.on_time_rate) == (4, 2, 2, pytest.approx(0.5))
    assert lz.mean_workdays_to_reply == pytest.approx((1 + 4 + 2) / 3)
    assert (lz.rated, lz.satisfied, lz.basically_satisfied, lz.unsatisfied) == (3, 1, 1, 1)
    assert lz.satisfaction_rate == pytest.approx(2 / 3)
    assert (ts.received, ts.replied, ts.due, ts.on_time_rate) == (1, 1, 0, None)
    assert ts.mean_workdays_to_reply == 0.0
    assert (ts.rated, ts.satisfaction_rate) == (1, 1.0)
    total = figures.total
    assert total.code is None and total.name == "合计"
    assert (total.received, total.replied, total.due, total.replied_on_time, total.overdue) == (7, 4, 5, 2, 3)
    assert total.mean_workdays_to_reply == pytest.approx(7 / 4)
    assert (total.rated, total.satisfaction_rate) == (4, pytest.approx(3 / 4))


def test_figures_of_an_empty_period_are_none_not_zero(config: Config) -> None:
    db = store(config, hand_made())
    try:
        figures = db.call(compute_figures, config, at("11-02 00:00"), at("11-09 00:00"), at("11-10 09:00"))
    finally:
        db.dispose()
    assert [r.name for r in figures.regions] == ["兰州市", "天水市"]
    for row in (*figures.regions, figures.total):
        assert (row.received, row.due, row.rated) == (0, 0, 0)
        assert row.reply_rate is None and row.on_time_rate is None and row.satisfaction_rate is None
        assert row.mean_workdays_to_reply is None


def test_deadlines_not_yet_passed_are_not_due(config: Config) -> None:
    """A report made mid-week counts only the deadlines already passed."""
    db = store(config, hand_made())
    try:
        figures = db.call(compute_figures, config, *WEEK, at("10-16 20:00"))
    finally:
        db.dispose()
    lz = figures.regions[0]
    assert (lz.due, lz.replied_on_time) == (2, 2)  # items 1 and 5; items 2 and 3 fall due at the weekend
    assert lz.replied == 1  # item 2 was replied on the 19th, after this "now"


def test_a_region_gone_from_the_config_keeps_its_row(config: Config) -> None:
    db = store(config, [item(1, "629999", "10-12 10:00", "10-16 18:00", replied="10-12 11:00")])
    try:
        figures = db.call(compute_figures, config, *WEEK, NOW)
    finally:
        db.dispose()
    assert [r.code for r in figures.regions] == [LANZHOU, TIANSHUI, "629999"]
    assert figures.regions[-1].received == 1 and figures.total.received == 1


def test_ranking_for_the_assessment() -> None:
    def row(name: str, on_time: float | None, reply: float | None, overdue: int) -> RegionFigures:
        return RegionFigures(code=name, name=name, received=10, replied=5, due=4, replied_on_time=2, overdue=overdue,
                             reply_rate=reply, on_time_rate=on_time, mean_workdays_to_reply=2.0, rated=0, satisfied=0,
                             basically_satisfied=0, unsatisfied=0, satisfaction_rate=None)

    ranked = rank_regions([row("a", 0.5, 0.9, 1), row("b", 0.9, 0.1, 3), row("c", None, 1.0, 0), row("d", 0.5, 0.95, 9)])
    assert [r.name for r in ranked] == ["b", "d", "a", "c"]


# ------------------------------------------------------------------------------- key items


def cand(n: int, likes: int = 0, sensitive: bool = False, score: float = 0.0, day: int = 12) -> Candidate:
    return Candidate(id=n, title=f"t{n}", region=LANZHOU, received_at=at(f"10-{day} 09:00"), likes=likes,
                     sensitive=sensitive, sensitive_score=score, sensitive_category="threat_to_life" if sensitive else None)


def test_key_items_sensitive_first_then_by_supporters_and_spread() -> None:
    candidates = [cand(1, likes=50), cand(2, sensitive=True, score=1.2), cand(3, likes=3), cand(4, sensitive=True, score=2.5),
                  cand(5), cand(6, likes=1), cand(7, likes=1), cand(8, likes=0, day=13)]
    # 6 and 7 are one hot issue of 4 people; 8 is in a group of 9 people
    group_of = {6: "g1", 7: "g1", 8: "g2"}
    people = {"g1": 4, "g2": 9}
    chosen = select_key_items(candidates, group_of, people)
    assert [k.candidate.id for k in chosen] == [4, 2, 1, 8, 6, 3]
    assert [k.reason for k in chosen] == ["sensitive", "sensitive", "supported", "widespread", "widespread", "supported"]
    assert chosen[3].weight == 8 and chosen[4].weight == 4  # 8: 0 likes + 8 others; 6: 1 like + 3 others
    assert 5 not in [k.candidate.id for k in chosen]  # weight 0, not sensitive: not key
    assert [k.candidate.id for k in select_key_items(candidates, group_of, people, limit=2)] == [4, 2]


# ------------------------------------------------------------------------------- hot issues


def msg(n: int, title: str, body: str = "", author: str | None = None, hour: int = 0, likes: int = 0,
        region: str | None = LANZHOU) -> Message:
    return Message(id=n, title=title, body=body, region=region, author=author or f"a{n}", likes=likes,
                   received_at=at("10-12 08:00") + timedelta(hours=hour))


def test_hot_issue_groups_one_matter_by_several_people() -> None:
    messages = [
        msg(1, "城关区幸福家园小区旁搅拌站夜间施工噪音扰民", "幸福家园小区旁边的搅拌站每天夜里施工，噪音很大。", hour=1, likes=3),
        msg(2, "投诉幸福家园附近搅拌站噪音", "幸福家园附近的搅拌站半夜还在作业，灰尘噪音严重。", hour=5),
        msg(3, "幸福家园小区搅拌站扰民何时解决", "我们幸福家园小区被搅拌站的噪音折磨了三个月。", hour=9, region=None),
        msg(4, "咨询兰州市公积金提取的条件", "请问离职以后公积金怎么提取？"),
        msg(5, "七里河区某路段路灯不亮", "晚上出行很不方便。"),
        msg(6, "天水市麦积区学校乱收费", "学校收取资料费。", region=TIANSHUI),
    ]
    (issue,) = hot_issues(messages)
    assert set(issue.item_ids) == {1, 2, 3}
    assert (issue.count, issue.people, issue.likes) == (3, 3, 3)
    assert issue.places == ((LANZHOU, 2), (None, 1))
    assert issue.representative_id in {1, 2, 3}
    assert "搅拌站" in issue.terms and "幸福" in issue.terms


def test_one_person_repeating_a_complaint_is_not_a_hot_issue() -> None:
    messages = [msg(n, "A小区门口违建餐馆油烟扰民", "门口违建餐馆油烟扰民。", author="same", hour=n) for n in range(1, 5)]
    assert hot_issues(messages) == []
    assert len(hot_issues(messages, min_people=1)) == 1


def _real_messages(start: str, end: str) -> list[Message]:
    path = data_file("messages_a_city_2017_2020.jsonl")
    out = []
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            row = json.loads(line)
            if start <= row["received_at"] < end:
                out.append(Message(id=n, title=row["title"], body=row["body"], author=row.get("author"),
                                   likes=row.get("likes", 0), received_at=datetime.fromisoformat(row["received_at"])))
    return out


def test_hot_issues_of_the_busiest_real_week_read_as_one_matter_each() -> None:
    """2019-W16 (04-15..04-21) is the data set's busiest week: 126 messages."""
    messages = _real_messages("2019-04-15", "2019-04-22")
    assert len(messages) == 126
    issues = hot_issues(messages)
    titles = {m.id: m.title for m in messages}
    top = issues[0]
    assert top.count == 3 and all("华城二期" in titles[i] for i in top.item_ids)  # one estate's rubbish station
    assert all(h.people >= 2 for h in issues)
    # a garbage station, bus routes, a village's demolition ... never a mix of matters
    bus = next(h for h in issues if any("公交线路" in titles[i] for i in h.item_ids))
    assert all("公交线路" in titles[i] for i in bus.item_ids)


def test_the_biggest_real_burst_is_one_hot_issue() -> None:
    """August 2019: dozens of railway employees protest that 伊景园滨河苑 sells flats only with a
    parking space; they write in their own words over days."""
    messages = _real_messages("2019-08-01", "2019-09-01")
    issues = hot_issues(messages)
    titles = {m.id: m.title for m in messages}
    top = issues[0]
    assert top.count >= 10
    about = sum(1 for i in top.item_ids if "滨河苑" in titles[i] or "车位" in titles[i] or "广铁" in titles[i])
    assert about == top.count
    assert "滨河" in top.terms


# ------------------------------------------------------------------------------- rendering


def test_chart_draws_chinese_labels_with_the_packaged_font(config: Config) -> None:
    db = store(config, hand_made())
    try:
        figures = db.call(compute_figures, config, *WEEK, NOW)
    finally:
        db.dispose()
    path = cjk_font_path()
    assert path is not None and path.is_file()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)" for a box
        png = render_chart_png(figures, "zh")
        assert chart_png(figures, "en")[:8] == b"\x89PNG\r\n\x1a\n"
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_summary_fits_telegram_and_html_escapes_citizen_text(sqlite_config: Config) -> None:
    config = sqlite_config
    many = [item(100 + n, LANZHOU, "09-01 10:00", "09-08 18:00", title="<b>长标题</b>" + "很长的标题" * 20)
            for n in range(60)]
    many.append(item(99, LANZHOU, "10-13 10:00", "10-16 18:00", title="<script>alert(1)</script>", likes=5))
    db = store(config, many)
    renderer = Renderer("zh", TZ)
    try:
        report = db.call(build_report, config, weekly_period(NOW, TZ), NOW)
    finally:
        db.dispose()
    assert report.overdue_total == 61 and len(report.overdue) == 61
    text = render_summary(report, renderer)
    assert visible_length(text) <= TEXT_LIMIT
    assert "超期未回复" in text and "<script>" not in text and "&lt;script&gt;" in text
    html = render_full_html(report, renderer)
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert "2026-W42" in html  # the week of 10-12
    english = render_summary(report, renderer, "en")
    assert "Weekly roundup" in english and visible_length(english) <= TEXT_LIMIT


def test_monthly_report_ranks_regions(sqlite_config: Config) -> None:
    config = make_config(sqlite_config.database.url)
    db = store(config, hand_made())
    renderer = Renderer("zh", TZ)
    try:
        first = at("11-01 09:00")
        report = db.call(build_report, config, monthly_period(first, TZ), first)
    finally:
        db.dispose()
    assert report.period.label == "2026-10" and report.hot_issues == ()
    assert [r.name for r in report.ranking] == ["天水市", "兰州市"]  # 天水 met its one deadline; 兰州 5 of 7
    text = render_summary(report, renderer)
    assert "月度留言办理通报" in text and "1. 天水市" in text
