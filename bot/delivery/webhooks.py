"""Webhooks: what a receiver is sent, how it is signed, and what its answer means.

An event to announce becomes an outbox row first (method :data:`METHOD`), written in the same
transaction as the event, with the exact body to POST; the delivery worker sends it through
:class:`WebhookSender`. So a webhook call has the outbox's guarantees: nothing lost across a crash
or a restart, every retry sends the same bytes (the body lives in the row), and one receiver's rows
go one at a time, oldest first (all rows of one URL share one outbox "chat", :func:`url_key`), which
is what keeps one item's events in the order they happened.

Answers: 2xx delivered. 408, 429, 5xx, a timeout, a refused connection: tried again after a pause
that grows to at most :data:`MAX_PAUSE` seconds, for as long as it takes. Any other answer in 4xx
(a wrong path, a receiver that rejects the signature) is tried :data:`REFUSALS_ALLOWED` times,
then set aside (status ``failed``) so the receiver's later rows still go, and the desk is told once
a day per URL. Other answers (3xx: redirects are not followed) are retried like a 5xx.

Receivers are not Telegram: no flood limits, no pacing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

import aiohttp

# the names a receiver sees in ``event`` (and the config's ``events`` may list)
EVENTS = ("created", "routed", "claimed", "released", "replied", "rated", "reopened", "closed",
          "overdue", "sensitive")
METHOD = "webhook"  # the outbox rows' method
SIGNATURE_HEADER = "X-Liuyan-Signature"
TIMEOUT = 10.0  # seconds for one POST, connecting included
MAX_PAUSE = 60.0  # the longest pause between two tries of one row
REFUSALS_ALLOWED = 5  # a 4xx other than 408/429 this often, and the row is set aside
# Outbox rows of one receiver share one "chat id" outside anything Telegram uses: Telegram's ids
# have at most 52 significant bits; these keys are all below -2**62 (and fit a BIGINT).
_KEY_BASE = -(2**62)


def url_key(url: str) -> int:
    """The outbox key of a receiver: stable across processes and restarts, one per URL."""
    return _KEY_BASE - int.from_bytes(hashlib.sha256(url.encode("utf-8")).digest()[:7], "big")


def is_key(chat_id: int) -> bool:
    """Whether an outbox row's ``chat_id`` is a webhook receiver's key, not a Telegram chat."""
    return chat_id <= _KEY_BASE


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def event_id(event_row_id: int, name: str, url: str) -> str:
    """A receiver's key to drop repeats: one event of the log, announced as ``name``, to one URL."""
    return f"{event_row_id}-{name}-{hashlib.sha256(url.encode('utf-8')).hexdigest()[:8]}"


def body(event_row_id: int, name: str, url: str, at: str, item: dict[str, Any]) -> str:
    """The JSON a receiver gets, as the text whose UTF-8 bytes are POSTed and signed."""
    return json.dumps({"id": event_id(event_row_id, name, url), "event": name, "at": at, "item": item},
                      ensure_ascii=False, separators=(",", ":"))


def row_payload(url: str, text: str, refusals: int = 0) -> str:
    """An outbox row's payload: where it goes, the body (never changed once written), and how
    often the receiver has refused it so far."""
    return json.dumps({"url": url, "body": text, "refusals": refusals}, ensure_ascii=False)


def refusals(payload: str) -> int:
    return int(json.loads(payload).get("refusals", 0))


def with_refusals(payload: str, count: int) -> str:
    data = json.loads(payload)
    return row_payload(data["url"], data["body"], count)


@dataclass(frozen=True)
class Answer:
    """What became of one POST."""

    delivered: bool
    refused: bool = False  # a 4xx other than 408/429: counts towards setting the row aside
    error: str = ""
    status: int | None = None
    retry_after: float | None = None
    give_up: bool = False  # nothing to try again: set the row aside now


def classify(status: int, retry_after: float | None = None) -> Answer:
    if 200 <= status < 300:
        return Answer(True, status=status)
    refused = 400 <= status < 500 and status not in (408, 429)
    return Answer(False, refused=refused, error=f"HTTP {status}", status=status, retry_after=retry_after)


def pause(attempts: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """Seconds before the next try: doubling from ``base`` with each attempt, at most ``cap``
    (and never over :data:`MAX_PAUSE`); a receiver's Retry-After is honoured within that cap."""
    limit = min(cap, MAX_PAUSE)
    grown = min(limit, base * 2.0 ** min(attempts, 16))
    return min(limit, max(grown, retry_after or 0.0))


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:  # an HTTP date: the growing pause is good enough
        return None


class WebhookSender:
    """POSTs webhook rows; one aiohttp session for every receiver, opened on first use.

    The secret is read from the config at send time (it is not stored in the outbox): a receiver
    that changed its secret verifies queued rows with the new one. A row whose URL is no longer
    configured is set aside without being sent.
    """

    def __init__(self, hooks: Sequence[Any], tz: tzinfo, *,
                 notice: Callable[..., str] | None = None, timeout: float = TIMEOUT) -> None:
        self.secrets = {h.url: h.secret for h in hooks}
        self.tz = tz
        self.notice = notice
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def post(self, payload: str) -> Answer:
        data = json.loads(payload)
        url, raw = data["url"], data["body"].encode("utf-8")
        secret = self.secrets.get(url)
        if secret is None:
            return Answer(False, error="this URL is no longer in the config's [[webhooks]]", give_up=True)
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        headers = {"Content-Type": "application/json; charset=utf-8", SIGNATURE_HEADER: sign(secret, raw),
                   "User-Agent": "liuyan-webhooks"}
        try:
            async with self._session.post(url, data=raw, headers=headers, allow_redirects=False) as res:
                await res.read()
                return classify(res.status, _retry_after(res.headers.get("Retry-After")))
        except TimeoutError:
            return Answer(False, error=f"no answer within {self.timeout:g} s")
        except aiohttp.ClientError as exc:
            return Answer(False, error=f"{exc.__class__.__name__}: {exc}"[:500])

    def set_aside_notice(self, payload: str, answer: Answer, now: datetime) -> tuple[str, str] | None:
        """The desk's message about a set-aside row and its dedupe key (once a day per URL)."""
        if self.notice is None:
            return None
        data = json.loads(payload)
        sent = json.loads(data["body"])
        day = now.astimezone(self.tz).date().isoformat()
        text = self.notice(url=data["url"], error=answer.error, event=sent.get("event"),
                           item_id=(sent.get("item") or {}).get("id"))
        return text, f"webhook-set-aside:{url_key(data['url'])}:{day}"

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
