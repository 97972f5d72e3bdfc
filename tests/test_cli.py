"""The ``liuyan`` command as an operator meets it: bad config → one line naming the key, exit ≠ 0."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

GOOD = """
[telegram]
token = "123456:ABC"
api_url = "http://127.0.0.1:9/bot"
[database]
url = "sqlite:///{db}"
[api]
token = "t"
port = 0
[leaders]
chat_id = -1001
[desk]
chat_id = -1002
[[regions]]
code = "620100"
name = "兰州市"
chat_id = -1100
[[officers]]
user_id = 1
name = "张三"
region = "620100"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "liuyan.toml"
    path.write_text(text.replace("{db}", str(tmp_path / "x.db")), encoding="utf-8")
    return path


@pytest.mark.parametrize("mutation, key", [
    (('user_id = 1\nname = "张三"\nregion = "620100"', 'user_id = 1\nname = "张三"\nregion = "999999"'), "officers[0].region"),
    (('chat_id = -1100', 'chat_id = "-1100"'), "regions[0].chat_id"),
    (('token = "123456:ABC"\n', ''), "telegram.token"),
    (('port = 0', 'port = 70000'), "api.port"),
    (('[desk]\nchat_id = -1002', '[desk]\nchat_id = -1100'), "regions[0].chat_id"),
])
def test_bad_config_exits_nonzero_with_one_line_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                              mutation: tuple[str, str], key: str) -> None:
    text = GOOD.replace(*mutation)
    assert text != GOOD
    code = main(["sweep", "--config", str(write(tmp_path, text)), "--no-send"])
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert len(err.splitlines()) == 1 and err.startswith(f"config error: {key}")


def test_missing_config_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["run", "--config", str(tmp_path / "nope.toml")])
    err = capsys.readouterr().err.strip()
    assert code != 0 and len(err.splitlines()) == 1 and "nope.toml" in err


def test_two_regions_on_one_chat(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = GOOD + '\n[[regions]]\ncode = "620500"\nname = "天水市"\nchat_id = -1100\n'
    assert main(["sweep", "--config", str(write(tmp_path, text)), "--no-send"]) != 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("config error: regions[1].chat_id")


def test_env_overrides_a_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIUYAN_TELEGRAM_TOKEN", "999:FROM-ENV")
    path = write(tmp_path, GOOD.replace('token = "123456:ABC"\n', ''))
    assert main(["sweep", "--config", str(path), "--no-send", "--now", "2026-10-09T10:00:00+08:00"]) == 0
    assert "sweep as of 2026-10-09T10:00:00+08:00" in capsys.readouterr().out


def test_sweep_with_nothing_due_needs_no_telegram(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The documented form, without --no-send: with nothing queued the Bot API (here unreachable,
    port 9) is not contacted, and the pass succeeds."""
    path = write(tmp_path, GOOD)
    assert main(["sweep", "--config", str(path), "--now", "2026-10-09T10:00:00+08:00"]) == 0
    assert "nothing due" in capsys.readouterr().out


def test_bad_now_is_one_clear_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    result = subprocess.run([sys.executable, "-m", "bot", "sweep", "--config", str(path), "--now", "tomorrow"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert result.stderr.strip() == "liuyan: --now: not an ISO 8601 time: 'tomorrow'"


def test_db_upgrade_creates_the_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, GOOD)
    assert main(["db", "upgrade", "--config", str(path)]) == 0
    assert (tmp_path / "x.db").exists()


def test_example_config_in_the_repo_is_valid(tmp_path: Path) -> None:
    from bot.config import load_config

    example = Path(__file__).resolve().parents[1] / "liuyan.example.toml"
    config = load_config(example, env={})
    assert config.regions and config.officers


def test_python_dash_m_bot_shows_usage() -> None:
    result = subprocess.run([sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for command in ("run", "sweep", "digest", "demo"):
        assert command in result.stdout


@pytest.mark.parametrize("token", ["", "change-me", "CHANGE-ME", "  Change-Me "])
def test_run_refuses_a_placeholder_api_token(tmp_path: Path, capsys: pytest.CaptureFixture[str], token: str) -> None:
    path = write(tmp_path, GOOD.replace('token = "t"', f'token = "{token}"'))
    assert main(["run", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("config error: api.token: ")
    assert not (tmp_path / "x.db").exists()  # refused before anything was opened


def test_the_environment_replaces_a_placeholder_api_token(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIUYAN_API_TOKEN", "a-real-long-random-token")
    # past the token check, the service stops at the next thing that is wrong: a database that is not there
    path = write(tmp_path, GOOD.replace('token = "t"', 'token = "change-me"').replace(
        "sqlite:///{db}", f"sqlite:///{tmp_path}/missing-folder/x.db"))
    assert main(["run", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "api.token" not in err and err.startswith("database error: database.url")


def test_a_database_that_cannot_be_opened_is_one_line_naming_database_url(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, GOOD.replace("sqlite:///{db}", f"sqlite:///{tmp_path}/missing-folder/x.db"))
    assert main(["sweep", "--config", str(path), "--no-send"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("database error: database.url (sqlite:///") and "unable to open database file" in err


def test_a_database_server_that_does_not_answer_exits_1_so_a_supervisor_retries(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = write(tmp_path, GOOD.replace("sqlite:///{db}", f"postgresql://liuyan:secret@127.0.0.1:{port}/liuyan"))
    assert main(["sweep", "--config", str(path), "--no-send"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("database error: database.url")
    assert "secret" not in err and "Connection refused" in err


def test_digest_says_where_the_report_went_or_that_it_went_nowhere(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, GOOD)
    now = "2026-10-19T09:30:00+08:00"
    assert main(["digest", "weekly", "--config", str(path), "--now", now]) == 0
    out = capsys.readouterr().out
    assert "nothing was written or sent" in out and "--out" in out
    report = tmp_path / "weekly.html"
    assert main(["digest", "weekly", "--config", str(path), "--now", now, "--out", str(report)]) == 0
    assert f"to {report.resolve()}" in capsys.readouterr().out and report.read_text(encoding="utf-8").strip()
    assert main(["digest", "weekly", "--config", str(path), "--now", now, "--out",
                 str(tmp_path / "no-such-folder" / "w.html")]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot write" in err
