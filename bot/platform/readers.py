"""Reading the platform's exports: ``.xlsx`` (and the other workbooks python-calamine opens),
``.csv`` in UTF-8 (with or without a BOM) or GB18030, and ``.jsonl``.

Each reader yields :class:`RawRow` lazily, numbered as a person looking at the file would count:
the spreadsheet's row (the header is row 1 when it is the first row) or the JSONL line. Workbooks are
read with python-calamine (Rust): on a 10,000-row export it reads about eight times faster than
openpyxl's read-only mode (``python -m tests.bench.spreadsheet``). Anything that makes a whole file
unusable is an :class:`UnreadableFile` with a one-line reason.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from python_calamine import CalamineError, CalamineWorkbook

from bot.platform.columns import (
    ColumnError,
    field_of,
    has_body,
    normalise_header,
    resolve,
)

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
HEADER_SEARCH_ROWS = 10  # an export may carry a title line or two above its header
_CHUNK = 1 << 20
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls


class UnreadableFile(Exception):
    """The file cannot be imported at all; the message says why in one line."""


@dataclass(frozen=True)
class RawRow:
    """One row as the file holds it: values by header (JSONL: by key), or why the line is unusable."""

    number: int
    values: dict[str, Any]
    problem: str | None = None


@dataclass
class Table:
    """An opened file. ``unknown`` lists the headers the import does not know, each once; for a
    workbook or CSV it is complete on opening, for JSONL (whose lines name their own keys) once
    ``rows`` has been read to the end."""

    name: str
    rows: Iterator[RawRow]
    unknown: list[str] = field(default_factory=list)
    expected: int | None = None  # about how many rows follow (lines or the sheet's height), for progress


def open_table(path: Path) -> Table:
    """Open ``path`` by its kind (its suffix, else its first bytes)."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise UnreadableFile(f"cannot open: {exc.strerror or exc}") from exc
    suffix = path.suffix.lower()
    if suffix in WORKBOOK_SUFFIXES:
        return _workbook(path)
    if suffix in CSV_SUFFIXES:
        return _csv(path)
    if suffix in JSONL_SUFFIXES:
        return _jsonl(path)
    if head.startswith((_ZIP_MAGIC, _OLE_MAGIC)):
        return _workbook(path)
    raise UnreadableFile(f"unsupported file type {suffix or '(no suffix)'!r}: expected .xlsx, .csv or .jsonl")


# ---------------------------------------------------------------------- header rows


def _header_at(rows: Iterator[Sequence[Any]]) -> tuple[int, list[str]] | None:
    """The first of the leading rows with a 留言详情 column: its 0-based index and its headers; the
    rows above it are skipped. None when the leading rows have none."""
    for index in range(HEADER_SEARCH_ROWS):
        row = next(rows, None)
        if row is None:
            return None
        if has_body(row):
            return index, [normalise_header(v) for v in row]
    return None


def _tabular(name: str, header_index: int, headers: list[str], rows: Iterator[Sequence[Any]],
             blank: Any, expected: int | None = None) -> Table:
    """Rows under a header as dicts by header; blank rows are skipped but still counted."""
    try:
        columns = resolve(headers)
    except ColumnError as exc:
        raise UnreadableFile(str(exc)) from exc
    named = [(i, h) for i, h in enumerate(headers) if h]

    def generate() -> Iterator[RawRow]:
        for number, row in enumerate(rows, start=header_index + 2):
            width = len(row)
            values = {h: row[i] for i, h in named if i < width and row[i] is not None and row[i] != blank}
            if values:
                yield RawRow(number, values)

    return Table(name, generate(), list(columns.unknown),
                 max(expected - header_index - 1, 0) if expected is not None else None)


# ---------------------------------------------------------------------- workbooks


def _workbook(path: Path) -> Table:
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        for sheet_name in workbook.sheet_names:
            sheet = workbook.get_sheet_by_name(sheet_name)
            rows: Iterator[Sequence[Any]] = iter(sheet.iter_rows())  # rows from row 1, empty ones included
            found = _header_at(rows)
            if found is not None:
                index, headers = found
                return _tabular(f"{path.name} [{sheet_name}]", index, headers, rows, "",
                                expected=sheet.start[0] + sheet.height if sheet.start else sheet.height)
    except CalamineError as exc:
        raise UnreadableFile(f"not a readable spreadsheet workbook ({_first_line(exc)})") from exc
    raise UnreadableFile(f"no sheet has a 留言详情 (body) column in its first {HEADER_SEARCH_ROWS} rows "
                         f"(sheets: {', '.join(workbook.sheet_names) or 'none'})")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


# ---------------------------------------------------------------------- CSV


def detect_encoding(path: Path) -> str:
    """UTF-8 with a BOM, UTF-16 with a BOM (Excel's "Unicode text"), UTF-8, else GB18030 — what
    Chinese Excel and WPS save. Decodes the whole file once, a chunk at a time, so a bad byte late
    in the file is found before any row is imported."""
    with path.open("rb") as fh:
        head = fh.read(4)
        if head.startswith(codecs.BOM_UTF8):
            return _check(fh, "utf-8-sig")
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return _check(fh, "utf-16")
        if head.startswith((_ZIP_MAGIC, _OLE_MAGIC)):
            raise UnreadableFile("not a CSV file: it is a workbook (name it .xlsx or .xls)")
        for encoding in ("utf-8", "gb18030"):
            try:
                return _check(fh, encoding)
            except UnicodeDecodeError:
                continue
            except _Binary as exc:
                raise UnreadableFile("not a CSV file: it holds binary data (NUL bytes)") from exc
    raise UnreadableFile("unknown text encoding (neither UTF-8 nor GB18030); save the file as CSV UTF-8")


class _Binary(Exception):
    pass


def _check(fh: BinaryIO, encoding: str) -> str:
    fh.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    while chunk := fh.read(_CHUNK):
        text = decoder.decode(chunk)
        if "\x00" in text:
            raise _Binary
    decoder.decode(b"", final=True)
    return encoding


def _csv(path: Path) -> Table:
    encoding = detect_encoding(path)
    fh = path.open(encoding=encoding, newline="")
    try:
        sample = fh.read(64 * 1024)
        fh.seek(0)
        try:
            dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
        except csv.Error:
            dialect = csv.excel
        records = _csv_records(csv.reader(fh, dialect), path.name, fh)
        found = _header_at(records)
        if found is None:
            raise UnreadableFile(f"no 留言详情 (body) column in the first {HEADER_SEARCH_ROWS} rows")
        index, headers = found
        return _tabular(path.name, index, headers, records, "", expected=_count_lines(path))
    except BaseException:
        fh.close()
        raise


def _count_lines(path: Path) -> int:
    """Lines in the file (a CSV record may span lines: an estimate, read in binary chunks)."""
    count, last = 0, b"\n"
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def _csv_records(reader: Iterator[list[str]], name: str, fh: Any) -> Iterator[list[str]]:
    """csv records (a blank line is an empty record, so numbering matches the spreadsheet's rows);
    a malformed record ends the file with the row where it happened."""
    csv.field_size_limit(max(csv.field_size_limit(), 1 << 24))
    number = 0
    try:
        for record in reader:
            number += 1
            yield record
    except csv.Error as exc:
        raise UnreadableFile(f"row {number + 1}: malformed CSV ({exc})") from exc
    finally:
        fh.close()


# ---------------------------------------------------------------------- JSONL


def _jsonl(path: Path) -> Table:
    fh = path.open("rb")
    lines = enumerate(fh, start=1)
    first: tuple[int, dict[str, Any]] | None = None
    for number, raw in lines:
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            fh.close()
            raise UnreadableFile(f"not a JSONL file: line {number} is not JSON") from exc
        if not isinstance(obj, dict):
            fh.close()
            raise UnreadableFile(f"not a JSONL file: line {number} is not a JSON object")
        first = number, obj
        break
    table = Table(path.name, iter(()), expected=_count_lines(path) - (first[0] - 1 if first else 0))

    def generate() -> Iterator[RawRow]:
        try:
            if first is not None:
                yield _object_row(*first, table.unknown)
            for number, raw in lines:
                if raw.strip():
                    yield _line_row(number, raw, table.unknown)
        finally:
            fh.close()

    table.rows = generate()
    return table


def _line_row(number: int, raw: bytes, unknown: list[str]) -> RawRow:
    try:
        obj = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return RawRow(number, {}, f"not UTF-8 (byte {exc.start})")
    except ValueError as exc:
        reason = f"{exc.msg} at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else str(exc)[:100]
        return RawRow(number, {}, f"invalid JSON: {reason}")
    except RecursionError:
        return RawRow(number, {}, "invalid JSON: nested too deeply")
    if not isinstance(obj, dict):
        return RawRow(number, {}, "not a JSON object")
    return _object_row(number, obj, unknown)


def _object_row(number: int, obj: dict[str, Any], unknown: list[str]) -> RawRow:
    values: dict[str, Any] = {}
    for key, value in obj.items():
        header = normalise_header(key)
        values[header] = value
        if header not in unknown and field_of(header) is None:
            unknown.append(header)
    return RawRow(number, values)

