"""The Bot API's wire shapes as the stand-in reads and answers them: parameters in, errors out.

Kept apart from the server so every family of methods reads parameters and raises errors the same
way, whatever encoding the client used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, ClassVar

from aiohttp import web

__all__ = ["STATUS_TEXT", "ApiError", "Params", "Upload", "WithDescription", "error_response", "json_response", "read_params"]

#: The description Telegram gives with a bare HTTP status (faults use it when given none).
STATUS_TEXT = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was kicked from the group chat",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class ApiError(Exception):
    """An error answer: HTTP status ``code`` with Telegram's ``description`` and ``parameters``."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(f"{code} {description}")
        self.code = code
        self.description = description
        self.parameters = parameters


@dataclass
class Upload:
    """A file that came in a multipart request."""

    filename: str | None
    data: bytes = field(repr=False)
    content_type: str | None


class WithDescription:
    """A successful answer that also carries a ``description`` (setWebhook does this)."""

    def __init__(self, result: Any, description: str) -> None:
        self.result = result
        self.description = description


class Params:
    """Request parameters from a query string, a form, multipart or JSON, with Telegram coercions.

    PTB sends every value as a string (``json.dumps`` for non-strings): ``chat_id=-100123``,
    ``disable_notification=true``, ``reply_markup={"inline_keyboard": ...}``. JSON bodies carry
    real types. Both must read the same.
    """

    _JSON_NAMES: ClassVar[dict[str, str]] = {
        "reply_markup": "reply keyboard markup",
        "entities": "entities",
        "caption_entities": "caption entities",
        "reply_parameters": "reply parameters",
        "commands": "commands",
        "scope": "bot command scope",
        "allowed_updates": "allowed updates",
        "link_preview_options": "link preview options",
    }

    def __init__(self, data: dict[str, Any], files: dict[str, Upload], request: web.Request | None = None) -> None:
        self.data = data
        self.files = files
        self.request = request

    def client_gone(self) -> bool:
        """True when the client has closed the connection (e.g. PTB cancelled a long poll)."""
        if self.request is None:
            return False
        transport = self.request.transport
        return transport is None or transport.is_closing()

    def has(self, name: str) -> bool:
        value = self.data.get(name)
        return value is not None and value != ""

    def raw(self, name: str) -> Any:
        return self.data.get(name)

    def get_str(self, name: str) -> str | None:
        value = self.data.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        return json.dumps(value, ensure_ascii=False)

    def get_int(self, name: str, *, error: str | None = None) -> int | None:
        value = self.data.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise ApiError(400, error or f"Bad Request: invalid {name} specified")
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            try:
                as_float = float(str(value).strip())
            except ValueError:
                raise ApiError(400, error or f"Bad Request: invalid {name} specified") from None
            return int(as_float)

    def get_float(self, name: str) -> float | None:
        value = self.data.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ApiError(400, f"Bad Request: invalid {name} specified") from None

    def get_bool(self, name: str, default: bool = False) -> bool:
        value = self.data.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() in ("true", "1", "yes", "on")

    def get_json(self, name: str) -> Any:
        value = self.data.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                what = self._JSON_NAMES.get(name, name)
                raise ApiError(400, f"Bad Request: can't parse {what} JSON object") from None
        return value


async def read_params(request: web.Request) -> Params:
    """The call's parameters from the query string and a JSON, form or multipart body."""
    data: dict[str, Any] = dict(request.query)
    files: dict[str, Upload] = {}
    if request.method == "POST" and request.body_exists:
        ctype = request.content_type
        if ctype == "application/json":
            raw = await request.read()
            if raw.strip():
                try:
                    obj = json.loads(raw)
                except ValueError:
                    raise ApiError(400, "Bad Request: can't parse JSON object") from None
                if not isinstance(obj, dict):
                    raise ApiError(400, "Bad Request: JSON object expected")
                data.update(obj)
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = Upload(value.filename, value.file.read(), value.content_type)
                else:
                    data[key] = value
        else:
            await request.read()
    return Params(data, files, request)


def json_response(body: Any, status: int = 200) -> web.Response:
    """JSON as Telegram writes it: UTF-8, not ``\\u`` escapes."""
    return web.json_response(body, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False))


def error_response(err: ApiError) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": err.code, "description": err.description}
    if err.parameters:
        body["parameters"] = err.parameters
    return json_response(body, err.code)
