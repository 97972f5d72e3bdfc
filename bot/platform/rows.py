"""A platform export's rows as the intake API's messages.

Each row becomes the field dict the API would have been posted (JSON values: text, whole numbers,
ISO 8601 times) and is then validated by the API's own validation, so an import refuses exactly what
the API refuses, with the same reasons, naming the column the way the file does:
``row 17: 留言详情 (body): required``. The reply columns come back apart from the message, for an
import of past messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.platform.columns import field_of, label
from bot.platform.readers import RawRow, Table, open_table
from bot.web.validation import (
    MAX_BODY_CHARS,
    ValidationError,
    parse_message,
    parse_text,
    parse_time,
)
from bot.workflow import Incoming

TIME_FIELDS = ("received_at", "replied_at")
COUNT_FIELDS = ("likes", "dislikes")
REPLY_FIELDS = ("reply", "replied_at")

# 2019/4/25 9:32:09 · 2019-04-25 09:32 · 2019.4.25 · 2019年4月25日 9时32分 — what spreadsheets show
_LOCAL_TIME = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[\sT]+(\d{1,2})\s*[:时]\s*(\d{1,2})\s*(?:[:分]\s*(\d{1,2})(?:\.(\d{1,6}))?\s*秒?)?\s*分?)?"
)


@dataclass(frozen=True)
class ImportRow:
    """A valid row: the API's field dict, the validated message, and the reply columns."""

    number: int
    fields: dict[str, Any]
    message: Incoming
    reply: str | None = None
    replied_at: datetime | None = None


@dataclass(frozen=True)
class RowError:
    """A row that stores nothing, with the reason (``留言详情 (body): required``)."""

    number: int
    reason: str

    def __str__(self) -> str:
        return f"row {self.number}: {self.reason}"


class _Invalid(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{label(field)}: {reason}")


def cell_text(value: Any) -> Any:
    """A text field's cell: a whole number (a spreadsheet's 2549.0) by its digits, a date as ISO
    8601; text and anything else as it is (validation names what is wrong with it)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return value


def cell_count(value: Any) -> Any:
    """A vote count's cell: a spreadsheet's 12.0 or CSV text of digits as a number, else as it is."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if text.isascii() and text.isdigit():
            return int(text)
    return value


def cell_time(value: Any, field: str, tz: ZoneInfo) -> str | None:
    """A time cell as ISO 8601 for the API's parser: a real spreadsheet date (no offset: the
    configured timezone), the platform's ``2019/4/25 9:32:09``, or ISO 8601 with or without offset."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return datetime.combine(value, time()).isoformat()
    if not isinstance(value, str):
        raise _Invalid(field, f"not a time: {value!r} (a date cell, or text such as 2019/4/25 9:32:09)")
    text = value.strip()
    if not text:
        return None
    match = _LOCAL_TIME.fullmatch(text)
    if match:
        year, month, day, hour, minute, second = (int(p) if p else 0 for p in match.groups()[:6])
        micro = int((match.group(7) or "0").ljust(6, "0"))
        try:
            return datetime(year, month, day, hour, minute, second, micro).isoformat()
        except ValueError as exc:
            raise _Invalid(field, f"not a valid time: {text[:40]!r} ({exc})") from exc
    return text  # ISO 8601 (with or without offset): the API's parser judges it


def convert_row(raw: RawRow, tz: ZoneInfo) -> ImportRow | RowError:
    """One raw row to a message, or the reason it cannot be one."""
    if raw.problem:
        return RowError(raw.number, raw.problem)
    try:
        fields = _fields(raw.values, tz)
        message = parse_message({k: v for k, v in fields.items() if k not in REPLY_FIELDS}, "", tz)
        reply = parse_text(fields, "reply", "", limit=MAX_BODY_CHARS)
        replied_at = parse_time(fields.get("replied_at"), "replied_at", tz)
    except ValidationError as exc:
        return RowError(raw.number, f"{label(exc.field)}: {exc.reason}" if exc.field else exc.reason)
    except _Invalid as exc:
        return RowError(raw.number, str(exc))
    return ImportRow(raw.number, fields, message, reply, replied_at)


def _fields(values: dict[str, Any], tz: ZoneInfo) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    source: dict[str, str] = {}
    for header, value in values.items():
        field = field_of(header)
        if field is None:
            continue
        if field in source:
            raise _Invalid(field, f"given twice (as {source[field]!r} and {header!r})")
        source[field] = header
        if field in TIME_FIELDS:
            value = cell_time(value, field, tz)
        elif field in COUNT_FIELDS:
            value = cell_count(value)
        else:
            value = cell_text(value)
            if value == "":
                value = None
        if value is not None:
            fields[field] = value
    return fields


class MessageFile:
    """A platform export opened for import: iterate for :class:`ImportRow` and :class:`RowError` in
    file order (lazily); ``unknown_columns`` names the columns ignored (complete after iterating)."""

    def __init__(self, table: Table, tz: ZoneInfo) -> None:
        self.name = table.name
        self._table = table
        self._tz = tz

    @property
    def expected_rows(self) -> int | None:
        """About how many rows the file holds (for progress), when it can be told cheaply."""
        return self._table.expected

    @property
    def unknown_columns(self) -> list[str]:
        return list(self._table.unknown)

    def __iter__(self) -> Iterator[ImportRow | RowError]:
        tz = self._tz
        for raw in self._table.rows:
            yield convert_row(raw, tz)


def read_messages(path: Path, tz: ZoneInfo) -> MessageFile:
    """Open a platform export (``.xlsx``, ``.csv``, ``.jsonl``); an unusable file raises
    :class:`~bot.platform.readers.UnreadableFile` here, before any row."""
    return MessageFile(open_table(Path(path)), tz)
