"""Validation of intake API input (pure): JSON values in, :class:`Incoming` out, or a
:class:`ValidationError` whose message names the field (``items[3].body: required``)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.workflow import Incoming

MAX_BODY_CHARS = 50_000
MAX_TITLE_CHARS = 1_000
MAX_SHORT_CHARS = 200
MAX_URL_CHARS = 2_000
MAX_COMMENT_CHARS = 2_000
RATINGS = ("satisfied", "basically_satisfied", "unsatisfied")
# the fields a message may carry; any other is refused, so a typo in an optional field loses nothing
MESSAGE_FIELDS = ("external_id", "body", "title", "region", "author", "category", "kind", "received_at",
                  "url", "likes", "dislikes")


class ValidationError(ValueError):
    """The message names the field; ``field`` and ``reason`` hold its two parts so another front end
    (a spreadsheet import) can name the field its own way with the same reason."""

    def __init__(self, message: str, *, field: str = "", reason: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.reason = reason or message


def _fail(where: str, message: str) -> ValidationError:
    return ValidationError(f"{where}: {message}" if where else message, field=where, reason=message)


def parse_text(obj: dict[str, Any], key: str, where: str, *, required: bool = False,
               limit: int = MAX_SHORT_CHARS) -> str | None:
    value = obj.get(key)
    if value is None:
        if required:
            raise _fail(f"{where}{key}", "required")
        return None
    if not isinstance(value, str):
        raise _fail(f"{where}{key}", f"must be a string, not {_json_type(value)}")
    if "\x00" in value:
        raise _fail(f"{where}{key}", "contains a NUL character")
    if required and not value.strip():
        raise _fail(f"{where}{key}", "required (empty)")
    if len(value) > limit:
        raise _fail(f"{where}{key}", f"too long ({len(value)} characters, at most {limit})")
    _check_surrogates(value, f"{where}{key}")
    return value


def _check_surrogates(value: str, where: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _fail(where, "contains an unpaired surrogate (invalid Unicode)") from exc


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def parse_time(value: Any, where: str, tz: ZoneInfo) -> datetime | None:
    """ISO 8601; without an offset it is read in the configured timezone; null means now."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(where, f"must be an ISO 8601 string, not {_json_type(value)}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise _fail(where, f"not an ISO 8601 time: {value[:40]!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    if not 1990 <= parsed.year <= 2100:
        raise _fail(where, f"year {parsed.year} is out of range")
    return parsed


def parse_count(obj: dict[str, Any], key: str, where: str) -> int:
    """A vote count such as ``likes``: a whole number, absent or null meaning 0."""
    value = obj.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            isinstance(value, float) and (not math.isfinite(value) or not value.is_integer())):
        raise _fail(f"{where}{key}", "must be a whole number")
    count = int(value)
    if not 0 <= count <= 2**31 - 1:
        raise _fail(f"{where}{key}", "out of range")
    return count


def parse_message(obj: Any, where: str, tz: ZoneInfo) -> Incoming:
    if not isinstance(obj, dict):
        raise _fail(where.rstrip("."), f"must be an object, not {_json_type(obj)}")
    for key in obj:
        if key not in MESSAGE_FIELDS:
            raise _fail(f"{where}{str(key)[:40]}", f"unknown field (fields: {', '.join(MESSAGE_FIELDS)})")
    external_id = parse_text(obj, "external_id", where, required=True, limit=MAX_SHORT_CHARS)
    body = parse_text(obj, "body", where, required=True, limit=MAX_BODY_CHARS)
    likes = parse_count(obj, "likes", where)
    region = parse_text(obj, "region", where, limit=MAX_SHORT_CHARS)
    return Incoming(
        external_id=(external_id or "").strip(),
        body=body or "",
        title=(parse_text(obj, "title", where, limit=MAX_TITLE_CHARS) or "").strip(),
        region=region.strip() if region and region.strip() else None,
        author=parse_text(obj, "author", where),
        category=parse_text(obj, "category", where),
        kind=parse_text(obj, "kind", where),
        received_at=parse_time(obj.get("received_at"), f"{where}received_at", tz),
        url=parse_text(obj, "url", where, limit=MAX_URL_CHARS),
        likes=likes,
        dislikes=parse_count(obj, "dislikes", where),
    )


def parse_batch(data: Any, tz: ZoneInfo, *, max_items: int = 1000) -> tuple[list[Incoming], bool]:
    """One object or an array of up to ``max_items``; returns (messages, was_single)."""
    if isinstance(data, dict):
        return [parse_message(data, "", tz)], True
    if isinstance(data, list):
        if not data:
            raise ValidationError("empty array: send at least one message")
        if len(data) > max_items:
            raise ValidationError(f"too many messages in one array ({len(data)}, at most {max_items})")
        return [parse_message(obj, f"items[{i}].", tz) for i, obj in enumerate(data)], False
    raise ValidationError(f"body must be a JSON object or an array of objects, not {_json_type(data)}")


def parse_close(data: Any, tz: ZoneInfo) -> tuple[datetime | None, str | None]:
    """The optional ``published_at`` and ``url`` of a close (an empty or absent body: neither)."""
    if data is None:
        return None, None
    if not isinstance(data, dict):
        raise ValidationError(f"body must be a JSON object, not {_json_type(data)}")
    for key in data:
        if key not in ("published_at", "url"):
            raise _fail(str(key)[:40], "unknown field (fields: published_at, url)")
    return parse_time(data.get("published_at"), "published_at", tz), parse_text(data, "url", "", limit=MAX_URL_CHARS)


def parse_rating(data: Any) -> tuple[str, str | None]:
    if not isinstance(data, dict):
        raise ValidationError(f"body must be a JSON object, not {_json_type(data)}")
    rating = data.get("rating")
    if rating is None:
        raise _fail("rating", "required")
    if not isinstance(rating, str) or rating not in RATINGS:
        raise _fail("rating", f"must be one of {', '.join(RATINGS)}")
    comment = parse_text(data, "comment", "", limit=MAX_COMMENT_CHARS)
    return rating, comment
