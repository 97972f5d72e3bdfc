"""``liuyan import``: the platform's exports into the store, through the CLI as an operator runs it.
Real files are written here (an xlsx with real dates, a GB18030 CSV, JSONL, a 10,000-row workbook)."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook
from sqlmodel import func, select

from bot.app_context import AppContext
from bot.cli import main as cli
from bot.workflow import Actor
from bot.workflow.citizens import rate
from bot.workflow.deadlines import list_overdue
from scheduler.reminders import sweep_reminders
from scheduler.sweep import SweepReport
from storage.models import Event, Item, Outbox
from tests.bench.spreadsheet import write_workbook
from tests.conftest import DESK_CHAT, ZHAO, make_config, write_config_file
from tests.realdata import real

TZ = ZoneInfo("Asia/Shanghai")
IDS = ("teddy2020-188006", "teddy2020-188007", "teddy2020-188031", "teddy2020-24")
HEADERS = ["留言编号", "留言用户", "留言主题", "留言时间", "留言详情", "点赞数", "反对数", "答复意见", "答复时间", "备注"]


@pytest.fixture
def conf(tmp_path: Path, db_url: str) -> Path:
    return write_config_file(tmp_path / "liuyan.toml", db_url)


@pytest.fixture
def app(conf: Path, db_url: str):  # type: ignore[no-untyped-def]
    s = AppContext.create(make_config(db_url))
    yield s
    s.db.dispose()


def history_workbook(path: Path) -> Path:
    """Four real messages (one answered with a time, one answered without, one open, one bad)."""
    a, b, c, d = (real(i) for i in IDS)
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    sheet.append([2549, a["author"], a["title"], datetime(2019, 4, 25, 9, 32, 9), a["body"], 3, 1,
                  "经核实，已安排维修。", datetime(2019, 4, 28, 10, 0), "x"])
    sheet.append([2550, b["author"], b["title"], "2019/4/26 9:00:00", b["body"], 0, 2, "已转交有关部门办理。", None, None])
    sheet.append([2551, c["author"], c["title"], datetime(2019, 4, 27, 8, 0), c["body"], 5, 0, None, None, None])
    sheet.append([2552, d["author"], d["title"], datetime(2019, 4, 27, 8, 0), None, 0, 0, None, None, None])
    workbook.save(path)
    return path


def counts(s: AppContext) -> tuple[int, int, int]:
    def read(session):  # type: ignore[no-untyped-def]
        return (session.exec(select(func.count()).select_from(Item)).one(),
                session.exec(select(func.count()).select_from(Outbox)).one(),
                session.exec(select(func.count()).select_from(Event)).one())
    return s.db.call(read)


def items(s: AppContext) -> dict[str, Item]:
    return {it.external_id: it for it in s.db.call(lambda session: list(session.exec(select(Item))))}


def test_history_import_stores_past_replies_sends_nothing_and_lists_no_open_item(
        conf: Path, app: AppContext, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = history_workbook(tmp_path / "history.xlsx")

    code = cli(["import", str(path), "--config", str(conf), "--history"])

    out = capsys.readouterr().out.splitlines()
    assert code == 1  # one row was rejected
    assert "row 5: 留言详情 (body): required" in out
    assert "ignored columns: 备注" in out
    assert out[-1] == "imported 3, known 0, rejected 1"
    stored = items(app)
    answered, unknown_time, open_ = stored["2549"], stored["2550"], stored["2551"]
    assert all(it.history for it in stored.values())
    assert (answered.status, answered.reply) == ("replied", "经核实，已安排维修。")
    assert answered.replied_at == datetime(2019, 4, 28, 10, 0, tzinfo=TZ)
    assert (answered.likes, answered.dislikes) == (3, 1)
    # a reply without its time: replied at the message's own time (see bot.workflow.history)
    assert unknown_time.status == "replied" and unknown_time.replied_at == unknown_time.received_at
    assert open_.status in ("new", "unrouted") and open_.replied_at is None
    assert counts(app)[1] == 0, "a history import queued something to send"

    # years past its deadline, the open history item is on no list and no reminder's clock
    now = datetime(2026, 10, 9, 3, 0, tzinfo=UTC)
    listed = app.db.call(list_overdue, app.workflow, Actor(ZHAO, "赵六", chat_id=DESK_CHAT), now)
    assert listed == []
    app.db.call(sweep_reminders, app.workflow, now, SweepReport())
    assert app.db.call(lambda session: session.exec(
        select(Outbox).where(Outbox.purpose.in_(("reminder", "escalation")))).all()) == []  # type: ignore[attr-defined]

    # a later action makes it live
    app.db.call(rate, app.workflow, answered.id, "satisfied", None, now)
    assert not items(app)["2549"].history and items(app)["2550"].history


def test_import_goes_through_intake_like_the_api_and_skips_what_it_knows(
        conf: Path, app: AppContext, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A GB18030 CSV as Chinese Excel saves it: every new row is carded; reply columns are ignored
    without --history; a second run and a repeat within the run are known."""
    a, b = real(IDS[0]), real(IDS[1])
    path = tmp_path / "today.csv"
    with path.open("w", encoding="gb18030", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["留言编号", "留言主题", "留言时间", "留言详情", "点赞数", "答复意见"])
        writer.writerow(["9001", a["title"], "2026/10/9 9:32:09", "城关区" + a["body"], "4", "忽略"])
        writer.writerow(["9002", b["title"], "2026/10/9 9:40:00", b["body"], "", ""])
        writer.writerow(["9001", a["title"], "2026/10/9 9:32:09", a["body"], "4", ""])

    assert cli(["import", str(path), "--config", str(conf)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "imported 2, known 1, rejected 0"
    stored = items(app)
    assert not stored["9001"].history and stored["9001"].reply is None and stored["9001"].status == "new"
    assert stored["9001"].received_at == datetime(2026, 10, 9, 9, 32, 9, tzinfo=TZ)
    cards = app.db.call(lambda session: session.exec(select(Outbox).where(Outbox.purpose == "card")).all())
    assert sorted(c.item_id for c in cards) == sorted(it.id for it in stored.values())
    actions = app.db.call(lambda session: session.exec(select(Event.action, Event.source)).all())
    assert sorted(actions) == [("received", "cli"), ("received", "cli")]

    assert cli(["import", str(path), "--config", str(conf)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "imported 0, known 3, rejected 0"
    assert counts(app)[0] == 2


def test_dry_run_stores_nothing_and_prints_the_same_summary(
        conf: Path, app: AppContext, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = history_workbook(tmp_path / "history.xlsx")
    assert cli(["import", str(path), "--config", str(conf), "--history", "--dry-run"]) == 1
    dry = capsys.readouterr().out.splitlines()
    assert counts(app) == (0, 0, 0)
    assert cli(["import", str(path), "--config", str(conf), "--history"]) == 1
    assert capsys.readouterr().out.splitlines() == dry


def test_an_unreadable_file_exits_2_and_the_others_are_imported_with_named_rows(
        conf: Path, app: AppContext, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = real(IDS[0])
    jsonl = tmp_path / "crawl.jsonl"
    jsonl.write_text("\n".join([
        json.dumps({"external_id": "j-1", "body": a["body"], "received_at": a["received_at"]}, ensure_ascii=False),
        "{not json",
        json.dumps({"external_id": "j-2", "body": "", "likes": 1}),
        json.dumps({"external_id": "j-3", "body": a["body"], "dislikes": 7, "备注": 1}, ensure_ascii=False),
    ]) + "\n", encoding="utf-8")
    not_a_sheet = tmp_path / "notes.xlsx"
    not_a_sheet.write_bytes(b"PK\x03\x04 this is no workbook")
    no_body = tmp_path / "no_body.csv"
    no_body.write_text("留言编号,留言主题\n1,x\n", encoding="utf-8")

    code = cli(["import", str(not_a_sheet), str(jsonl), str(no_body), "--config", str(conf)])

    out = capsys.readouterr().out.splitlines()
    assert code == 2
    assert any(line.startswith("notes.xlsx: not a readable spreadsheet") for line in out)
    assert "no_body.csv: no 留言详情 (body) column in the first 10 rows" in out
    assert any(line.startswith("crawl.jsonl: row 2: invalid JSON") for line in out)
    assert "crawl.jsonl: row 3: 留言详情 (body): required" in out
    assert "crawl.jsonl: ignored columns: 备注" in out
    assert out[-1] == "imported 2, known 0, rejected 2"
    assert items(app)["j-3"].dislikes == 7


def test_a_bad_config_exits_2_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[database]\nurl = 3\n", encoding="utf-8")
    assert cli(["import", str(tmp_path / "x.csv"), "--config", str(bad)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_ten_thousand_row_workbook_imported_as_history(conf: Path, app: AppContext, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str], db_url: str) -> None:
    if not db_url.startswith("sqlite"):  # the batches are the same SQL; the smaller imports run on both
        pytest.skip("the 10,000-row import runs on SQLite only, to keep the suite within its time")
    path = tmp_path / "year.xlsx"
    write_workbook(path, 10_000)
    assert cli(["import", str(path), "--config", str(conf), "--history"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "imported 10000, known 0, rejected 0"
    total, outbox, events = counts(app)
    assert (total, outbox, events) == (10_000, 0, 10_000)
    first = app.db.call(lambda session: session.exec(select(Item).where(Item.external_id == "200000")).one())
    assert first.received_at == datetime(2019, 1, 1, 8, 0, tzinfo=TZ) and first.history


def test_progress_is_plain_lines_when_not_a_terminal(conf: Path, app: AppContext, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = history_workbook(tmp_path / "history.xlsx")
    cli(["import", str(path), "--config", str(conf), "--history", "--dry-run"])
    err = capsys.readouterr().err
    assert "\r" not in err and "history.xlsx: 4 rows in" in err


def test_progress_bar_on_a_terminal_shows_rate_and_time_left() -> None:
    import io

    from bot.platform.importer import Progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    progress = Progress("year.xlsx", 1000, stream)
    progress.started -= 2.0  # as if two seconds had passed
    progress.last -= 1.0
    progress.advance(500)
    shown = stream.getvalue()
    assert shown.startswith("\r") and "500/1000 rows" in shown and "rows/s" in shown and "ETA 2 s" in shown
    assert " 50%" in shown


def test_a_history_rows_category_is_the_sources_as_for_a_new_one(conf: Path, app: AppContext, tmp_path: Path) -> None:
    """The platform's own category (一级分类 / ``category``) wins over the classifier, with or
    without ``--history``: the text below reads like 教育文体, the source says 交通运输."""
    from bot.web.intake import item_json

    row = {"body": "某学校乱收补课费，家长意见很大。", "category": "交通运输"}
    (tmp_path / "past.jsonl").write_text(json.dumps({**row, "external_id": "h-1"}, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
    (tmp_path / "new.jsonl").write_text(json.dumps({**row, "external_id": "n-1"}, ensure_ascii=False) + "\n",
                                        encoding="utf-8")
    assert cli(["import", str(tmp_path / "past.jsonl"), "--config", str(conf), "--history"]) == 0
    assert cli(["import", str(tmp_path / "new.jsonl"), "--config", str(conf)]) == 0
    stored = items(app)
    assert item_json(app, stored["h-1"])["category"] == item_json(app, stored["n-1"])["category"] == "交通运输"
