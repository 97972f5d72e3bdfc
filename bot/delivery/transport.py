"""PTB's requests to the Bot API over aiohttp instead of httpx.

python-telegram-bot sends through a :class:`telegram.request.BaseRequest`; its own is httpx-based.
PTB builds every request and reads every answer itself (status codes, ``retry_after``, chat
migration, error texts); this class only carries bytes. It exists for speed: measured against the
Bot API stand-in on this project's 2-core machines, an httpx send costs 1.2–3 ms of CPU (more the
more connections are pooled: httpx checks each one per request), an aiohttp send about a third of
that, and at 200 commands a second (two sends each) the bot's one core is what runs out first.

Errors map as PTB's own transport maps them: a timeout is :class:`~telegram.error.TimedOut`, any
other connection failure :class:`~telegram.error.NetworkError`, so the delivery worker's retry and
"may have been posted" rules hold unchanged.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class AiohttpRequest(BaseRequest):
    """A :class:`~telegram.request.BaseRequest` on one :class:`aiohttp.ClientSession`.

    ``connection_pool_size`` bounds the connections, like PTB's; a request that waits longer than
    ``pool_timeout`` for one raises :class:`~telegram.error.TimedOut` without being sent.
    """

    def __init__(self, connection_pool_size: int = 8, *, read_timeout: float | None = 5.0,
                 write_timeout: float | None = 5.0, connect_timeout: float | None = 5.0,
                 pool_timeout: float | None = 1.0, media_write_timeout: float | None = 20.0) -> None:
        self._pool_size = connection_pool_size
        self._read = read_timeout
        self._write = write_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._slots: asyncio.Semaphore | None = None

    @property
    def read_timeout(self) -> float | None:
        return self._read

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self._pool_size, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(connector=connector, headers={"User-Agent": self.USER_AGENT})
            self._slots = asyncio.Semaphore(self._pool_size)

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = BaseRequest.DEFAULT_NONE,
                         write_timeout: Any = BaseRequest.DEFAULT_NONE,
                         connect_timeout: Any = BaseRequest.DEFAULT_NONE,
                         pool_timeout: Any = BaseRequest.DEFAULT_NONE) -> tuple[int, bytes]:
        if self._session is None or self._session.closed or self._slots is None:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        data = request_data.json_parameters if request_data else None
        read = self._read if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = self._connect if isinstance(connect_timeout, DefaultValue) else connect_timeout
        pool = self._pool if isinstance(pool_timeout, DefaultValue) else pool_timeout
        write = (self._write if not files else self._media_write) if isinstance(write_timeout, DefaultValue) \
            else write_timeout
        body: Any = data
        if files:
            form = aiohttp.FormData()
            for name, value in (data or {}).items():
                form.add_field(name, value)
            for name, part in files.items():
                filename, content, mimetype = part if isinstance(part, tuple) else (None, part, None)
                form.add_field(name, content, filename=filename, content_type=mimetype)
            body = form
        try:
            await asyncio.wait_for(self._slots.acquire(), pool)
        except TimeoutError as err:
            raise TimedOut(message="Pool timeout: All connections in the connection pool are occupied. "
                                   "Request was *not* sent to Telegram.") from err
        try:
            # aiohttp has no write timeout of its own: writing and reading share the total
            total = None if read is None and write is None else (read or 0) + (write or 0)
            timeout = aiohttp.ClientTimeout(total=total, sock_connect=connect, sock_read=read)
            async with self._session.request(method, url, data=body, timeout=timeout) as res:
                return res.status, await res.read()
        except TimeoutError as err:
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err
        finally:
            self._slots.release()
