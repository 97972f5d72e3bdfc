"""The delivery worker in a process of its own (``[telegram] delivery = "process"``).

Why: the bot's work is Python on one core. At a hundred commands a second and more, handling
updates (parsing, the workflow's transaction) and sending (two Bot API requests per command, their
leases and marks) no longer fit on it together, and answers queue. Sending in a second process puts
the machine's second core to work; the outbox in the database is already the hand-over point, so
nothing else changes: the service queues rows, the child sends them, leases keep the two (or any
number of workers) from sending a row twice.

- :class:`DeliveryProcess` stands in the service where the in-process :class:`DeliveryWorker`
  would: ``start``/``stop`` the child, ``wake`` it (a byte on a socket pair, so a queued answer goes
  out at once, not at the next poll), and the two requests Telegram's service messages make of the
  worker (a chat migrated, the bot added back), which it settles in the database for the child.
- :func:`run_child` is ``python -m bot deliver --config F``: one worker, exits with its parent.
  Deployers may also run it by hand beside ``liuyan run`` (then without ``--wake-fd``: it polls).

A child that dies is started again after a second; the parent's log says so.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys
import time
from typing import Any

from bot.config import Config

log = logging.getLogger(__name__)

RESTART_SECONDS = 1.0
STOP_SECONDS = 10.0


class DeliveryProcess:
    """The parent's handle on ``python -m bot deliver`` (same interface as the worker it replaces)."""

    def __init__(self, config: Config, db: Any, command: list[str] | None = None) -> None:
        if config.source_path is None:
            raise ValueError('telegram.delivery = "process" needs the config loaded from a file')
        self.config = config
        self.db = db
        self.command = command or ["-m", "bot", "deliver"]  # after the interpreter; the bench swaps it
        self._proc: asyncio.subprocess.Process | None = None
        self._monitor: asyncio.Task[None] | None = None
        self._wake_send: socket.socket | None = None
        self._stopping = False
        self._tasks: set[asyncio.Task[Any]] = set()
        # what the child reports each second: for /readyz and /metrics
        self.polled_at: float | None = None
        self.rate_limited = 0
        self._rate_limited_before = 0  # of children that exited
        self._child_rate_limited = 0

    async def start(self) -> None:
        self._stopping = False
        await self._spawn()
        self._monitor = asyncio.create_task(self._watch(), name="liuyan-delivery-process")

    async def _spawn(self) -> None:
        parent_end, child_end = socket.socketpair()
        parent_end.setblocking(False)
        if self._wake_send is not None:
            self._stop_reading()
            self._wake_send.close()
        self._rate_limited_before += self._child_rate_limited
        self._child_rate_limited = 0
        self._wake_send = parent_end
        asyncio.get_running_loop().add_reader(parent_end.fileno(), self._on_report)
        try:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable, *self.command, "--config", str(self.config.source_path),
                "--wake-fd", str(child_end.fileno()), "--parent", str(os.getpid()),
                pass_fds=(child_end.fileno(),),
            )
        finally:
            child_end.close()
        log.info("delivery: sending from process %s", self._proc.pid)

    async def _watch(self) -> None:
        while not self._stopping:
            assert self._proc is not None
            code = await self._proc.wait()
            if self._stopping:
                return
            log.error("delivery: the sending process exited (%s); starting it again", code)
            while not self._stopping:
                await asyncio.sleep(RESTART_SECONDS)  # not a sync: a pause before a (re)try
                try:
                    await self._spawn()
                    break
                except OSError:  # out of processes or file descriptors: try again
                    log.exception("delivery: could not start the sending process")

    async def stop(self) -> None:
        self._stopping = True
        if self._monitor is not None:  # first, so no new child starts while the last one stops
            self._monitor.cancel()
            await asyncio.gather(self._monitor, return_exceptions=True)
            self._monitor = None
        proc = self._proc
        if proc is not None and proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), STOP_SECONDS)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if self._wake_send is not None:
            self._wake_send.close()
            self._wake_send = None

    def _on_report(self) -> None:
        """The child's line each second: ``<429s since it started> <seconds since its last poll>``."""
        if self._wake_send is None:
            return
        try:
            data = self._wake_send.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._stop_reading()
            return
        last = data.strip().split(b"\n")[-1].split()
        try:
            count, age = int(last[0]), float(last[1])
        except (IndexError, ValueError):
            return
        self._child_rate_limited = count
        self.rate_limited = self._rate_limited_before + count
        if age >= 0:
            self.polled_at = time.monotonic() - age

    def _stop_reading(self) -> None:
        if self._wake_send is not None:
            try:
                asyncio.get_running_loop().remove_reader(self._wake_send.fileno())
            except (RuntimeError, ValueError, OSError):
                pass

    def wake(self) -> None:
        if self._wake_send is None:
            return
        try:
            self._wake_send.send(b"w")
        except (BlockingIOError, OSError):  # a full buffer already holds a wake-up; a dead child restarts
            pass

    def probe_now(self, chat_id: int) -> None:
        """The bot was added back to a group: clear its blocked mark; the child sends its backlog
        within a second (it reads chat states once a second)."""
        from bot.delivery.queue import unblock

        task = asyncio.get_running_loop().create_task(self.db.run(unblock, chat_id))
        self._tasks.add(task)  # held until done: the loop keeps only a weak reference
        task.add_done_callback(self._tasks.discard)
        self.wake()

    async def chat_migrated(self, old: int, new: int) -> None:
        from bot.app_context import wall_clock
        from bot.delivery.queue import migrate

        await self.db.run(migrate, old, new, wall_clock(), False)
        self.wake()


def make_bot(config: Config) -> Any:
    """A plain Bot for sending (no updates, no handlers) over the same transport as the service's."""
    from telegram import Bot

    from bot.delivery.transport import AiohttpRequest
    from bot.delivery.worker import MAX_IN_FLIGHT

    cfg = config.telegram
    return Bot(cfg.token, base_url=cfg.api_url,
               request=AiohttpRequest(MAX_IN_FLIGHT + 2, read_timeout=cfg.request_timeout,
                                      write_timeout=cfg.request_timeout, connect_timeout=cfg.request_timeout))


def make_worker(services: Any, bot: Any, **kwargs: Any) -> Any:
    """The delivery worker as ``liuyan run`` configures it, in whichever process sends."""
    from bot.delivery.worker import DeliveryWorker

    config, renderer = services.config, services.renderer
    # longer than any one request can take (connect + write + read), so a lease only
    # expires when its process is gone
    lease_seconds = 3 * config.telegram.request_timeout + 5
    return DeliveryWorker(
        services.db, bot, desk_chat_id=config.desk.chat_id,
        lease_seconds=lease_seconds,
        blocked_notice=lambda chat, region: renderer.text("misc.blocked_chat", None, region=region),
        webhooks=webhook_sender(config, renderer, timeout=lease_seconds / 2),
        **kwargs,
    )


def webhook_sender(config: Config, renderer: Any, timeout: float) -> Any:
    """The worker's webhook sender (a POST takes at most ``timeout``, and at most the default)."""
    from bot.delivery.webhooks import TIMEOUT, WebhookSender

    return WebhookSender(config.webhooks, config.schedule.tz, timeout=min(TIMEOUT, timeout),
                         notice=lambda **params: renderer.text("webhook.set_aside", None, **params))


def _report(sock: socket.socket | None, worker: Any) -> None:
    """Tell the parent how this worker is doing (see :meth:`DeliveryProcess._on_report`)."""
    if sock is None:
        return
    age = -1.0 if worker.polled_at is None else time.monotonic() - worker.polled_at
    try:
        sock.send(f"{worker.rate_limited} {age:.1f}\n".encode())
    except (BlockingIOError, OSError):  # a full buffer or a parent gone: the next second tells
        pass


async def run_child(config: Config, wake_fd: int | None, parent: int | None, **worker_kwargs: Any) -> int:
    """``python -m bot deliver``: send the outbox until SIGTERM, or until the parent is gone."""
    from bot.app_context import AppContext

    services = AppContext.create(config)
    bot = make_bot(config)
    await bot.initialize()
    worker = make_worker(services, bot, **worker_kwargs)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    wake_sock = None
    if wake_fd is not None:
        wake_sock = socket.socket(fileno=wake_fd)
        wake_sock.setblocking(False)

        def on_wake() -> None:
            try:
                if not wake_sock.recv(4096):  # the parent closed its end: it is gone
                    stop.set()
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:  # the socket broke: the parent is gone
                stop.set()
            worker.wake()

        loop.add_reader(wake_fd, on_wake)
    await worker.start()
    try:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except TimeoutError:
                _report(wake_sock, worker)
                if parent is not None and os.getppid() != parent:
                    log.warning("delivery: parent %s is gone; stopping", parent)
                    break
    finally:
        if wake_sock is not None:
            loop.remove_reader(wake_fd)  # type: ignore[arg-type]
            wake_sock.close()
        await worker.stop()
        await bot.shutdown()
        services.db.dispose()
    return 0
