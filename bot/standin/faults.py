"""Injected trouble: error answers, stalled requests and a server that is down.

The stand-in answers like Telegram on its own; these are the failures a test or a demo asks for on
purpose (a 429 for one chat, a 502 burst, a send that hangs until the client times out).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .protocol import STATUS_TEXT, ApiError

__all__ = ["Fault", "Faults", "Hang"]


@dataclass
class Fault:
    """An injected error (see :meth:`Faults.fail_next`). ``remaining=None`` is forever."""

    method: str
    status: int
    description: str
    remaining: int | None = 1
    retry_after: int | None = None
    chat_id: int | str | None = None
    parameters: dict[str, Any] | None = None
    hits: int = 0

    def to_error(self) -> ApiError:
        parameters = dict(self.parameters or {})
        if self.retry_after is not None:
            parameters["retry_after"] = self.retry_after
        return ApiError(self.status, self.description, parameters or None)


@dataclass
class Hang:
    """Stall matching calls for ``seconds`` before processing them normally."""

    method: str
    seconds: float
    remaining: int | None
    chat_id: int | str | None = None


class Faults:
    """The pending injections; the server consults :meth:`take_fault` and :meth:`take_hang`."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.hangs: list[Hang] = []
        self.down = False

    def fail_next(
        self,
        method: str,
        status: int,
        times: int | None = 1,
        description: str | None = None,
        retry_after: int | None = None,
        chat_id: int | str | None = None,
        parameters: dict[str, Any] | None = None,
    ) -> Fault:
        """Answer the next ``times`` calls of ``method`` ("*" for any) with an error.

        ``times=None`` keeps failing until :meth:`clear`. With ``chat_id`` only calls for that chat
        fail. A 429 gets ``retry_after`` (default 1) in its parameters and Telegram's
        "Too Many Requests: retry after N" text unless ``description`` is given.
        """
        if status == 429:
            retry_after = 1 if retry_after is None else retry_after
            text = description or f"Too Many Requests: retry after {retry_after}"
        else:
            text = description or STATUS_TEXT.get(status, "Error")
        fault = Fault(
            method=method.lower(), status=status, description=text, remaining=times,
            retry_after=retry_after, chat_id=chat_id, parameters=parameters,
        )
        self.faults.append(fault)
        return fault

    def hang(self, method: str, seconds: float, times: int | None = 1) -> Hang:
        """Stall the next ``times`` calls of ``method`` for ``seconds`` before processing them."""
        hang = Hang(method.lower(), seconds, times)
        self.hangs.append(hang)
        return hang

    def clear(self) -> None:
        """Drop every pending fault and hang and bring the server up."""
        self.faults.clear()
        self.hangs.clear()
        self.down = False

    def take_fault(self, method: str, chat_ref: Any) -> Fault | None:
        fault = _take(self.faults, method, chat_ref)
        if fault is not None:
            fault.hits += 1
        return fault

    def take_hang(self, method: str, chat_ref: Any) -> Hang | None:
        return _take(self.hangs, method, chat_ref)

    def snapshot(self) -> dict[str, Any]:
        """JSON-able list of what is pending (for the HTTP driver)."""
        return {
            "down": self.down,
            "faults": [
                {"method": f.method, "status": f.status, "description": f.description,
                 "remaining": f.remaining, "retry_after": f.retry_after, "chat_id": f.chat_id, "hits": f.hits}
                for f in self.faults
            ],
            "hangs": [{"method": h.method, "seconds": h.seconds, "remaining": h.remaining} for h in self.hangs],
        }


def _take(items: list[Any], method: str, chat_ref: Any) -> Any:
    """Find and consume the first injection matching this call."""
    for item in items:
        if item.method not in ("*", method.lower()):
            continue
        wanted = getattr(item, "chat_id", None)
        if wanted is not None and str(wanted) != str(chat_ref):
            continue
        if item.remaining is not None:
            item.remaining -= 1
            if item.remaining <= 0:
                items.remove(item)
        return item
    return None
