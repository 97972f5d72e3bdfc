"""Answering button presses (``answerCallbackQuery``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..protocol import ApiError, Params

if TYPE_CHECKING:
    from ..server import BotApiStandin

CALLBACK_ANSWER_LIMIT = 200
_QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"


async def answer_callback_query(api: BotApiStandin, p: Params) -> bool:
    query_id = p.get_str("callback_query_id") or ""
    record = api._callbacks.get(query_id)
    if record is None or record.answer is not None:
        raise ApiError(400, _QUERY_INVALID)
    if api.callback_query_ttl is not None and api.clock() - record.created > api.callback_query_ttl:
        raise ApiError(400, _QUERY_INVALID)
    text = p.get_str("text")
    if text is not None and len(text) > CALLBACK_ANSWER_LIMIT:
        raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
    record.answer = {
        "text": text,
        "show_alert": p.get_bool("show_alert"),
        "url": p.get_str("url"),
        "cache_time": p.get_int("cache_time") or 0,
    }
    api._emit(
        {
            "type": "callback_answer", "callback_query_id": query_id, "chat_id": record.chat_id,
            "message_id": record.message_id, "user_id": record.user_id, "answer": dict(record.answer),
        }
    )
    return True


METHODS = {"answerCallbackQuery": answer_callback_query}
