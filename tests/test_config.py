"""Tests for bot.config: the contract's example parses as written, every refusal names its key.

A deployer only ever sees the one line naming the key at fault, so each failure case asserts the
exact key path: that line is the interface.
"""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path

import pytest

from bot.config import (
    ChatConfig,
    Config,
    ConfigError,
    OfficerConfig,
    RegionConfig,
    format_error,
    load_config,
    parse_config,
)

ROOT = Path(__file__).resolve().parent.parent

# The config block deployers are given (the shape liuyan.example.toml documents), copied as written.
DOCUMENTED_TOML = """
[telegram]
token = "123456:ABC..."
api_url = "https://api.telegram.org/bot"   # Bot API base; the token is appended (a local Bot API
                                           # server, or a stand-in on 127.0.0.1, works the same way)
[database]
url = "sqlite:///liuyan.db"                # or postgresql://user@host/db

[api]                                      # the intake HTTP API
host = "127.0.0.1"
port = 8080
token = "change-me"                        # bearer token required on every /api/ call

[schedule]
timezone = "Asia/Shanghai"

[leaders]
chat_id = -1001000000001                   # instant alerts, weekly roundup, monthly report

[desk]
chat_id = -1001000000002                   # provincial office: unrouted items, supervision (督办)

[[regions]]
code = "620100"                            # GB/T 2260 code or any unique string
name = "兰州市"
chat_id = -1001000000100
aliases = ["兰州", "城关区", "七里河区"]     # place names inside it, for routing by text

[[officers]]
user_id = 1001                             # Telegram user id
name = "张三"
region = "620100"                          # a region code, or "*" for the provincial office
role = "officer"                           # officer | supervisor | leader
"""

# The contract's example plus more regions and roles: the base for the failure cases below.
BASE = (
    DOCUMENTED_TOML
    + """
[[regions]]
code = "620500"
name = "天水市"
chat_id = -1001000000500
aliases = ["天水", "秦州区", "麦积区"]

[[regions]]
code = "620400"
name = "白银市"
chat_id = -1001000000400
aliases = ["白银区", "会宁县"]

[[officers]]
user_id = 2001
name = "赵六"
region = "*"
role = "supervisor"

[[officers]]
user_id = 3001
name = "钱七"
region = "620500"
role = "leader"
"""
)


def write(tmp_path: Path, text: str, name: str = "liuyan.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Config:
    return load_config(write(tmp_path, text), env={} if env is None else env)


def edit(old: str, new: str, text: str = BASE) -> str:
    """Replace exactly one occurrence, so a case can't silently stop applying."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def refused(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text, env)
    return info.value


# ----------------------------------------------------------------------------------------------
# What must parse
# ----------------------------------------------------------------------------------------------


def test_contract_example_parses_as_written(tmp_path: Path) -> None:
    cfg = load(tmp_path, DOCUMENTED_TOML)
    assert cfg.telegram.token == "123456:ABC..."
    assert cfg.telegram.api_url == "https://api.telegram.org/bot"
    assert cfg.telegram.mode == "polling"
    assert cfg.database.url == "sqlite:///liuyan.db"
    assert (cfg.api.host, cfg.api.port, cfg.api.token) == ("127.0.0.1", 8080, "change-me")
    assert cfg.schedule.timezone == "Asia/Shanghai"
    assert str(cfg.schedule.tz) == "Asia/Shanghai"
    assert cfg.leaders == ChatConfig(-1001000000001)
    assert cfg.desk == ChatConfig(-1001000000002)
    assert cfg.regions == (
        RegionConfig("620100", "兰州市", -1001000000100, ("兰州", "城关区", "七里河区")),
    )
    assert cfg.officers == (OfficerConfig(1001, "张三", "620100", "officer", None),)
    assert cfg.language == "zh"
    assert cfg.source_path == (tmp_path / "liuyan.toml").absolute()


def test_defaults(tmp_path: Path) -> None:
    cfg = load(tmp_path, DOCUMENTED_TOML)
    s = cfg.schedule
    assert s.tick_seconds == 60
    assert (s.office_start, s.office_end) == (time(9), time(18))
    assert (s.quiet_start, s.quiet_end) == (time(21), time(8))
    assert (s.weekly_day, s.weekly_time, s.monthly_day, s.monthly_time) == ("mon", time(9), 1, time(9))
    assert s.overdue_repeat_time == time(9, 30)
    assert cfg.telegram.webhook_path == "/telegram/webhook"
    assert cfg.telegram.poll_timeout == 30 and cfg.telegram.request_timeout == 20.0
    assert cfg.api.max_body_bytes == 4 * 1024 * 1024 and cfg.api.max_batch == 1000
    assert cfg.deadlines.ordinary_days == 5 and cfg.deadlines.complex_days == 10
    assert cfg.deadlines.max_extension_days == 15 and cfg.deadlines.supervised_factor == 0.5
    assert cfg.reminders.unclaimed_after_minutes == 120
    assert cfg.reminders.before_deadline == ("50%", "1wd", "2h")
    assert cfg.reminders.quiet_for_urgent is False
    t = cfg.triage
    assert t.urgent_terms is None and t.complex_terms is None and t.exclusions is None
    assert t.sensitivity_threshold is None and t.sensitivity_categories is None
    assert (t.warning_count, t.warning_window_hours) == (5, 24)


def test_lookups(tmp_path: Path) -> None:
    cfg = load(tmp_path, BASE)
    assert cfg.region("620500").name == "天水市"
    assert cfg.region("999999") is None and cfg.region(None) is None
    assert [o.role for o in cfg.officers if o.user_id == 2001] == ["supervisor"]


def test_example_file_parses() -> None:
    cfg = load_config(ROOT / "liuyan.example.toml", env={})
    assert [r.code for r in cfg.regions] == ["620100", "620500", "620400"]
    assert [r.name for r in cfg.regions] == ["兰州市", "天水市", "白银市"]
    assert all(r.aliases for r in cfg.regions)
    roles = [(o.region, o.role) for o in cfg.officers]
    assert {("620100", "officer"), ("620500", "officer"), ("620400", "officer")} <= set(roles)
    assert ("*", "supervisor") in roles and any(role == "leader" for _, role in roles)
    assert cfg.language in ("zh", "en")


def test_example_file_with_every_optional_key_uncommented(tmp_path: Path) -> None:
    """The commented-out settings in the example must be valid too, once a deployer enables them."""
    text = (ROOT / "liuyan.example.toml").read_text(encoding="utf-8")
    pattern = re.compile(r"^# ?([a-z_]+ = .*|\[\[?[a-z_.]+\]\]?)$", re.M)
    enabled = pattern.sub(r"\1", text)
    assert enabled != text
    cfg = load(tmp_path, enabled)
    assert cfg.telegram.webhook_url and cfg.telegram.webhook_secret
    assert cfg.triage.urgent_terms and cfg.triage.complex_terms and cfg.triage.exclusions
    assert cfg.triage.sensitivity_threshold is not None
    assert cfg.triage.sensitivity_categories and cfg.triage.sensitivity_categories[0].terms
    assert cfg.calendar.holidays and cfg.calendar.workdays
    assert cfg.units and cfg.units[0].categories and cfg.claims.lease_hours == 16
    # ... and webhook mode then works.
    cfg = load(tmp_path, enabled.replace('mode = "polling"', 'mode = "webhook"'))
    assert cfg.telegram.mode == "webhook"


def test_every_extension_key(tmp_path: Path) -> None:
    text = (
        'language = "en"\n'
        + BASE
        + """
[[officers]]
user_id = 4001
name = "Li"
region = "620400"
language = "EN"

[deadlines]
ordinary_days = 7
complex_days = 12
max_extension_days = 10
supervised_factor = 1

[reminders]
unclaimed_after_minutes = 30
before_deadline = ["75%", "2wd", "4h", "30m"]
quiet_for_urgent = true

[triage]
urgent_terms = ["火灾"]
complex_terms = []
sensitivity_threshold = 2
exclusions = ["跳楼价"]
warning_count = 3
warning_window_hours = 12

[[triage.sensitivity_categories]]
key = "mass"
name_zh = "群体性事件"
name_en = "Mass incident"
terms = ["堵路", "罢工"]
weight = 1.5

[[triage.sensitivity_categories]]
key = "life"
terms = ["跳楼"]
"""
    )
    text = edit('timezone = "Asia/Shanghai"', 'timezone = "Asia/Shanghai"\n'
                'tick_seconds = 15\noffice_start = "08:30"\noffice_end = 17:30:00\n'
                'quiet_start = "22:00"\nquiet_end = "7:00"\nweekly_day = "Friday"\n'
                'weekly_time = "16:00"\nmonthly_day = 28\nmonthly_time = "10:00"\n'
                'overdue_repeat_time = "09:45"', text)
    text = edit('token = "123456:ABC..."', 'token = "123456:ABC..."\nmode = "webhook"\n'
                'webhook_url = "https://x.example/hook"\nwebhook_secret = "s3cret_-X"\n'
                'webhook_path = "/hook"\npoll_timeout = 0\nrequest_timeout = 5', text)
    cfg = load(tmp_path, text)
    assert cfg.language == "en"
    li = cfg.officers[-1]
    assert (li.user_id, li.language, li.role) == (4001, "en", "officer")
    assert cfg.telegram.mode == "webhook" and cfg.telegram.webhook_secret == "s3cret_-X"
    assert cfg.telegram.request_timeout == 5.0 and isinstance(cfg.telegram.request_timeout, float)
    s = cfg.schedule
    assert (s.office_start, s.office_end, s.quiet_end) == (time(8, 30), time(17, 30), time(7))
    assert (s.weekly_day, s.monthly_day, s.tick_seconds) == ("fri", 28, 15)
    assert cfg.deadlines.supervised_factor == 1.0 and cfg.deadlines.ordinary_days == 7
    assert cfg.reminders.before_deadline == ("75%", "2wd", "4h", "30m")
    assert cfg.reminders.quiet_for_urgent is True
    t = cfg.triage
    assert t.urgent_terms == ("火灾",) and t.complex_terms == () and t.exclusions == ("跳楼价",)
    assert t.sensitivity_threshold == 2.0 and (t.warning_count, t.warning_window_hours) == (3, 12)
    mass, life = t.sensitivity_categories
    assert (mass.key, mass.name_zh, mass.name_en, mass.terms, mass.weight) == (
        "mass", "群体性事件", "Mass incident", ("堵路", "罢工"), 1.5)
    assert (life.name_zh, life.name_en, life.weight) == ("life", "life", 1.0)


def test_bot_section_language(tmp_path: Path) -> None:
    assert load(tmp_path, BASE + '\n[bot]\nlanguage = "en"\n').language == "en"
    assert load(tmp_path, 'language = "en"\n' + BASE + '\n[bot]\nlanguage = "en"\n').language == "en"
    err = refused(tmp_path, 'language = "zh"\n' + BASE + '\n[bot]\nlanguage = "en"\n')
    assert err.key == "bot.language"


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + DOCUMENTED_TOML.encode("utf-8"))
    assert load_config(path, env={}).regions[0].code == "620100"


def test_parse_config_from_dict() -> None:
    import tomllib

    cfg = parse_config(tomllib.loads(BASE), env={}, source_path="x.toml")
    assert len(cfg.regions) == 3 and cfg.source_path == Path("x.toml")


# ----------------------------------------------------------------------------------------------
# Database URLs
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///liuyan.db", "sqlite:///liuyan.db"),
        ("sqlite:///data/x.db", "sqlite:///data/x.db"),
        ("sqlite:////var/lib/liuyan/x.db", "sqlite:////var/lib/liuyan/x.db"),
        ("sqlite://", "sqlite://"),
        ("postgresql://user@host/db", "postgresql+psycopg://user@host/db"),
        ("postgres://u:p@h:5432/db", "postgresql+psycopg://u:p@h:5432/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
    ],
)
def test_database_urls(tmp_path: Path, url: str, expected: str) -> None:
    cfg = load(tmp_path, edit('url = "sqlite:///liuyan.db"', f'url = "{url}"'))
    assert cfg.database.url == expected


@pytest.mark.parametrize("url", ["mysql://u@h/db", "liuyan.db", "postgresql+asyncpg://u@h/db", "http://x"])
def test_bad_database_urls(tmp_path: Path, url: str) -> None:
    err = refused(tmp_path, edit('url = "sqlite:///liuyan.db"', f'url = "{url}"'))
    assert err.key == "database.url"


def test_database_url_password_not_echoed(tmp_path: Path) -> None:
    err = refused(tmp_path, edit('url = "sqlite:///liuyan.db"', 'url = "mysql://u:hunter2@h/db"'))
    assert "hunter2" not in str(err)


# ----------------------------------------------------------------------------------------------
# Environment overrides
# ----------------------------------------------------------------------------------------------


def test_env_overrides_file(tmp_path: Path) -> None:
    env = {
        "LIUYAN_TELEGRAM_TOKEN": "999:ENV",
        "LIUYAN_API_TOKEN": "env-api",
        "LIUYAN_DATABASE_URL": "postgres://u@db/liuyan",
    }
    cfg = load(tmp_path, BASE, env)
    assert cfg.telegram.token == "999:ENV"
    assert cfg.api.token == "env-api"
    assert cfg.database.url == "postgresql+psycopg://u@db/liuyan"


def test_empty_env_does_not_override(tmp_path: Path) -> None:
    env = {"LIUYAN_TELEGRAM_TOKEN": "", "LIUYAN_API_TOKEN": "  ", "LIUYAN_DATABASE_URL": ""}
    cfg = load(tmp_path, BASE, env)
    assert cfg.telegram.token == "123456:ABC..."
    assert cfg.api.token == "change-me"
    assert cfg.database.url == "sqlite:///liuyan.db"


def test_secrets_only_in_env(tmp_path: Path) -> None:
    text = edit('token = "123456:ABC..."\n', "")
    text = edit('token = "change-me"', "", text)
    text = edit('url = "sqlite:///liuyan.db"', "", text)
    env = {"LIUYAN_TELEGRAM_TOKEN": "1:A", "LIUYAN_API_TOKEN": "b"}
    cfg = load(tmp_path, text, env)
    assert (cfg.telegram.token, cfg.api.token, cfg.database.url) == ("1:A", "b", "sqlite:///liuyan.db")
    assert refused(tmp_path, text, {"LIUYAN_API_TOKEN": "b"}).key == "telegram.token"
    assert refused(tmp_path, text, {"LIUYAN_TELEGRAM_TOKEN": "1:A"}).key == "api.token"


def test_bad_env_database_url_names_the_variable(tmp_path: Path) -> None:
    err = refused(tmp_path, BASE, {"LIUYAN_DATABASE_URL": "oracle://x"})
    assert err.key == "database.url" and "LIUYAN_DATABASE_URL" in err.message


def test_env_defaults_to_os_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIUYAN_API_TOKEN", "from-os")
    assert load_config(write(tmp_path, BASE)).api.token == "from-os"


# ----------------------------------------------------------------------------------------------
# Refusals: each names its key
# ----------------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert info.value.key == str(path) and "not found" in info.value.message


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path, env={})
    assert info.value.key == str(tmp_path)


def test_invalid_toml(tmp_path: Path) -> None:
    err = refused(tmp_path, "[telegram]\ntoken = \n")
    assert err.key == "toml" and "line 2" in err.message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "gbk.toml"
    path.write_bytes(DOCUMENTED_TOML.encode("gbk"))
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    assert info.value.key == "toml" and "UTF-8" in info.value.message


def test_error_format(tmp_path: Path) -> None:
    err = refused(tmp_path, edit('region = "620500"', 'region = "620999"'))
    assert err.key == "officers[2].region"
    assert str(err).startswith("officers[2].region: unknown region '620999'")
    assert format_error(err) == f"config error: {err}"
    assert "\n" not in format_error(err)
    assert format_error(ConfigError("a.b", "bad")) == "config error: a.b: bad"


def test_officer_region_by_name_gets_a_hint(tmp_path: Path) -> None:
    err = refused(tmp_path, edit('region = "620500"', 'region = "天水"'))
    assert err.key == "officers[2].region" and "'620500'" in err.message


def test_unknown_key_suggests(tmp_path: Path) -> None:
    err = refused(tmp_path, edit("port = 8080", "prot = 8080"))
    assert err.key == "api.prot" and "did you mean 'port'" in err.message
    err = refused(tmp_path, "regoins = 1\n" + BASE)
    assert err.key == "regoins" and "'regions'" in err.message
    err = refused(tmp_path, BASE + "\n[[officers]]\nuser_id = 5\nname = \"x\"\nregion = \"*\"\nrloe = \"leader\"\n")
    assert err.key == "officers[3].rloe" and "'role'" in err.message


CASES = [
    # (old, new, expected key) — `old` is replaced once in BASE; old == "" appends `new`.
    # Missing required keys.
    ('token = "123456:ABC..."\n', "", "telegram.token"),
    ('token = "change-me"', "", "api.token"),
    ("chat_id = -1001000000001", "", "leaders.chat_id"),
    ("chat_id = -1001000000002", "", "desk.chat_id"),
    ('code = "620500"', "", "regions[1].code"),
    ('name = "白银市"', "", "regions[2].name"),
    ("chat_id = -1001000000400", "", "regions[2].chat_id"),
    ("user_id = 2001", "", "officers[1].user_id"),
    ('name = "赵六"', "", "officers[1].name"),
    ('region = "*"', "", "officers[1].region"),
    # Wrong types.
    ('token = "123456:ABC..."', "token = 123456", "telegram.token"),
    ('token = "123456:ABC..."', 'token = "12 34:AB"', "telegram.token"),
    ('token = "123456:ABC..."', 'token = ""', "telegram.token"),
    ("port = 8080", 'port = "8080"', "api.port"),
    ("port = 8080", "port = true", "api.port"),
    ("port = 8080", "port = 8080.0", "api.port"),
    ('host = "127.0.0.1"', "host = 127", "api.host"),
    ("chat_id = -1001000000001", 'chat_id = "-1001000000001"', "leaders.chat_id"),
    ("chat_id = -1001000000002", "chat_id = 0", "desk.chat_id"),
    ("chat_id = -1001000000500", 'chat_id = "-1001000000500"', "regions[1].chat_id"),
    ("chat_id = -1001000000500", "chat_id = true", "regions[1].chat_id"),
    ('code = "620500"', "code = 620500", "regions[1].code"),
    ('aliases = ["白银区", "会宁县"]', 'aliases = "白银区"', "regions[2].aliases"),
    ('aliases = ["白银区", "会宁县"]', 'aliases = ["白银区", 3]', "regions[2].aliases[1]"),
    ('aliases = ["白银区", "会宁县"]', 'aliases = ["白银区", " "]', "regions[2].aliases[1]"),
    ("user_id = 2001", 'user_id = "2001"', "officers[1].user_id"),
    ("user_id = 2001", "user_id = -5", "officers[1].user_id"),
    ('role = "supervisor"', "role = 1", "officers[1].role"),
    ('url = "sqlite:///liuyan.db"', "url = 5", "database.url"),
    ('timezone = "Asia/Shanghai"', "timezone = 8", "schedule.timezone"),
    # Section shapes.
    ("[api]", "[[api]]", "api"),
    # Regions.
    ('code = "620500"', 'code = "620100"', "regions[1].code"),
    ('code = "620500"', 'code = "*"', "regions[1].code"),
    ("chat_id = -1001000000500", "chat_id = -1001000000100", "regions[1].chat_id"),
    ("chat_id = -1001000000400", "chat_id = -1001000000002", "regions[2].chat_id"),
    ("chat_id = -1001000000400", "chat_id = -1001000000001", "regions[2].chat_id"),
    ('aliases = ["白银区", "会宁县"]', 'aliases = ["白银区", "城关区"]', "regions[2].aliases[1]"),
    ('aliases = ["白银区", "会宁县"]', 'aliases = ["天水市"]', "regions[2].aliases[0]"),
    ('aliases = ["白银区", "会宁县"]', 'aliases = ["620100"]', "regions[2].aliases[0]"),
    ('name = "白银市"', 'name = "兰州"', "regions[2].name"),
    # Officers.
    ('region = "620500"', 'region = "620999"', "officers[2].region"),
    ('role = "supervisor"', 'role = "admin"', "officers[1].role"),
    ("user_id = 3001", "user_id = 1001", "officers[2].user_id"),
    ("user_id = 3001", "user_id = 3001\nlanguage = \"fr\"", "officers[2].language"),
    # Schedule.
    ('timezone = "Asia/Shanghai"', 'timezone = "Asia/Beijing"', "schedule.timezone"),
    ('timezone = "Asia/Shanghai"', 'timezone = ""', "schedule.timezone"),
    ('timezone = "Asia/Shanghai"', 'timezone = "../../etc/passwd"', "schedule.timezone"),
    ('timezone = "Asia/Shanghai"', 'office_start = "9am"', "schedule.office_start"),
    ('timezone = "Asia/Shanghai"', 'office_end = "24:00"', "schedule.office_end"),
    ('timezone = "Asia/Shanghai"', 'quiet_start = "21:60"', "schedule.quiet_start"),
    ('timezone = "Asia/Shanghai"', "quiet_end = 8", "schedule.quiet_end"),
    ('timezone = "Asia/Shanghai"', 'office_start = "18:00"\noffice_end = "09:00"', "schedule.office_end"),
    ('timezone = "Asia/Shanghai"', 'weekly_day = "mo"', "schedule.weekly_day"),
    ('timezone = "Asia/Shanghai"', "weekly_day = 1", "schedule.weekly_day"),
    ('timezone = "Asia/Shanghai"', 'weekly_time = "9"', "schedule.weekly_time"),
    ('timezone = "Asia/Shanghai"', "monthly_day = 29", "schedule.monthly_day"),
    ('timezone = "Asia/Shanghai"', "monthly_day = 0", "schedule.monthly_day"),
    ('timezone = "Asia/Shanghai"', 'monthly_time = "noon"', "schedule.monthly_time"),
    ('timezone = "Asia/Shanghai"', 'overdue_repeat_time = "9:3"', "schedule.overdue_repeat_time"),
    ('timezone = "Asia/Shanghai"', "tick_seconds = 0", "schedule.tick_seconds"),
    ('timezone = "Asia/Shanghai"', "zone = 1", "schedule.zone"),
    # API.
    ("port = 8080", "port = 65536", "api.port"),
    ("port = 8080", "port = -1", "api.port"),
    ("port = 8080", "port = 8080\nmax_batch = 0", "api.max_batch"),
    ("port = 8080", "port = 8080\nmax_body_bytes = 0", "api.max_body_bytes"),
    # Telegram.
    ('api_url = "https://api.telegram.org/bot"', 'api_url = "api.telegram.org/bot"', "telegram.api_url"),
    ('api_url = "https://api.telegram.org/bot"', 'api_url = "ftp://x/bot"', "telegram.api_url"),
    ('token = "123456:ABC..."', 'token = "1:A"\nmode = "push"', "telegram.mode"),
    ('token = "123456:ABC..."', 'token = "1:A"\nmode = "webhook"\nwebhook_secret = "abc"', "telegram.webhook_url"),
    ('token = "123456:ABC..."', 'token = "1:A"\nmode = "webhook"\nwebhook_url = "https://x/h"', "telegram.webhook_secret"),
    ('token = "123456:ABC..."', 'token = "1:A"\nwebhook_secret = "has space"', "telegram.webhook_secret"),
    ('token = "123456:ABC..."', 'token = "1:A"\nwebhook_secret = "' + "a" * 257 + '"', "telegram.webhook_secret"),
    ('token = "123456:ABC..."', 'token = "1:A"\nwebhook_secret = ""', "telegram.webhook_secret"),
    ('token = "123456:ABC..."', 'token = "1:A"\nwebhook_url = "x.example/h"', "telegram.webhook_url"),
    ('token = "123456:ABC..."', 'token = "1:A"\nwebhook_path = "hook"', "telegram.webhook_path"),
    ('token = "123456:ABC..."', 'token = "1:A"\npoll_timeout = -1', "telegram.poll_timeout"),
    ('token = "123456:ABC..."', 'token = "1:A"\nrequest_timeout = 0', "telegram.request_timeout"),
    ('token = "123456:ABC..."', 'token = "1:A"\nrequest_timeout = "20"', "telegram.request_timeout"),
    # Database.
    ('url = "sqlite:///liuyan.db"', 'url = ""', "database.url"),
    ('url = "sqlite:///liuyan.db"', 'uri = "sqlite:///liuyan.db"', "database.uri"),
    # Deadlines, reminders, triage.
    ("", "\n[deadlines]\nordinary_days = 0\n", "deadlines.ordinary_days"),
    ("", "\n[deadlines]\nordinary_days = 10\ncomplex_days = 5\n", "deadlines.complex_days"),
    ("", "\n[deadlines]\nmax_extension_days = -1\n", "deadlines.max_extension_days"),
    ("", "\n[deadlines]\nsupervised_factor = 0\n", "deadlines.supervised_factor"),
    ("", "\n[deadlines]\nsupervised_factor = 1.5\n", "deadlines.supervised_factor"),
    ("", "\n[deadlines]\nordinary_days = true\n", "deadlines.ordinary_days"),
    ("", "\n[reminders]\nbefore_deadline = [\"50%\", \"0%\"]\n", "reminders.before_deadline[1]"),
    ("", "\n[reminders]\nbefore_deadline = [\"100%\"]\n", "reminders.before_deadline[0]"),
    ("", "\n[reminders]\nbefore_deadline = [\"1d\"]\n", "reminders.before_deadline[0]"),
    ("", "\n[reminders]\nbefore_deadline = [\"2 hours\"]\n", "reminders.before_deadline[0]"),
    ("", "\n[reminders]\nbefore_deadline = [\"0h\"]\n", "reminders.before_deadline[0]"),
    ("", "\n[reminders]\nbefore_deadline = \"2h\"\n", "reminders.before_deadline"),
    ("", "\n[reminders]\nbefore_deadline = [2]\n", "reminders.before_deadline[0]"),
    ("", "\n[reminders]\nquiet_for_urgent = 1\n", "reminders.quiet_for_urgent"),
    ("", "\n[reminders]\nunclaimed_after_minutes = 0\n", "reminders.unclaimed_after_minutes"),
    ("", "\n[reminders]\nunclaimed_after_minutes = 525601\n", "reminders.unclaimed_after_minutes"),
    ("", "\n[triage]\nwarning_window_hours = 8761\n", "triage.warning_window_hours"),
    ("", "\n[triage]\nurgent_terms = \"火灾\"\n", "triage.urgent_terms"),
    ("", "\n[triage]\nexclusions = [\"\"]\n", "triage.exclusions[0]"),
    ("", "\n[triage]\nsensitivity_threshold = -1\n", "triage.sensitivity_threshold"),
    ("", "\n[triage]\nsensitivity_threshold = \"high\"\n", "triage.sensitivity_threshold"),
    ("", "\n[triage]\nwarning_count = 0\n", "triage.warning_count"),
    ("", "\n[triage]\nwarning_window_hours = 0\n", "triage.warning_window_hours"),
    ("", "\n[triage]\nurgent_term = []\n", "triage.urgent_term"),
    ("", "\n[[triage.sensitivity_categories]]\nname_zh = \"x\"\nterms = [\"a\"]\n",
     "triage.sensitivity_categories[0].key"),
    ("", "\n[[triage.sensitivity_categories]]\nkey = \"x\"\n", "triage.sensitivity_categories[0].terms"),
    ("", "\n[[triage.sensitivity_categories]]\nkey = \"x\"\nterms = [\"a\"]\nweight = -1\n",
     "triage.sensitivity_categories[0].weight"),
    ("", "\n[[triage.sensitivity_categories]]\nkey = \"x\"\nterms = [\"a\"]\nwieght = 1\n",
     "triage.sensitivity_categories[0].wieght"),
    ("", "\n[[triage.sensitivity_categories]]\nkey = \"x\"\nterms = [\"a\"]\n"
         "[[triage.sensitivity_categories]]\nkey = \"x\"\nterms = [\"b\"]\n",
     "triage.sensitivity_categories[1].key"),
    ("", "\n[triage.sensitivity_categories]\nkey = \"x\"\n", "triage.sensitivity_categories"),
    ("", "\n[calendar]\nholidays = [\"2027-02-30\"]\n", "calendar.holidays[0]"),
    ("", "\n[calendar]\nholidays = [\"2027-01-01\", \"1/2/2027\"]\n", "calendar.holidays[1]"),
    ("", "\n[calendar]\nholidays = [2027-01-01T00:00:00]\n", "calendar.holidays[0]"),
    ("", "\n[calendar]\nholidays = \"2027-01-01\"\n", "calendar.holidays"),
    ("", "\n[calendar]\nworkdays = [20270214]\n", "calendar.workdays[0]"),
    ("", "\n[calendar]\nworkdays = [\"2027-02-14\", \"2027-02-14\"]\n", "calendar.workdays[1]"),
    ("", "\n[calendar]\nholidays = [\"2027-01-01\", \"2027-02-14\"]\nworkdays = [\"2027-02-14\"]\n",
     "calendar.workdays[0]"),
    ("", "\n[calendar]\nholiday = [\"2027-01-01\"]\n", "calendar.holiday"),
    ("", "\n[bot]\nlanguage = \"fr\"\n", "bot.language"),
    ("", "\n[bot]\nlang = \"en\"\n", "bot.lang"),
]


@pytest.mark.parametrize(("old", "new", "key"), CASES, ids=[c[2] + ":" + c[1][:30] for c in CASES])
def test_refusal_names_the_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    text = BASE + new if old == "" else edit(old, new)
    err = refused(tmp_path, text)
    assert err.key == key, str(err)
    assert err.message and "\n" not in str(err)
    assert str(err) == f"{err.key}: {err.message}"


def test_top_level_language(tmp_path: Path) -> None:
    assert refused(tmp_path, 'language = "de"\n' + BASE).key == "language"
    assert refused(tmp_path, "language = 1\n" + BASE).key == "language"
    assert load(tmp_path, 'language = " EN "\n' + BASE).language == "en"


def test_no_regions(tmp_path: Path) -> None:
    text = DOCUMENTED_TOML.split("[[regions]]")[0]
    assert refused(tmp_path, text).key == "regions"


def test_section_shapes(tmp_path: Path) -> None:
    text = 'desk = "x"\n' + edit("[desk]\nchat_id = -1001000000002", "")
    assert refused(tmp_path, text).key == "desk"
    err = refused(tmp_path, DOCUMENTED_TOML.replace("[[regions]]", "[regions]"))
    assert err.key == "regions" and "[[regions]]" in err.message
    assert refused(tmp_path, "regions = [1]\n" + DOCUMENTED_TOML.split("[[regions]]")[0]).key == "regions[0]"


def test_aliases_may_repeat_within_one_region(tmp_path: Path) -> None:
    cfg = load(tmp_path, edit('aliases = ["白银区", "会宁县"]', 'aliases = ["白银区", "白银市", "620400"]'))
    assert cfg.region("620400").aliases == ("白银区", "白银市", "620400")


def test_ambiguous_alias_is_case_insensitive(tmp_path: Path) -> None:
    text = edit('aliases = ["白银区", "会宁县"]', 'aliases = ["Baiyin"]')
    text = edit('aliases = ["天水", "秦州区", "麦积区"]', 'aliases = ["BAIYIN"]', text)
    err = refused(tmp_path, text)
    assert err.key == "regions[2].aliases[0]" and "620500" in err.message


# ----------------------------------------------------------------------------------------------
# Reminder points, calendar
# ----------------------------------------------------------------------------------------------


def test_reminder_points_are_stored_in_their_canonical_form(tmp_path: Path) -> None:
    cfg = load(tmp_path, BASE + '\n[reminders]\nbefore_deadline = [" 50 %", "1WD", "30M"]\n')
    assert cfg.reminders.before_deadline == ("50%", "1wd", "30m")


def test_reminder_point_refusal_says_the_forms(tmp_path: Path) -> None:
    err = refused(tmp_path, BASE + '\n[reminders]\nbefore_deadline = ["soon"]\n')
    assert err.key == "reminders.before_deadline[0]"
    assert all(form in err.message for form in ("'N%'", "'Nwd'", "'Nh'", "'Nm'"))


def test_calendar_days(tmp_path: Path) -> None:
    from datetime import date

    cfg = load(tmp_path, BASE + '\n[calendar]\nholidays = ["2027-01-01", 2027-02-05]\n'
                                'workdays = [" 2027-02-14 "]\n')
    assert cfg.calendar.holidays == {date(2027, 1, 1), date(2027, 2, 5)}
    assert cfg.calendar.workdays == {date(2027, 2, 14)}
    assert load(tmp_path, BASE).calendar.holidays == frozenset()


def test_calendar_day_in_both_lists_names_both(tmp_path: Path) -> None:
    err = refused(tmp_path, BASE + '\n[calendar]\nholidays = ["2027-02-14"]\nworkdays = ["2027-02-14"]\n')
    assert err.key == "calendar.workdays[0]" and "calendar.holidays[0]" in err.message


def test_builtin_word_lists_have_the_shape_of_the_triage_section(tmp_path: Path) -> None:
    """The built-in lists are data in the config's own shape: the keys both have pass the config's
    checks as a [triage] section and give the very lists the rules use by default."""
    import tomllib

    from bot.rules.priority import DEFAULT_COMPLEX_TERMS, DEFAULT_URGENT_TERMS
    from bot.rules.sensitivity import DEFAULT_CATEGORIES, DEFAULT_EXCLUSIONS, DEFAULT_THRESHOLD
    from bot.rules.wordlists import builtin

    data = tomllib.loads(BASE)
    shared = ("urgent_terms", "complex_terms", "exclusions", "sensitivity_threshold")
    data["triage"] = {key: builtin()[key] for key in shared}
    data["triage"]["sensitivity_categories"] = [
        {k: v for k, v in c.items() if k != "weak_terms"} for c in builtin()["sensitivity_categories"]]
    t = parse_config(data, env={}).triage
    assert (t.urgent_terms, t.complex_terms) == (DEFAULT_URGENT_TERMS, DEFAULT_COMPLEX_TERMS)
    assert (t.exclusions, t.sensitivity_threshold) == (DEFAULT_EXCLUSIONS, DEFAULT_THRESHOLD)
    assert [(c.key, c.terms, c.weight) for c in t.sensitivity_categories] == [
        (c.key, c.terms, c.weight) for c in DEFAULT_CATEGORIES]
