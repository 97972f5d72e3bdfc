"""The ledger (台账): one row per item, written as xlsx or as CSV.

Pure: plain :class:`LedgerRow` values in (the caller has already put status, priority and rating
into words of the reader's language), a file out. The headers and yes/no words come from the
message catalogue (``ledger.*``). Both formats stream, so a ledger of 100,000 items is written in
constant memory: the xlsx through openpyxl's write-only workbook, the CSV a row at a time.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from bot.reports.text import catalogue_text

DATE_FORMAT = "yyyy-mm-dd hh:mm"
CSV_TIME_FORMAT = "%Y-%m-%d %H:%M"
XLSX_CELL_LIMIT = 32_767  # characters Excel holds in one cell; more makes it "repair" the file
_CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class LedgerRow:
    """One item of the ledger, in the columns' order. Words (status, priority, rating) are the
    caller's, already in the reader's language; times are aware datetimes."""

    number: int
    external_id: str
    title: str = ""
    region: str | None = None
    category: str | None = None
    priority: str = ""
    sensitive: bool = False
    status: str = ""
    holder: str | None = None
    received_at: datetime | None = None
    claimed_at: datetime | None = None
    replied_at: datetime | None = None
    deadline: datetime | None = None
    on_time: bool | None = None  # None: open and still within its deadline
    extended_days: int = 0
    supervised: bool = False
    rating: str | None = None
    reply: str | None = None
    notes: str | None = None


LEDGER_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(LedgerRow))

# Column widths in Excel's units (about one Latin character; a Chinese character takes two).
_WIDTHS = {"number": 8, "external_id": 16, "title": 40, "region": 12, "category": 12, "priority": 8,
           "sensitive": 6, "status": 8, "holder": 12, "received_at": 17, "claimed_at": 17, "replied_at": 17,
           "deadline": 17, "on_time": 6, "extended_days": 6, "supervised": 6, "rating": 10, "reply": 60,
           "notes": 60}


def ledger_headers(lang: str = "zh") -> list[str]:
    """The ledger's column headers in ``lang``."""
    return [catalogue_text(f"ledger.columns.{name}", lang) for name in LEDGER_FIELDS]


def write_ledger(rows: Iterable[LedgerRow], out: Path | BinaryIO, *, tz: ZoneInfo, lang: str = "zh",
                 fmt: str | None = None) -> int:
    """Write the ledger to ``out`` (a path, or a binary file for sending without a file on disk)
    as ``fmt`` ("xlsx" or "csv"; default: the path's suffix). Returns the number of rows written."""
    if fmt is None:
        if not isinstance(out, Path):
            raise ValueError("give fmt ('xlsx' or 'csv') when writing to a file object")
        fmt = out.suffix.lower().lstrip(".")
    if fmt == "xlsx":
        return _write_xlsx(rows, out, tz, lang)
    if fmt == "csv":
        return _write_csv(rows, out, tz, lang)
    raise ValueError(f"unsupported ledger format {fmt!r}: use .xlsx or .csv")


def _words(lang: str) -> tuple[str, str]:
    return catalogue_text("ledger.yes", lang), catalogue_text("ledger.no", lang)


def _values(row: LedgerRow, tz: ZoneInfo, yes: str, no: str) -> list[Any]:
    """The row's cells: yes/no words for flags, naive local datetimes (spreadsheets know no zones)."""
    out: list[Any] = []
    for name in LEDGER_FIELDS:
        value = getattr(row, name)
        if isinstance(value, bool):
            value = yes if value else no
        elif isinstance(value, datetime):
            value = value.astimezone(tz).replace(tzinfo=None) if value.tzinfo else value
        out.append(value)
    return out


def _write_xlsx(rows: Iterable[LedgerRow], out: Path | BinaryIO, tz: ZoneInfo, lang: str) -> int:
    # openpyxl (~25 MB) is loaded by the first ledger written, not by every process that can write one
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(catalogue_text("ledger.sheet", lang))
    sheet.freeze_panes = "A2"
    for index, name in enumerate(LEDGER_FIELDS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = _WIDTHS[name]
    bold = Font(bold=True)
    header = []
    for text in ledger_headers(lang):
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    yes, no = _words(lang)
    count = 0
    for row in rows:
        sheet.append([_xlsx_cell(sheet, v) for v in _values(row, tz, yes, no)])
        count += 1
    workbook.save(out)
    return count


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if len(value) > XLSX_CELL_LIMIT:
            value = value[:XLSX_CELL_LIMIT - 1] + "…"
        if value.startswith("="):  # a citizen's text, never a formula
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            return cell
    return value


def _write_csv(rows: Iterable[LedgerRow], out: Path | BinaryIO, tz: ZoneInfo, lang: str) -> int:
    """UTF-8 with a BOM: without it Excel and WPS read UTF-8 as the local code page (mojibake)."""
    if isinstance(out, Path):
        with out.open("wb") as fh:
            return _write_csv(rows, fh, tz, lang)
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="")
    try:
        writer = csv.writer(text)
        writer.writerow(ledger_headers(lang))
        yes, no = _words(lang)
        count = 0
        for row in rows:
            writer.writerow([_csv_cell(v) for v in _values(row, tz, yes, no)])
            count += 1
        text.flush()
    finally:
        text.detach()  # the caller's file stays open
    return count


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime(CSV_TIME_FORMAT)
    if isinstance(value, str) and value.startswith(_CSV_FORMULA_START):
        return "'" + value  # a spreadsheet would run it as a formula
    return value
