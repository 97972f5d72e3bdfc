"""``[telegram] delivery = "process"``: the service sends from a child process (``liuyan deliver``).

Driven for real: ``liuyan run`` as a subprocess against the Bot API stand-in, on SQLite and
PostgreSQL. What an officer notices must not change: cards arrive, a command is answered at once
(the child is woken, not left to poll), a killed sender is replaced without losing a card, and
stopping the service stops its sender.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import aiohttp

from bot.standin import BotApiStandin
from tests.conftest import LANZHOU, LANZHOU_CHAT, ZHANG
from tests.test_faults import Process, free_port, toml_config


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as fh:
            return [int(p) for p in fh.read().split()]
    except FileNotFoundError:
        return []


async def _until(check, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)  # polling another process's state, with a deadline


async def _post(port: int, items: list[dict[str, str]]) -> list[int]:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"http://127.0.0.1:{port}/api/v1/messages", json=items,
                             headers={"Authorization": "Bearer kill-token"}) as resp:
            assert resp.status == 201, await resp.text()
            return [it["id"] for it in (await resp.json())["items"]]


def _status(port: int, path: str) -> int:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def _cards(standin: BotApiStandin) -> int:
    return sum(1 for m in standin.messages(LANZHOU_CHAT) if "📍" in (m.text or ""))


async def test_a_child_process_sends_answers_at_once_and_is_replaced_when_killed(db_url: str, tmp_path: Path) -> None:
    standin = BotApiStandin(enforce_limits=False)
    await standin.start()
    port = free_port()
    config = tmp_path / "liuyan.toml"
    toml_config(config, api_url=standin.base_url, db_url=db_url, port=port)
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[telegram]\n", '[telegram]\ndelivery = "process"\n', 1), encoding="utf-8")
    proc = Process(config, port, tmp_path / "liuyan.log")
    try:
        await proc.start()
        assert proc.proc is not None
        parent = proc.proc.pid
        (child,) = await _until(lambda: _children(parent), 30, "no sending process started")

        ids = await _post(port, [{"external_id": f"p-{i}", "body": f"第{i}件：路灯不亮。", "region": LANZHOU}
                                 for i in range(3)])
        await _until(lambda: _cards(standin) >= 3, 30, "the child did not post the cards")

        command = standin.inject_message(LANZHOU_CHAT, ZHANG, f"/claim {ids[0]}")
        started = time.monotonic()
        answer = await _until(lambda: [m for m in standin.messages(LANZHOU_CHAT)
                                       if m.reply_to_message_id == command["message_id"]], 30, "no answer")
        # woken through its socket: far sooner than the worker's one-second poll
        assert time.monotonic() - started < 0.9
        assert str(ids[0]) in (answer[0].text or "")

        os.kill(child, signal.SIGKILL)
        (replacement,) = await _until(lambda: [c for c in _children(parent) if c != child], 30,
                                      "the killed sender was not replaced")
        await _post(port, [{"external_id": "p-after", "body": "又一件：路灯不亮。", "region": LANZHOU}])
        await _until(lambda: _cards(standin) >= 4, 30, "the replacement did not post the new card")
        assert _cards(standin) == 4, "a card was posted twice"
        # the service is ready once the sending child reports its polls (its first sweep ran at start)
        await _until(lambda: _status(port, "/readyz") == 200, 30, "/readyz never saw the child poll")

        proc.proc.send_signal(signal.SIGTERM)
        proc.proc.wait(30)
        await _until(lambda: not os.path.exists(f"/proc/{replacement}") or
                     open(f"/proc/{replacement}/stat").read().split()[2] == "Z", 15, "the sender outlived the service")
    finally:
        proc.kill()
        await standin.stop()
