"""Early warning: N similar messages about one place within the window reach the leaders once, as one
warning that groups them — on hand-written messages and on the real burst of the data set."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.app_context import AppContext
from bot.config import Config
from bot.delivery.outbox import ROUTINE_LANE
from bot.workflow import Incoming
from bot.workflow.intake import intake
from storage.models import Event, Outbox
from tests.conftest import LANZHOU, LEADERS_CHAT, TIANSHUI, data_file, make_config

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 10, 12, 8, 0, tzinfo=TZ)

SIMILAR = [  # one matter, one estate in 城关区 (兰州市), five people, in their own words
    ("城关区幸福家园小区停水三天了", "幸福家园小区从周一开始停水，至今没有恢复。"),
    ("幸福家园小区停水无人管", "我们幸福家园小区已经停水好几天，物业说不清楚原因。"),
    ("兰州市幸福家园停水什么时候恢复", "幸福家园停水，老人孩子生活很困难。"),
    ("投诉幸福家园小区长时间停水", "城关区幸福家园小区停水，打热线也没人回复。"),
    ("幸福家园小区停水严重影响生活", "请尽快恢复幸福家园小区供水。"),
    ("幸福家园小区停水第四天", "还是没有水，请领导关注幸福家园小区。"),
]


@pytest.fixture
def s(config: Config):  # type: ignore[no-untyped-def]
    services = AppContext.create(config, clock=lambda: START)
    yield services
    services.db.dispose()


def post(s: AppContext, n: int, title: str, body: str, at: datetime, author: str | None = None,
         region: str | None = None) -> int:
    message = Incoming(external_id=f"w-{n}", title=title, body=body, author=author or f"citizen-{n}",
                       received_at=at, region=region)
    ((item, created),) = s.db.call(intake, s.workflow, [message], at)
    assert created
    return item.id  # type: ignore[return-value]


def warnings(s: AppContext) -> list[Outbox]:
    def q(session):  # type: ignore[no-untyped-def]
        return list(session.exec(select(Outbox).where(Outbox.purpose == "warning").order_by(Outbox.id)))

    return s.db.call(q)


def test_the_fifth_similar_message_warns_the_leaders_once(s: AppContext) -> None:
    ids = []
    for n, (title, body) in enumerate(SIMILAR[:4]):
        ids.append(post(s, n, title, body, START + timedelta(hours=3 * n)))
    post(s, 90, "城关区某路段路灯不亮", "晚上出行不便。", START + timedelta(hours=1))  # same place, other matter
    post(s, 91, "天水市幸福家园小区停水", "天水的幸福家园也停水。", START + timedelta(hours=2), region=TIANSHUI)
    assert warnings(s) == []  # four people so far
    ids.append(post(s, 4, *SIMILAR[4], START + timedelta(hours=13)))
    (warning,) = warnings(s)
    # routine lane: a burst warning never holds a sensitive alert back in the leaders' chat
    assert warning.chat_id == LEADERS_CHAT and warning.lane == ROUTINE_LANE
    text = json.loads(warning.payload)["text"]
    assert "兰州市" in text and "24 小时内 5 条相似留言" in text
    for item_id in ids:
        assert f"#{item_id} " in text
    assert "停水" in text and "路灯" not in text and "天水" not in text
    # the sixth message of the same burst: no second warning
    post(s, 5, *SIMILAR[5], START + timedelta(hours=20))
    assert len(warnings(s)) == 1

    def marked(session):  # type: ignore[no-untyped-def]
        return sorted(e.item_id for e in session.exec(select(Event).where(Event.action == "early_warning")))

    assert s.db.call(marked) == sorted(ids)


def test_the_window_counts_and_a_burst_warns_again_after_it(s: AppContext) -> None:
    # five similar messages, but spread over three days: never five within 24 hours
    for n, (title, body) in enumerate(SIMILAR[:5]):
        post(s, n, title, body, START + timedelta(hours=14 * n))
    assert warnings(s) == []
    later = START + timedelta(days=10)
    for n, (title, body) in enumerate(SIMILAR[:5]):
        post(s, 10 + n, title, body, later + timedelta(hours=n))
    assert len(warnings(s)) == 1
    # the burst goes on: two days later five more similar messages warn again, once
    again = later + timedelta(days=2)
    for n, (title, body) in enumerate(SIMILAR):
        post(s, 20 + n, title, body, again + timedelta(hours=n))
    assert len(warnings(s)) == 2


def test_one_person_writing_five_times_is_not_a_burst(s: AppContext) -> None:
    for n, (title, body) in enumerate(SIMILAR[:5]):
        post(s, n, title, body, START + timedelta(hours=n), author="same-citizen")
    assert warnings(s) == []


def test_old_messages_imported_now_warn_nobody(s: AppContext) -> None:
    past = START - timedelta(days=400)
    for n, (title, body) in enumerate(SIMILAR[:5]):
        message = Incoming(external_id=f"old-{n}", title=title, body=body, author=f"c{n}",
                           received_at=past + timedelta(hours=n))
        s.db.call(intake, s.workflow, [message], START)
    assert warnings(s) == []


def test_a_batch_makes_one_warning(s: AppContext) -> None:
    batch = [Incoming(external_id=f"b-{n}", title=t, body=b, author=f"c{n}", received_at=START + timedelta(minutes=n))
             for n, (t, b) in enumerate(SIMILAR)]
    s.db.call(intake, s.workflow, batch, START + timedelta(minutes=10))
    (warning,) = warnings(s)
    assert "6 条相似留言" in json.loads(warning.payload)["text"]


def test_warning_count_comes_from_the_config(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = make_config(f"sqlite:///{tmp_path / 'w.db'}", triage__warning_count=3, triage__warning_window_hours=6)
    s = AppContext.create(config)
    try:
        for n, (title, body) in enumerate(SIMILAR[:3]):
            post(s, n, title, body, START + timedelta(hours=2 * n))
        (warning,) = warnings(s)
        assert "6 小时内 3 条相似留言" in json.loads(warning.payload)["text"]
    finally:
        s.db.dispose()


def test_the_real_burst_of_the_data_set_warns_once(sqlite_config: Config) -> None:
    """Every message of 2019-08-15..31 arrives as it did (``now`` = its own time). The bundled parking
    sales of 伊景园滨河苑 (railway staff housing) is the one place with five or more similar messages
    from different people within 24 hours in the whole data set; the routing test regions name
    none of the data set's places, so every message is unrouted, like that estate's are."""
    rows = []
    with data_file("messages_a_city_2017_2020.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            if "2019-08-15" <= row["received_at"] < "2019-09-01":
                rows.append(row)
    rows.sort(key=lambda r: r["received_at"])
    s = AppContext.create(sqlite_config)
    try:
        for row in rows:
            at = datetime.fromisoformat(row["received_at"])
            s.db.call(intake, s.workflow, [Incoming(external_id=row["external_id"], title=row["title"], body=row["body"],
                                                   author=row["author"], received_at=at)], at)
        found = warnings(s)
        assert len(found) == 1
        text = json.loads(found[0].payload)["text"]
        listed = [line for line in text.splitlines() if line.startswith("#")]
        assert len(listed) >= 5
        assert all("滨河苑" in line or "车位" in line for line in listed)
    finally:
        s.db.dispose()


def test_regions_are_places(s: AppContext) -> None:
    """Two regions with the same complaint are two places: neither reaches five."""
    for n, (title, body) in enumerate(SIMILAR[:3]):
        post(s, n, title, body, START + timedelta(hours=n), region=LANZHOU)
    for n, (title, body) in enumerate(SIMILAR[:3]):
        post(s, 10 + n, title.replace("城关区", ""), body.replace("城关区", ""), START + timedelta(hours=n), region=TIANSHUI)
    assert warnings(s) == []
