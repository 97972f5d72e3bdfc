"""Which intake field each column of a platform export fills, found by its header.

The headers are data (``headers.toml``); a header is matched after NFKC normalisation so that a
full-width ``留言编号　`` or ``ｂｏｄｙ`` from a Chinese spreadsheet still matches.
"""

from __future__ import annotations

import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

_HEADERS_FILE = Path(__file__).with_name("headers.toml")
REQUIRED = ("external_id", "body")


class ColumnError(ValueError):
    """A file whose columns cannot be imported (a required column missing, or one field twice)."""


@lru_cache(maxsize=1)
def _aliases() -> dict[str, tuple[str, ...]]:
    with _HEADERS_FILE.open("rb") as fh:
        return {field: tuple(headers) for field, headers in tomllib.load(fh).items()}


def fields() -> tuple[str, ...]:
    """Every field a column can fill, in the catalogue's order."""
    return tuple(_aliases())


def normalise_header(value: Any) -> str:
    """A header cell as text: NFKC, surrounding whitespace removed; a number cell by its digits."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


@lru_cache(maxsize=1)
def _lookup() -> dict[str, str]:
    table: dict[str, str] = {}
    for field, headers in _aliases().items():
        table[field.casefold()] = field
        for header in headers:
            table[normalise_header(header).casefold()] = field
    return table


@lru_cache(maxsize=1024)
def field_of(header: Any) -> str | None:
    """The field a header names, or None for a column the import does not know."""
    return _lookup().get(normalise_header(header).casefold())


def label(field: str) -> str:
    """How messages name a field: the platform's header with the field name, ``留言详情 (body)``."""
    headers = _aliases().get(field, ())
    return f"{headers[0]} ({field})" if headers else field


@dataclass(frozen=True)
class Columns:
    """A header row resolved: the field of each column position, and the headers not understood."""

    by_position: dict[int, str]
    unknown: tuple[str, ...]

    def values(self, row: Iterable[Any]) -> dict[str, Any]:
        """A row's cells by field (cells beyond the header, or under an unknown header, dropped)."""
        by_position = self.by_position
        return {by_position[i]: v for i, v in enumerate(row) if i in by_position}


def has_body(headers: Iterable[Any]) -> bool:
    return any(field_of(h) == "body" for h in headers)


def resolve(headers: Iterable[Any]) -> Columns:
    """Map a header row; a missing 留言编号 or 留言详情, or two columns for one field, is a ColumnError."""
    by_position: dict[int, str] = {}
    first_header: dict[str, str] = {}
    unknown: list[str] = []
    for position, raw in enumerate(headers):
        header = normalise_header(raw)
        if not header:
            continue
        field = field_of(header)
        if field is None:
            if header not in unknown:
                unknown.append(header)
            continue
        if field in first_header:
            raise ColumnError(f"columns {first_header[field]!r} and {header!r} both hold {label(field)}; keep one")
        first_header[field] = header
        by_position[position] = field
    missing = [label(f) for f in REQUIRED if f not in first_header]
    if missing:
        raise ColumnError(f"no {' or '.join(missing)} column")
    return Columns(by_position, tuple(unknown))
