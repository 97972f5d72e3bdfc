"""The ledger (台账) written as xlsx and CSV and read back as an office would open it."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from bot.platform import LedgerRow, write_ledger
from tests.realdata import real

TZ = ZoneInfo("Asia/Shanghai")
ZH_HEADERS = ["编号", "外部编号", "标题", "地区", "类别", "优先级", "敏感", "状态", "办理人", "收到时间", "认领时间",
              "答复时间", "时限", "按期", "延期", "督办", "满意度", "答复内容", "办理记录"]


def rows() -> list[LedgerRow]:
    a = real("teddy2020-188006")
    return [
        LedgerRow(1, a["external_id"], a["title"], "A3区", "商贸旅游", "紧急", True, "已答复", "李四",
                  received_at=datetime.fromisoformat(a["received_at"]),
                  claimed_at=datetime(2019, 2, 28, 4, 0, tzinfo=UTC),
                  replied_at=datetime(2019, 3, 1, 1, 30, tzinfo=UTC),
                  deadline=datetime(2019, 3, 7, 18, 0, tzinfo=TZ), on_time=True, extended_days=2,
                  supervised=True, rating="满意", reply="已转税务部门核查。", notes="2019-02-28 认领"),
        LedgerRow(2, "2550", "=HYPERLINK(\"http://evil\")", status="待认领", priority="普通",
                  received_at=datetime(2019, 3, 1, 9, 0, tzinfo=TZ), on_time=None),
    ]


def test_xlsx_ledger_has_real_dates_frozen_bold_headers_and_widths(tmp_path: Path) -> None:
    path = tmp_path / "ledger.xlsx"
    assert write_ledger(rows(), path, tz=TZ) == 2

    sheet = load_workbook(path).active
    assert sheet.title == "台账"
    assert [c.value for c in sheet[1]] == ZH_HEADERS
    assert all(c.font.b for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["C"].width >= 30 and sheet.column_dimensions["R"].width >= 30
    first = {h: c for h, c in zip(ZH_HEADERS, sheet[2])}
    assert first["收到时间"].value == datetime(2019, 2, 28, 11, 25, 5)  # local time, a real date cell
    assert first["认领时间"].value == datetime(2019, 2, 28, 12, 0)
    assert first["答复时间"].value == datetime(2019, 3, 1, 9, 30)
    assert first["收到时间"].is_date and "yy" in first["收到时间"].number_format
    assert [first[h].value for h in ("敏感", "按期", "延期", "督办", "满意度", "状态", "优先级")] == \
        ["是", "是", 2, "是", "满意", "已答复", "紧急"]
    second = {h: c for h, c in zip(ZH_HEADERS, sheet[3])}
    assert second["标题"].value == "=HYPERLINK(\"http://evil\")" and second["标题"].data_type == "s"
    assert second["按期"].value is None and second["敏感"].value == "否"


def test_english_headers_and_writing_to_memory() -> None:
    buffer = io.BytesIO()
    write_ledger(rows(), buffer, tz=TZ, lang="en", fmt="xlsx")
    sheet = load_workbook(io.BytesIO(buffer.getvalue())).active
    assert sheet["A1"].value == "No." and sheet["N1"].value == "On time" and sheet["N2"].value == "yes"


def test_csv_ledger_is_utf8_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "ledger.csv"
    assert write_ledger(rows(), path, tz=TZ) == 2

    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert table[0] == ZH_HEADERS
    first = dict(zip(ZH_HEADERS, table[1]))
    assert (first["收到时间"], first["答复时间"], first["按期"]) == ("2019-02-28 11:25", "2019-03-01 09:30", "是")
    second = dict(zip(ZH_HEADERS, table[2]))
    assert second["标题"].startswith("'=")  # not run as a formula when opened
    assert (second["按期"], second["办理人"]) == ("", "")
