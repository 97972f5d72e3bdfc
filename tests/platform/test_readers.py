"""Reading the platform's exports: real files written here (an xlsx with real dates, a GB18030 CSV,
a CSV with a BOM, JSONL), bad rows named by row and reason, bad files refused with one line."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook

from bot.platform import ImportRow, RowError, UnreadableFile, read_messages
from tests.realdata import real

TZ = ZoneInfo("Asia/Shanghai")
IDS = ("teddy2020-188006", "teddy2020-188007", "teddy2020-188031", "teddy2020-24")


def split(path: Path, tz: ZoneInfo = TZ) -> tuple[list[ImportRow], list[RowError], list[str]]:
    file = read_messages(path, tz)
    good: list[ImportRow] = []
    bad: list[RowError] = []
    for result in file:
        (good if isinstance(result, ImportRow) else bad).append(result)
    return good, bad, file.unknown_columns


def test_xlsx_real_dates_numeric_ids_and_headers_found_anywhere(tmp_path: Path) -> None:
    """The first sheet with a 留言详情 column is read, under a title line; full-width and padded
    headers match; a numeric 留言编号 is its digits; real dates are in the configured timezone."""
    a, b = real(IDS[0]), real(IDS[1])
    workbook = Workbook()
    notes = workbook.active
    notes.title = "说明"
    notes.append(["本表由平台导出"])
    sheet = workbook.create_sheet("留言")
    sheet.append(["网民留言导出 2019年"])
    sheet.append([" 留言编号 ", "留言用户", "留言主题", "留言时间", "留言详情　", "点赞数", "反对数", "备注", "ＵＲＬ"])
    sheet.append([2549, a["author"], a["title"], datetime(2019, 4, 25, 9, 32, 9), a["body"], 3, 1, "x", None])
    sheet.append([2550.0, b["author"], b["title"], "2019/4/25 9:32:09", b["body"], None, None, "y",
                  "http://example.org/2550"])
    path = tmp_path / "export.xlsx"
    workbook.save(path)

    good, bad, unknown = split(path)

    assert bad == []
    assert [r.number for r in good] == [3, 4]
    first, second = good
    assert first.message.external_id == "2549" and second.message.external_id == "2550"
    assert first.message.body == a["body"] and first.message.title == a["title"]
    assert first.message.received_at == datetime(2019, 4, 25, 9, 32, 9, tzinfo=TZ)
    assert second.message.received_at == datetime(2019, 4, 25, 9, 32, 9, tzinfo=TZ)
    assert (first.message.likes, first.message.dislikes) == (3, 1)
    assert (second.message.likes, second.message.dislikes) == (0, 0)
    assert second.message.url == "http://example.org/2550"
    assert unknown == ["备注"]


def test_gb18030_csv_as_chinese_excel_saves_it(tmp_path: Path) -> None:
    a = real(IDS[2])
    text = ("留言编号,留言主题,留言时间,留言详情,点赞数,一级分类,所属地区\r\n"
            f"2549.0,{a['title']},2019-04-25 09:32,\"{a['body']}\",12,城乡建设,A7县\r\n")
    path = tmp_path / "export.csv"
    path.write_bytes(text.encode("gb18030"))

    good, bad, unknown = split(path, ZoneInfo("Asia/Urumqi"))

    assert bad == [] and unknown == []
    (row,) = good
    assert row.number == 2
    assert row.message.external_id == "2549.0"  # CSV text is kept as written
    assert row.message.body == a["body"]
    assert row.message.received_at == datetime(2019, 4, 25, 9, 32, tzinfo=ZoneInfo("Asia/Urumqi"))
    assert (row.message.likes, row.message.category, row.message.region) == (12, "城乡建设", "A7县")


def test_utf8_bom_csv_with_api_field_names_and_offsets(tmp_path: Path) -> None:
    a = real(IDS[3])
    lines = ["external_id,body,received_at,likes,dislikes,reply,replied_at",
             f"{a['external_id']},\"{a['body']}\",2019-04-25T09:32:09+00:00,2,5,已转相关部门办理。,2019/5/6 10:00"]
    path = tmp_path / "api-fields.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8-sig"))

    good, bad, _ = split(path)

    assert bad == []
    (row,) = good
    assert row.message.external_id == a["external_id"]  # the BOM is not part of the first header
    assert row.message.received_at == datetime(2019, 4, 25, 17, 32, 9, tzinfo=TZ)
    assert row.message.dislikes == 5
    assert row.reply == "已转相关部门办理。"
    assert row.replied_at == datetime(2019, 5, 6, 10, 0, tzinfo=TZ)
    assert "reply" not in {"external_id", *vars(row.message)}  # the reply is not part of the message


def test_jsonl_line_numbers_numeric_ids_and_bad_lines(tmp_path: Path) -> None:
    a, b = real(IDS[0]), real(IDS[1])
    lines = [
        json.dumps({**a, "external_id": 2549, "source": "crawler"}, ensure_ascii=False),
        "",
        json.dumps({"留言编号": "2550", "留言详情": b["body"], "留言时间": "2019/4/25 9:32:09"}, ensure_ascii=False),
        "{not json",
        json.dumps(["an", "array"]),
        json.dumps({"external_id": "2551", "body": b["body"], "likes": "many", "source": "x"}, ensure_ascii=False),
    ]
    path = tmp_path / "messages.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    good, bad, unknown = split(path)

    assert [(r.number, r.message.external_id) for r in good] == [(1, "2549"), (3, "2550")]
    assert good[0].message.received_at == datetime.fromisoformat(a["received_at"])
    assert [str(e) for e in bad] == [
        "row 4: invalid JSON: Expecting property name enclosed in double quotes at column 2",
        "row 5: not a JSON object",
        "row 6: 点赞数 (likes): must be a whole number",
    ]
    assert unknown == ["source"]


def test_bad_rows_are_named_and_the_others_read(tmp_path: Path) -> None:
    """Row numbers are the spreadsheet's (header row 1, blank rows counted); reasons are the API's."""
    body = real(IDS[0])["body"]
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["留言编号", "留言详情", "留言时间", "点赞数", "链接", "留言主题"])
    sheet.append([1, body, datetime(2019, 1, 2, 3, 4), 0])
    sheet.append([2, None, datetime(2019, 1, 2, 3, 4), 0])  # row 3
    sheet.append([None, body])  # row 4
    sheet.append([])  # row 5, blank: skipped
    sheet.append([5, body, "下周一"])  # row 6
    sheet.append([6, body, "2019-02-30 10:00"])  # row 7
    sheet.append([7, body, None, -1])  # row 8
    sheet.append([8, body, None, None, None, "题" * 1_001])  # row 9
    sheet.append([9, body, "1899-12-31"])  # row 10
    sheet.append([10, body, None, 2.5, "x" * 2_001])  # row 11
    sheet.append([11, body, None, None, "http://example.org/" + "x" * 2_000])  # row 12
    sheet.append([12, body])  # row 13
    path = tmp_path / "bad.xlsx"
    workbook.save(path)

    good, bad, _ = split(path)

    assert [r.number for r in good] == [2, 13]
    assert [str(e) for e in bad] == [
        "row 3: 留言详情 (body): required",
        "row 4: 留言编号 (external_id): required",
        "row 6: 留言时间 (received_at): not an ISO 8601 time: '下周一'",
        "row 7: 留言时间 (received_at): not a valid time: '2019-02-30 10:00' (day is out of range for month)",
        "row 8: 点赞数 (likes): out of range",
        "row 9: 留言主题 (title): too long (1001 characters, at most 1000)",
        "row 10: 留言时间 (received_at): year 1899 is out of range",
        "row 11: 点赞数 (likes): must be a whole number",
        "row 12: 链接 (url): too long (2019 characters, at most 2000)",
    ]


def test_a_body_over_the_api_limit_is_refused_like_the_api(tmp_path: Path) -> None:
    body = real(IDS[1])["body"]
    path = tmp_path / "long.csv"
    path.write_text(f"留言编号,留言详情\n1,{'字' * 50_001}\n2,{body}\n", encoding="utf-8")

    good, bad, _ = split(path)

    assert [r.message.body for r in good] == [body]
    assert [str(e) for e in bad] == ["row 2: 留言详情 (body): too long (50001 characters, at most 50000)"]


@pytest.mark.parametrize(("name", "content", "reason"), [
    ("export.xlsx", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "not a readable spreadsheet workbook"),
    ("export.xlsx", "留言编号,留言详情\n1,你好\n".encode(), "not a readable spreadsheet workbook"),
    ("export.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "not a CSV file: it holds binary data"),
    ("export.csv", b"PK\x03\x04" + bytes(64), "not a CSV file: it is a workbook"),
    ("export.csv", b"external_id,body\n1,caf\xe9 x\n", "unknown text encoding"),  # Latin-1
    ("export.pdf", b"%PDF-1.7\n", "unsupported file type '.pdf'"),
    ("export.jsonl", b"\x89PNG\r\n\x1a\n\x00\x00", "not a JSONL file: line 1 is not JSON"),
])
def test_a_file_that_is_not_an_export_is_refused_in_one_line(tmp_path: Path, name: str, content: bytes,
                                                            reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableFile) as caught:
        read_messages(path, TZ)
    assert reason in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_sheet_without_body_or_id_column_is_refused(tmp_path: Path) -> None:
    workbook = Workbook()
    workbook.active.append(["留言编号", "留言主题", "留言时间"])
    workbook.active.append([1, "路灯不亮", datetime(2019, 1, 1)])
    no_body = tmp_path / "no-body.xlsx"
    workbook.save(no_body)
    with pytest.raises(UnreadableFile, match=r"no sheet has a 留言详情 \(body\) column"):
        read_messages(no_body, TZ)

    no_id = tmp_path / "no-id.csv"
    no_id.write_text("留言主题,留言详情\n路灯不亮,小区路灯坏了\n", encoding="utf-8")
    with pytest.raises(UnreadableFile, match=r"^no 留言编号 \(external_id\) column$"):
        read_messages(no_id, TZ)

    twice = tmp_path / "twice.csv"
    twice.write_text("留言编号,留言详情,地区,所属地区\n1,小区路灯坏了,A1区,A2区\n", encoding="utf-8")
    with pytest.raises(UnreadableFile, match="both hold 地区 \\(region\\)"):
        read_messages(twice, TZ)


def test_ten_thousand_row_xlsx(tmp_path: Path) -> None:
    from tests.bench.spreadsheet import DATA_NAME, write_workbook
    from tests.realdata import DATA_DIR

    if not (DATA_DIR / DATA_NAME).exists():
        pytest.skip("../shared/data not available")
    path = tmp_path / "big.xlsx"
    write_workbook(path, 10_000, DATA_DIR)
    sample = real("teddy2020-188031")  # the third real message: row 4, and again 4,326 rows later

    good, bad, unknown = split(path)

    assert (len(good), bad, unknown) == (10_000, [], [])
    row = good[4_326 + 2]
    assert row.number == 4_326 + 4
    assert row.message.external_id == str(200_000 + 4_326 + 2)
    assert (row.message.title, row.message.body) == (sample["title"], sample["body"])
    assert row.message.received_at is not None and row.message.received_at.tzinfo == TZ
