"""``liuyan export``: the ledger of the items received in [from, to), as xlsx or CSV."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from bot.app_context import AppContext
from bot.cli import main as cli
from bot.workflow import Actor, Incoming
from bot.workflow.claims import claim, reply
from bot.workflow.intake import intake
from tests.conftest import LANZHOU, ZHANG, make_config, write_config_file

TZ = ZoneInfo("Asia/Shanghai")
OFFICER = Actor(ZHANG, "张三")
# 2026-10-01 00:30 in Shanghai is still September in UTC: the day is the configured timezone's
OCT_1 = datetime(2026, 10, 1, 0, 30, tzinfo=TZ)


@pytest.fixture
def stored(tmp_path: Path, db_url: str) -> Path:
    """Three items: one received on 30 September, two in October (one replied on time, one open
    and past its deadline)."""
    conf = write_config_file(tmp_path / "liuyan.toml", db_url)
    s = AppContext.create(make_config(db_url))
    try:
        batch = [Incoming("sep", "城关区路灯不亮", title="九月", region=LANZHOU, received_at=OCT_1 - timedelta(hours=1)),
                 Incoming("oct-a", "城关区噪音扰民", title="十月甲", region=LANZHOU, received_at=OCT_1),
                 Incoming("oct-b", "城关区=SUM(A1)", title="十月乙", region=LANZHOU, received_at=OCT_1)]
        items = [it for it, _ in s.db.call(intake, s.workflow, batch, OCT_1)]
        s.db.call(claim, s.workflow, items[1].id, OFFICER, OCT_1 + timedelta(hours=1), confirm=False)
        s.db.call(reply, s.workflow, items[1].id, OFFICER, "已处理", OCT_1 + timedelta(hours=2))
    finally:
        s.db.dispose()
    return conf


def test_xlsx_ledger_of_a_period_with_words_holder_and_on_time(stored: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ledger.xlsx"
    assert cli(["export", "--config", str(stored), "--out", str(out), "--from", "2026-10-01", "--to", "2026-11-01"]) == 0
    assert capsys.readouterr().out.strip() == f"wrote 2 items to {out}"
    rows = list(load_workbook(out).active.iter_rows(values_only=True))
    header = rows[0]
    for column in ("编号", "外部编号", "标题", "地区", "类别", "优先级", "敏感", "状态", "办理人", "收到时间", "认领时间",
                   "答复时间", "时限", "按期", "延期", "督办", "满意度", "答复内容"):
        assert column in header
    by_id = {r[header.index("外部编号")]: dict(zip(header, r)) for r in rows[1:]}
    assert set(by_id) == {"oct-a", "oct-b"}
    done, late = by_id["oct-a"], by_id["oct-b"]
    assert (done["状态"], done["办理人"], done["按期"], done["答复内容"], done["地区"]) == ("已回复", "张三", "是", "已处理", "兰州市")
    assert done["优先级"] == "一般" and done["收到时间"] == datetime(2026, 10, 1, 0, 30)
    assert late["状态"] == "待认领" and late["按期"] == "否"  # open and long past its deadline (now is later)


def test_csv_ledger_is_utf8_with_bom_and_everything_by_default(stored: Path, tmp_path: Path) -> None:
    out = tmp_path / "ledger.csv"
    assert cli(["export", "--config", str(stored), "--out", str(out)]) == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert [r[1] for r in rows[1:]] == ["sep", "oct-a", "oct-b"]


@pytest.mark.parametrize("args, message", [
    (["--out", "ledger.pdf"], "must end in .xlsx or .csv"),
    (["--out", "ledger.csv", "--from", "2026-13-01"], "--from: not a date"),
    (["--out", "ledger.csv", "--from", "2026-10-02", "--to", "2026-10-01"], "--to must be a later day"),
])
def test_bad_options_are_one_line_and_exit_2(stored: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             args: list[str], message: str) -> None:
    args = [a if not a.startswith("ledger.") else str(tmp_path / a) for a in args]
    assert cli(["export", "--config", str(stored), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not list(tmp_path.glob("ledger.*"))


def test_an_open_item_within_its_deadline_has_no_on_time_mark() -> None:
    from bot.platform.exporter import on_time

    now = datetime(2026, 10, 9, tzinfo=UTC)
    assert on_time("claimed", None, now + timedelta(days=1), now) is None
    assert on_time("claimed", None, now - timedelta(days=1), now) is False
    assert on_time("replied", now, now + timedelta(days=1), now) is True
    assert on_time("closed", now, now - timedelta(days=1), now) is False


def test_the_ledgers_category_is_the_one_get_shows(stored: Path, tmp_path: Path, db_url: str) -> None:
    """类别 is the item's category as the API shows it: the source's, or the classifier's when the
    source gave none."""
    from sqlmodel import select

    from bot.web.intake import item_json
    from storage.models import Item

    s = AppContext.create(make_config(db_url))
    try:
        s.db.call(intake, s.workflow, [
            Incoming("noise", "小区旁边的工地每天夜里施工到凌晨两点，噪音扰民，粉尘污染严重，居民无法休息，"
                     "请环保部门查处工地夜间违规施工和扬尘污染问题。", title="工地夜间施工噪音和扬尘污染",
                     region=LANZHOU, received_at=OCT_1)], OCT_1)
        stored_items = s.db.call(lambda session: list(session.exec(select(Item))))
        shown = {it.external_id: item_json(s, it)["category"] for it in stored_items}
    finally:
        s.db.dispose()
    assert shown["noise"] is not None  # classified: the source gave no category
    out = tmp_path / "ledger.csv"
    assert cli(["export", "--config", str(stored), "--out", str(out)]) == 0
    rows = list(csv.reader(out.read_bytes().decode("utf-8-sig").splitlines()))
    header = rows[0]
    ledger = {r[header.index("外部编号")]: r[header.index("类别")] or None for r in rows[1:]}
    assert ledger == shown
