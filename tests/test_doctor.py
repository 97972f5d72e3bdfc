"""``liuyan doctor`` as an office runs it first: one line per check, exit 1 only when a line fails.

Telegram is the Bot API stand-in on 127.0.0.1; the command runs in a thread as the console would.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from datetime import date
from pathlib import Path

import pytest

from bot.cli import main
from bot.standin import BotApiStandin

TOKEN = "123456:doctor-test-token"
LEADERS, DESK, LANZHOU, TIANSHUI = -1001000000001, -1001000000002, -1001000000100, -1001000000200


def config_text(tmp_path: Path, api_url: str, *, port: int = 0, token: str = TOKEN, calendar: bool = True) -> Path:
    year = date.today().year + 1  # the next 30 days may reach the next year: make it known
    text = f"""
[telegram]
token = "{token}"
api_url = "{api_url}"
[database]
url = "sqlite:///{tmp_path / 'doctor.db'}"
[api]
host = "127.0.0.1"
port = {port}
token = "a-long-random-string"
[leaders]
chat_id = {LEADERS}
[desk]
chat_id = {DESK}
{f'[calendar]{chr(10)}holidays = ["{year}-01-01"]' if calendar else ''}
[[regions]]
code = "620100"
name = "兰州市"
chat_id = {LANZHOU}
aliases = ["兰州", "城关区"]
[[regions]]
code = "620500"
name = "天水市"
chat_id = {TIANSHUI}
[[officers]]
user_id = 1001
name = "张三"
region = "620100"
"""
    path = tmp_path / "liuyan.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
async def standin():  # type: ignore[no-untyped-def]
    async with BotApiStandin(tokens={TOKEN}, enforce_limits=False) as api:
        for chat_id, title in ((LEADERS, "领导专报"), (DESK, "值班台"), (LANZHOU, "兰州市联络群"),
                               (TIANSHUI, "天水市联络群")):
            api.register_chat(chat_id, title, type="supergroup")
        yield api


async def doctor(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = await asyncio.to_thread(main, ["doctor", "--config", str(path)])
    return code, capsys.readouterr().out.splitlines()


def line(lines: list[str], subject: str) -> str:
    found = [ln for ln in lines if ln.split(maxsplit=1)[1].startswith(subject)]
    assert len(found) == 1, (subject, lines)
    return found[0]


async def test_everything_in_order_is_all_ok_and_exit_0(standin: BotApiStandin, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = await doctor(config_text(tmp_path, standin.base_url), capsys)
    assert code == 0, lines
    assert all(ln.startswith("ok ") for ln in lines), lines
    for subject in ("config", "database", "migrations", "telegram", "chat 兰州市", "chat 天水市", "chat leaders",
                    "chat desk", "calendar", "api"):
        line(lines, subject)
    assert "@" in line(lines, "telegram")


async def test_each_fault_is_its_own_failing_line(standin: BotApiStandin, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    standin.set_bot_member(TIANSHUI, "left")  # removed from a region's group
    standin.register_chat(LANZHOU, "兰州市联络群", type="supergroup", is_forum=True)
    standin.set_bot_member(LANZHOU, "administrator", {"can_manage_topics": False})
    with socket.socket() as other:  # another program holds the API port
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        code, lines = await doctor(config_text(tmp_path, standin.base_url, port=port, calendar=False), capsys)
    assert code == 1
    assert line(lines, "chat 天水市").startswith("fail") and str(TIANSHUI) in line(lines, "chat 天水市")
    assert line(lines, "chat 兰州市").startswith("warn")  # a forum where the bot cannot manage topics
    assert line(lines, "api").startswith("fail") and str(port) in line(lines, "api")
    if date.today().month == 12:  # within 30 days of a year the package does not know
        assert line(lines, "calendar").startswith("fail") and "[calendar]" in line(lines, "calendar")
    assert line(lines, "database").startswith("ok")


async def test_a_refused_token_fails_without_a_trace(standin: BotApiStandin, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = await doctor(config_text(tmp_path, standin.base_url, token="123456:revoked"), capsys)
    assert code == 1
    assert line(lines, "telegram").startswith("fail") and "telegram.token" in line(lines, "telegram")
    assert not any("Traceback" in ln or "revoked" in ln for ln in lines)  # the token is not printed


async def test_an_unreachable_bot_api_and_a_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    code, lines = await doctor(config_text(tmp_path, f"http://127.0.0.1:{dead}/bot"), capsys)
    assert code == 1 and line(lines, "telegram").startswith("fail")
    bad = tmp_path / "bad.toml"
    bad.write_text("[telegram]\ntoken = 1\n", encoding="utf-8")
    code, lines = await doctor(bad, capsys)
    assert code == 1 and lines[0].startswith("fail config: config error: telegram.token")


async def test_run_with_a_refused_token_is_one_config_line(standin: BotApiStandin, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    path = config_text(tmp_path, standin.base_url, token="123456:revoked")
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "bot", "run", "--config", str(path),
                                                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err_bytes = await asyncio.wait_for(proc.communicate(), timeout=120)
    err = [ln for ln in err_bytes.decode().splitlines() if ln.strip()]
    assert proc.returncode == 2 and err[-1].startswith("config error: telegram.token"), err
    assert not any("Traceback" in ln for ln in err)
