"""Fixtures: a test config, a clean database (SQLite always; PostgreSQL when
``LIUYAN_TEST_DATABASE_URL`` is set), and the whole service against the local Bot API stand-in."""

from __future__ import annotations

import copy
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Config, parse_config
from storage.db import Database, drop_all

DATA_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"

LANZHOU, TIANSHUI = "620100", "620500"
LANZHOU_CHAT, TIANSHUI_CHAT = -1001000000100, -1001000000200
DESK_CHAT, LEADERS_CHAT = -1001000000002, -1001000000001
ZHANG, LI, WANG, ZHAO, QIAN, STRANGER = 1001, 1002, 1003, 2001, 3001, 9999

BASE_CONFIG: dict[str, Any] = {
    "telegram": {"token": "123456:TEST-token", "api_url": "http://127.0.0.1:1/bot", "poll_timeout": 1},
    "database": {"url": "sqlite:///unused.db"},
    "api": {"host": "127.0.0.1", "port": 0, "token": "test-api-token"},
    "schedule": {"timezone": "Asia/Shanghai"},
    "leaders": {"chat_id": LEADERS_CHAT},
    "desk": {"chat_id": DESK_CHAT},
    "regions": [
        {"code": LANZHOU, "name": "兰州市", "chat_id": LANZHOU_CHAT, "aliases": ["兰州", "城关区", "七里河区"]},
        {"code": TIANSHUI, "name": "天水市", "chat_id": TIANSHUI_CHAT, "aliases": ["天水", "秦州区", "麦积区"]},
    ],
    "officers": [
        {"user_id": ZHANG, "name": "张三", "region": LANZHOU, "role": "officer"},
        {"user_id": LI, "name": "李四", "region": LANZHOU, "role": "officer"},
        {"user_id": WANG, "name": "王五", "region": TIANSHUI, "role": "officer"},
        {"user_id": ZHAO, "name": "赵六", "region": "*", "role": "supervisor"},
        {"user_id": QIAN, "name": "钱七", "region": "*", "role": "leader"},
    ],
}


def make_config(db_url: str, **overrides: Any) -> Config:
    data = copy.deepcopy(BASE_CONFIG)
    data["database"]["url"] = db_url
    for path, value in overrides.items():
        node = data
        keys = path.split("__")
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    return parse_config(data, env={})


def database_urls() -> list[str]:
    urls = ["sqlite"]
    if os.environ.get("LIUYAN_TEST_DATABASE_URL"):
        urls.append("postgresql")
    return urls


@pytest.fixture(params=database_urls())
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or the PostgreSQL test database wiped clean."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'liuyan.db'}"
        return
    url = os.environ["LIUYAN_TEST_DATABASE_URL"]
    db = Database(url)
    drop_all(db.engine)
    db.dispose()
    yield url
    db = Database(url)
    drop_all(db.engine)
    db.dispose()


@pytest.fixture
def config(db_url: str) -> Config:
    return make_config(db_url)


@pytest.fixture
def sqlite_config(tmp_path: Path) -> Config:
    return make_config(f"sqlite:///{tmp_path / 'liuyan.db'}")


def data_file(name: str) -> Path:
    path = DATA_DIR / name
    if not path.exists():
        pytest.skip(f"real data not present: {path}")
    return path


def unique_id(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def harness(config: Config) -> AsyncIterator[Harness]:  # noqa: F821 - imported below, lazily
    from tests.harness import Harness

    async with Harness(config) as h:
        yield h


def write_config_file(path: Path, db_url: str) -> Path:
    """The test config (:data:`BASE_CONFIG`) as a TOML file, for driving the CLI."""
    from tests.bench.common import to_toml

    data = copy.deepcopy(BASE_CONFIG)
    data["database"]["url"] = db_url
    path.write_text(to_toml(data), encoding="utf-8")
    return path
