"""The deployment's configuration: loading, defaults, validation and environment overrides.

The config file is the one place a deployer states who is who (regions, their chats, the officer
roster) and how the service behaves. A typo there in a government deployment must not pass
silently: a message routed to the wrong chat or a supervisor without rights is worse than a refusal
to start. So this module reads the TOML into frozen dataclasses and refuses anything it does not
understand, with one :class:`ConfigError` naming the exact key at fault
(``officers[2].region: unknown region '620999'``), which the CLI prints as one line and exits.

Secrets may come from the environment instead of the file (``LIUYAN_TELEGRAM_TOKEN``,
``LIUYAN_API_TOKEN``, ``LIUYAN_DATABASE_URL``), so a config file can be committed without them.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from bot.rules.deadlines import parse_reminder_point
from bot.rules.states import ALL_REGIONS, Role
from bot.rules.workdays import WorkCalendar
from storage.urls import normalise_url

__all__ = [
    "ApiConfig",
    "ChatConfig",
    "Config",
    "ConfigError",
    "DatabaseConfig",
    "DeadlinesConfig",
    "FollowupConfig",
    "ENV_API_TOKEN",
    "ENV_DATABASE_URL",
    "ENV_TELEGRAM_TOKEN",
    "OfficerConfig",
    "RegionConfig",
    "RemindersConfig",
    "ScheduleConfig",
    "SensitivityCategoryConfig",
    "TelegramConfig",
    "TriageConfig",
    "UnitConfig",
    "VerificationConfig",
    "format_error",
    "load_config",
    "parse_config",
]

ENV_TELEGRAM_TOKEN = "LIUYAN_TELEGRAM_TOKEN"
ENV_API_TOKEN = "LIUYAN_API_TOKEN"
ENV_DATABASE_URL = "LIUYAN_DATABASE_URL"

LANGUAGES = ("zh", "en")
ROLES = tuple(str(role) for role in Role)
MODES = ("polling", "webhook")
DELIVERY_MODES = ("inline", "process")
from bot.rules.method import WEEKDAYS  # noqa: E402  (one list of weekday names)

_WEEKDAY_NAMES = {
    "monday": "mon", "tuesday": "tue", "wednesday": "wed", "thursday": "thu",
    "friday": "fri", "saturday": "sat", "sunday": "sun",
}

# Telegram's rule for setWebhook's secret_token: 1-256 characters of A-Z a-z 0-9 _ -.
_WEBHOOK_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# Upper bounds of durations: a longer one means nothing to a service that sweeps every minute, and
# date arithmetic with it would overflow.
_HOURS_A_YEAR = 365 * 24
_MINUTES_A_YEAR = _HOURS_A_YEAR * 60
_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_TIME_RE = re.compile(r"^(?P<h>[0-9]{1,2}):(?P<m>[0-9]{2})$")


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class ConfigError(Exception):
    """A config problem, as one line naming the key at fault.

    ``key`` is a path such as ``telegram.token``, ``regions[1].chat_id`` or ``officers[0].role``
    (or the file's path when it cannot be read, or ``toml`` when it is not valid TOML), so the
    deployer knows exactly which line to fix; ``str(err) == f"{key}: {message}"``.
    """

    def __init__(self, key: str, message: str) -> None:
        super().__init__(key, message)
        self.key = key
        self.message = message

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


def format_error(err: ConfigError) -> str:
    """The one line the CLI prints before exiting non-zero."""
    return f"config error: {err.key}: {err.message}"


# --------------------------------------------------------------------------------------------
# The config's shape
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TelegramConfig:
    """How to reach the Bot API and how updates arrive (long polling or a webhook)."""

    token: str
    api_url: str = "https://api.telegram.org/bot"  # the token is appended, as PTB's base_url
    mode: str = "polling"  # "polling" | "webhook"
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_path: str = "/telegram/webhook"
    poll_timeout: int = 30
    request_timeout: float = 20.0
    delivery: str = "inline"  # "inline": sent by the service's own process | "process": by a child process


@dataclass(frozen=True)
class DatabaseConfig:
    """Where the truth lives; PostgreSQL URLs are normalised to the installed psycopg 3 driver."""

    url: str = "sqlite:///liuyan.db"


@dataclass(frozen=True)
class ApiConfig:
    """The intake HTTP API (bearer token on every /api/ call)."""

    host: str = "127.0.0.1"
    port: int = 8080
    token: str = ""
    max_body_bytes: int = 4 * 1024 * 1024
    max_batch: int = 1000


@dataclass(frozen=True)
class ScheduleConfig:
    """The clock of the deployment: its timezone, office and quiet hours, report times."""

    timezone: str = "Asia/Shanghai"
    tick_seconds: int = 60
    office_start: time = time(9, 0)
    office_end: time = time(18, 0)
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    weekly_day: str = "mon"  # mon..sun
    weekly_time: time = time(9, 0)
    monthly_day: int = 1  # 1..28, so every month has it
    monthly_time: time = time(9, 0)
    overdue_repeat_time: time = time(9, 30)

    @property
    def tz(self) -> ZoneInfo:
        """The timezone as a tzinfo (ZoneInfo caches instances, so this is cheap)."""
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class DeadlinesConfig:
    """Working-day deadlines as published local practice sets them."""

    ordinary_days: int = 5
    complex_days: int = 10
    max_extension_days: int = 15
    supervised_factor: float = 0.5  # a supervised (督办) item's remaining time is multiplied by this


@dataclass(frozen=True)
class RemindersConfig:
    """When officers are nudged: unclaimed items, and before each deadline."""

    unclaimed_after_minutes: int = 120
    before_deadline: tuple[str, ...] = ("50%", "1wd", "2h")  # see rules.deadlines.parse_reminder_point
    quiet_for_urgent: bool = False  # True: urgent reminders also wait out quiet hours


@dataclass(frozen=True)
class VerificationConfig:
    """报前核查: when the regions' verification of the items chosen for a roundup is due."""

    due: str = "fri 17:00"  # weekday and time before the roundup, normalised ("fri 17:00")
    remind_before_hours: int = 8  # the one reminder, this long before ``due``
    propose_before_hours: int = 24  # the roundup's key items are proposed to the desk this long before

    @property
    def due_day(self) -> str:
        return self.due.split()[0]

    @property
    def due_time(self) -> time:
        return time.fromisoformat(self.due.split()[1])


@dataclass(frozen=True)
class FollowupConfig:
    """回头看: ``after_days`` working days after a reply, the item's chat is asked whether the
    problem is solved (absent section: off)."""

    after_days: int = 10


@dataclass(frozen=True)
class ClaimsConfig:
    """Claim leases: a claim with neither a reply nor a note for ``lease_hours`` working hours is
    nudged, after twice that it lapses back to unclaimed (None: claims never lapse)."""

    lease_hours: float | None = None


@dataclass(frozen=True)
class SensitivityCategoryConfig:
    """One category of sensitive content (e.g. mass incidents) with its terms and weight."""

    key: str
    name_zh: str
    name_en: str
    terms: tuple[str, ...]
    weight: float = 1.0


@dataclass(frozen=True)
class TriageConfig:
    """Overrides for triage; ``None`` everywhere means "use the built-in defaults"."""

    urgent_terms: tuple[str, ...] | None = None
    complex_terms: tuple[str, ...] | None = None
    sensitivity_threshold: float | None = None
    sensitivity_categories: tuple[SensitivityCategoryConfig, ...] | None = None
    exclusions: tuple[str, ...] | None = None
    warning_count: int = 5  # early warning: N similar messages about one place ...
    warning_window_hours: int = 24  # ... within this many hours


@dataclass(frozen=True)
class ChatConfig:
    """A group chat known by its Telegram chat id (the leaders' chat, the desk)."""

    chat_id: int


@dataclass(frozen=True)
class RegionConfig:
    """A region: its code, name, group chat, and the place names inside it used for routing."""

    code: str
    name: str
    chat_id: int
    aliases: tuple[str, ...] = ()
    # aliases that are everyday words but meant as plain place names: they count wherever they occur
    common_aliases_ok: tuple[str, ...] = ()


@dataclass(frozen=True)
class RoutingConfig:
    """Learned routing: an item whose best suggestion scores at least ``auto_route_above`` is
    routed to it at once (None: never)."""

    auto_route_above: float | None = None


@dataclass(frozen=True)
class UnitConfig:
    """A provincial department (省直部门): a target like a region, with its own group chat, the
    names that send a message to it, and the categories it handles when no region claims one."""

    code: str
    name: str
    chat_id: int
    aliases: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class OfficerConfig:
    """A person in the roster; anyone not here acts on nothing."""

    user_id: int
    name: str
    region: str  # a region's or a unit's code, or "*" for the provincial office
    role: str = "officer"  # officer | supervisor | leader
    language: str | None = None  # None: the deployment's language


@dataclass(frozen=True)
class WebhookConfig:
    """A receiver of events: each one POSTed, signed with ``secret``; ``events`` None: every event."""

    url: str
    secret: str
    events: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Config:
    """The whole deployment's configuration, validated."""

    telegram: TelegramConfig
    database: DatabaseConfig
    api: ApiConfig
    schedule: ScheduleConfig
    leaders: ChatConfig
    desk: ChatConfig
    regions: tuple[RegionConfig, ...]
    officers: tuple[OfficerConfig, ...]
    deadlines: DeadlinesConfig = field(default_factory=DeadlinesConfig)
    reminders: RemindersConfig = field(default_factory=RemindersConfig)
    triage: TriageConfig = field(default_factory=TriageConfig)
    units: tuple[UnitConfig, ...] = ()  # [[units]]: provincial departments, targets like regions
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    calendar: WorkCalendar = field(default_factory=WorkCalendar)  # [calendar] holidays, workdays
    verification: VerificationConfig = field(default_factory=VerificationConfig)
    followup: FollowupConfig | None = None  # None: 回头看 is off
    claims: ClaimsConfig = field(default_factory=ClaimsConfig)
    language: str = "zh"  # the deployment's language for group chats
    webhooks: tuple[WebhookConfig, ...] = ()  # [[webhooks]]: receivers of the items' events
    source_path: Path | None = field(default=None, metadata={"toml": False})  # not a key: where it was read

    def region(self, code: str | None) -> RegionConfig | None:
        """The region with exactly this code, or None."""
        if code is None:
            return None
        for region in self.regions:
            if region.code == code:
                return region
        return None

    def unit(self, code: str | None) -> UnitConfig | None:
        """The unit (department) with exactly this code, or None."""
        return next((u for u in self.units if u.code == code), None) if code is not None else None

    @property
    def targets(self) -> tuple[RegionConfig | UnitConfig, ...]:
        """Regions, then units: everything a message can be routed to."""
        return (*self.regions, *self.units)

    @property
    def target_names(self) -> dict[str, str]:
        """Code → name of every region and unit: what reports and cards call a target."""
        return {t.code: t.name for t in self.targets}

    def target(self, code: str | None) -> RegionConfig | UnitConfig | None:
        """The region or unit with exactly this code (they share one namespace), or None."""
        return self.region(code) or self.unit(code)


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def load_config(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> Config:
    """Read, parse and validate the TOML file at ``path``; ``env`` defaults to ``os.environ``.

    Every failure, including a missing file or broken TOML, is a :class:`ConfigError`, so the CLI
    has one thing to catch and print.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(str(path), "config file not found") from None
    except IsADirectoryError:
        raise ConfigError(str(path), "is a directory, not a config file") from None
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read the config file: {exc.strerror or exc}") from None
    try:
        # utf-8-sig: editors on Windows like to write a BOM, which tomllib would reject.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError("toml", f"{path} is not valid UTF-8 (byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("toml", f"{exc} in {path}") from None
    return parse_config(data, env=env, source_path=Path(os.path.abspath(p)))


def parse_config(
    data: dict[str, Any],
    env: Mapping[str, str] | None = None,
    source_path: str | os.PathLike[str] | None = None,
) -> Config:
    """Validate an already-parsed TOML document (tests, the demo) into a :class:`Config`."""
    if env is None:
        env = os.environ
    if not isinstance(data, dict):
        raise ConfigError("toml", "the config must be a TOML table at the top level")
    _check_keys(data, "", _TOP_KEYS)

    telegram = _parse_telegram(_section(data, "telegram"), env)
    database = _parse_database(_section(data, "database"), env)
    api = _parse_api(_section(data, "api"), env)
    schedule = _parse_schedule(_section(data, "schedule"))
    leaders = _parse_chat(data, "leaders")
    desk = _parse_chat(data, "desk")
    regions = _parse_regions(data, leaders, desk)
    units = _parse_units(data, regions, leaders, desk)
    officers = _parse_officers(data, (*regions, *units))
    deadlines = _parse_deadlines(_section(data, "deadlines"))
    reminders = _parse_reminders(_section(data, "reminders"))
    triage = _parse_triage(_section(data, "triage"))
    routing = _parse_routing(_section(data, "routing"))
    calendar = _parse_calendar(_section(data, "calendar"))
    verification = _parse_verification(_section(data, "verification"), schedule)
    followup = _parse_followup(_section(data, "followup")) if "followup" in data else None
    language = _parse_language(data)
    claims = _parse_claims(_section(data, "claims"))
    webhooks = _parse_webhooks(data)

    return Config(
        telegram=telegram,
        database=database,
        api=api,
        schedule=schedule,
        leaders=leaders,
        desk=desk,
        regions=regions,
        officers=officers,
        deadlines=deadlines,
        reminders=reminders,
        triage=triage,
        units=units,
        routing=routing,
        calendar=calendar,
        verification=verification,
        followup=followup,
        language=language,
        claims=claims,
        webhooks=webhooks,
        source_path=Path(source_path) if source_path is not None else None,
    )


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------

def _keys(shape: type) -> tuple[str, ...]:
    """The keys a table may hold: the fields of the dataclass it becomes (one list, not two)."""
    return tuple(f.name for f in fields(shape) if f.metadata.get("toml", True))


# [bot] language is an older spelling of the top-level language.
_TOP_KEYS = (*_keys(Config), "bot")
_SECTION_SHAPES: dict[str, type] = {
    "telegram": TelegramConfig,
    "database": DatabaseConfig,
    "api": ApiConfig,
    "schedule": ScheduleConfig,
    "leaders": ChatConfig,
    "desk": ChatConfig,
    "deadlines": DeadlinesConfig,
    "reminders": RemindersConfig,
    "triage": TriageConfig,
    "routing": RoutingConfig,
    "calendar": WorkCalendar,
    "verification": VerificationConfig,
    "followup": FollowupConfig,
    "claims": ClaimsConfig,
}
_SECTION_KEYS: dict[str, tuple[str, ...]] = {name: _keys(shape) for name, shape in _SECTION_SHAPES.items()}
_SECTION_KEYS["bot"] = ("language",)


def _parse_telegram(sec: _Section, env: Mapping[str, str]) -> TelegramConfig:
    d = TelegramConfig(token="")
    file_token = sec.opt("token", _str, None)
    token = _env(env, ENV_TELEGRAM_TOKEN) or file_token
    if not token:
        raise ConfigError(
            sec.key("token"), f"required (or set the environment variable {ENV_TELEGRAM_TOKEN})"
        )
    if any(c.isspace() for c in token) or "/" in token:
        where = ENV_TELEGRAM_TOKEN if _env(env, ENV_TELEGRAM_TOKEN) else sec.key("token")
        # The token becomes part of every request URL; a space or slash breaks it silently.
        raise ConfigError(where, "a bot token has no spaces or slashes (it looks like 123456:ABC...)")

    api_url = sec.opt("api_url", _str, d.api_url)
    if not api_url.startswith(("http://", "https://")):
        raise ConfigError(sec.key("api_url"), f"must start with http:// or https://, got {api_url!r}")

    mode = sec.opt("mode", _choice(MODES), d.mode)

    webhook_url = sec.opt("webhook_url", _str, None)
    if webhook_url is not None and not webhook_url.startswith(("http://", "https://")):
        raise ConfigError(
            sec.key("webhook_url"), f"must start with https:// (or http://), got {webhook_url!r}"
        )
    webhook_secret = sec.opt("webhook_secret", _str_raw, None)
    if webhook_secret is not None and not _WEBHOOK_SECRET_RE.match(webhook_secret):
        raise ConfigError(
            sec.key("webhook_secret"),
            "must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule for secret_token)",
        )
    if mode == "webhook":
        if webhook_url is None:
            raise ConfigError(sec.key("webhook_url"), "required when mode = \"webhook\"")
        if webhook_secret is None:
            raise ConfigError(sec.key("webhook_secret"), "required when mode = \"webhook\"")

    webhook_path = sec.opt("webhook_path", _str, d.webhook_path)
    if not webhook_path.startswith("/"):
        raise ConfigError(sec.key("webhook_path"), f"must start with '/', got {webhook_path!r}")

    poll_timeout = sec.opt("poll_timeout", _int_range(0, 3600), d.poll_timeout)
    request_timeout = sec.opt("request_timeout", _positive_float, d.request_timeout)
    delivery = sec.opt("delivery", _choice(DELIVERY_MODES), d.delivery)
    return TelegramConfig(
        token=token,
        api_url=api_url,
        mode=mode,
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        webhook_path=webhook_path,
        poll_timeout=poll_timeout,
        request_timeout=request_timeout,
        delivery=delivery,
    )


def _parse_database(sec: _Section, env: Mapping[str, str]) -> DatabaseConfig:
    file_url = sec.opt("url", _str, DatabaseConfig().url)
    env_url = _env(env, ENV_DATABASE_URL)
    url = env_url or file_url
    try:
        return DatabaseConfig(url=normalise_url(url))
    except ValueError as exc:
        origin = f" (set by {ENV_DATABASE_URL})" if env_url else ""
        raise ConfigError(sec.key("url"), f"{exc}{origin}") from None


def _parse_api(sec: _Section, env: Mapping[str, str]) -> ApiConfig:
    d = ApiConfig()
    host = sec.opt("host", _str, d.host)
    port = sec.opt("port", _int_range(0, 65535), d.port)
    file_token = sec.opt("token", _str, None)
    token = _env(env, ENV_API_TOKEN) or file_token
    if not token:
        raise ConfigError(sec.key("token"), f"required (or set the environment variable {ENV_API_TOKEN})")
    max_body = sec.opt("max_body_bytes", _int_range(1, None), d.max_body_bytes)
    max_batch = sec.opt("max_batch", _int_range(1, None), d.max_batch)
    return ApiConfig(host=host, port=port, token=token, max_body_bytes=max_body, max_batch=max_batch)


def _parse_schedule(sec: _Section) -> ScheduleConfig:
    d = ScheduleConfig()
    timezone = sec.opt("timezone", _str, d.timezone)
    try:
        ZoneInfo(timezone)
    except Exception:  # ZoneInfoNotFoundError (a KeyError), ValueError, OSError on odd paths
        raise ConfigError(
            sec.key("timezone"), f"unknown timezone {timezone!r}; use an IANA name such as 'Asia/Shanghai'"
        ) from None
    office_start = sec.opt("office_start", _time, d.office_start)
    office_end = sec.opt("office_end", _time, d.office_end)
    if office_end <= office_start:
        raise ConfigError(
            sec.key("office_end"),
            f"must be later than office_start ({office_start:%H:%M}), got {office_end:%H:%M}",
        )
    return ScheduleConfig(
        timezone=timezone,
        tick_seconds=sec.opt("tick_seconds", _int_range(1, 86400), d.tick_seconds),
        office_start=office_start,
        office_end=office_end,
        quiet_start=sec.opt("quiet_start", _time, d.quiet_start),
        quiet_end=sec.opt("quiet_end", _time, d.quiet_end),
        weekly_day=sec.opt("weekly_day", _weekday, d.weekly_day),
        weekly_time=sec.opt("weekly_time", _time, d.weekly_time),
        monthly_day=sec.opt("monthly_day", _int_range(1, 28), d.monthly_day),
        monthly_time=sec.opt("monthly_time", _time, d.monthly_time),
        overdue_repeat_time=sec.opt("overdue_repeat_time", _time, d.overdue_repeat_time),
    )


def _parse_chat(data: dict[str, Any], name: str) -> ChatConfig:
    sec = _section(data, name)
    chat_id = sec.req("chat_id", _chat_id)
    return ChatConfig(chat_id=chat_id)


def _parse_regions(
    data: dict[str, Any], leaders: ChatConfig, desk: ChatConfig
) -> tuple[RegionConfig, ...]:
    tables = _array_of_tables(data, "regions", "regions")
    if not tables:
        raise ConfigError("regions", "at least one region is required ([[regions]] with code, name, chat_id)")
    regions: list[RegionConfig] = []
    # Every string that names a region (code, name, alias), normalised, -> (region index, key).
    # Routing and /route look regions up by any of these, so one string naming two regions
    # would make routing depend on list order: refuse it here instead.
    names: dict[str, tuple[int, str]] = {}
    chats: dict[int, str] = {
        leaders.chat_id: "the leaders' chat (leaders.chat_id)",
        desk.chat_id: "the desk chat (desk.chat_id)",
    }

    for i, table in enumerate(tables):
        sec = _Section(table, f"regions[{i}]")
        sec.check_keys(_keys(RegionConfig))
        code, name, chat_id, aliases = _target_basics(sec)
        meant = sec.opt("common_aliases_ok", _str_list, ())
        for k, word in enumerate(meant):
            if _norm(word) not in {_norm(a) for a in aliases}:
                raise ConfigError(sec.key(f"common_aliases_ok[{k}]"),
                                  f"{word!r} is not one of this region's aliases")

        for j, prev in enumerate(regions):
            if prev.code == code:
                raise ConfigError(sec.key("code"), f"duplicate region code {code!r} (also regions[{j}])")
        if chat_id in chats:
            raise ConfigError(
                sec.key("chat_id"),
                f"chat {chat_id} is already {chats[chat_id]}; each region needs its own group chat",
            )
        chats[chat_id] = f"the chat of region {code} ({sec.key('chat_id')})"

        own = [(sec.key("code"), code), (sec.key("name"), name)]
        own += [(sec.key(f"aliases[{k}]"), a) for k, a in enumerate(aliases)]
        for key, value in own:
            n = _norm(value)
            if n in names and names[n][0] != i:
                j, other_key = names[n]
                raise ConfigError(
                    key,
                    f"{value!r} already names region {regions[j].code} ({regions[j].name}) at "
                    f"{other_key}; a name that points to two regions is ambiguous",
                )
            names.setdefault(n, (i, key))
        regions.append(RegionConfig(code=code, name=name, chat_id=chat_id, aliases=aliases,
                                    common_aliases_ok=meant))
    return tuple(regions)


def _target_basics(sec: _Section) -> tuple[str, str, int, tuple[str, ...]]:
    """What a region and a unit both have: code (not ``*``), name, chat id, aliases."""
    code: str = sec.req("code", _str)
    if code == ALL_REGIONS:
        raise ConfigError(sec.key("code"), "'*' is reserved for the provincial office (officers' region)")
    name: str = sec.req("name", _str)
    chat_id: int = sec.req("chat_id", _chat_id)
    aliases: tuple[str, ...] = sec.opt("aliases", _str_list, ())
    return code, name, chat_id, aliases


def _parse_units(data: dict[str, Any], regions: tuple[RegionConfig, ...], leaders: ChatConfig,
                 desk: ChatConfig) -> tuple[UnitConfig, ...]:
    """``[[units]]``: departments share the regions' namespace (a code, name or alias names one
    target, region or unit) and each has its own chat; a category is one of the platform's and
    belongs to at most one unit, so routing by category never has to choose."""
    from bot.learn.category import categories as known_categories

    tables = _array_of_tables(data, "units", "units")
    # normalised name -> (what it names, the key naming it, which table entry owns it)
    names: dict[str, tuple[str, str, str]] = {}
    for i, r in enumerate(regions):
        for key, value in [("code", r.code), ("name", r.name), *(("aliases", a) for a in r.aliases)]:
            names.setdefault(_norm(value), (f"region {r.code} ({r.name})", f"regions[{i}].{key}", f"regions[{i}]"))
    chats = {leaders.chat_id: "the leaders' chat (leaders.chat_id)", desk.chat_id: "the desk chat (desk.chat_id)"}
    chats.update((r.chat_id, f"the chat of region {r.code}") for r in regions)
    owner: dict[str, str] = {}  # category -> the key that claimed it
    units: list[UnitConfig] = []
    for i, table in enumerate(tables):
        sec = _Section(table, f"units[{i}]")
        sec.check_keys(_keys(UnitConfig))
        code, name, chat_id, aliases = _target_basics(sec)
        cats = sec.opt("categories", _str_list, ())
        if chat_id in chats:
            raise ConfigError(sec.key("chat_id"),
                              f"chat {chat_id} is already {chats[chat_id]}; each unit needs its own group chat")
        chats[chat_id] = f"the chat of unit {code} ({sec.key('chat_id')})"
        own = [(sec.key("code"), code), (sec.key("name"), name)]
        own += [(sec.key(f"aliases[{k}]"), a) for k, a in enumerate(aliases)]
        this = f"unit {code} ({name})"
        for key, value in own:
            n = _norm(value)
            if n in names and names[n][2] != sec.path:  # a unit may repeat its own code as a name
                what, other_key, _ = names[n]
                raise ConfigError(key, f"{value!r} already names {what} at {other_key}; regions and units "
                                       "share one set of codes, names and aliases")
            names.setdefault(n, (this, key, sec.path))
        for k, cat in enumerate(cats):
            key = sec.key(f"categories[{k}]")
            if cat not in known_categories():
                raise ConfigError(key, f"unknown category {cat!r}; one of {'、'.join(known_categories())}")
            if cat in owner:
                raise ConfigError(key, f"category {cat!r} already belongs to {owner[cat]}; "
                                       "a category belongs to at most one unit")
            owner[cat] = f"units[{i}] ({code})"
        units.append(UnitConfig(code=code, name=name, chat_id=chat_id, aliases=aliases, categories=cats))
    return tuple(units)


def _parse_officers(data: dict[str, Any],
                    regions: tuple[RegionConfig | UnitConfig, ...]) -> tuple[OfficerConfig, ...]:
    tables = _array_of_tables(data, "officers", "officers")
    codes = {r.code for r in regions}
    officers: list[OfficerConfig] = []
    seen: dict[int, int] = {}
    for i, table in enumerate(tables):
        sec = _Section(table, f"officers[{i}]")
        sec.check_keys(_keys(OfficerConfig))
        user_id = sec.req("user_id", _user_id)
        if user_id in seen:
            raise ConfigError(
                sec.key("user_id"), f"duplicate user id {user_id} (also officers[{seen[user_id]}])"
            )
        seen[user_id] = i
        name = sec.req("name", _str)
        region = sec.req("region", _str)
        if region != ALL_REGIONS and region not in codes:
            hint = ""
            for r in regions:
                if _norm(region) in {_norm(r.code), _norm(r.name), *(_norm(a) for a in r.aliases)}:
                    hint = f"; use its code {r.code!r}"
                    break
            else:
                hint = f"; known: {', '.join(sorted(codes))}, or '*' for the provincial office"
            raise ConfigError(sec.key("region"), f"unknown region {region!r}{hint}")
        role = sec.opt("role", _choice(ROLES), "officer")
        language = sec.opt("language", _choice(LANGUAGES), None)
        officers.append(OfficerConfig(user_id=user_id, name=name, region=region, role=role, language=language))
    return tuple(officers)


def _parse_webhooks(data: dict[str, Any]) -> tuple[WebhookConfig, ...]:
    """``[[webhooks]]``: an http(s) URL (each once), a secret to sign with, the events it wants."""
    from bot.delivery.webhooks import EVENTS

    hooks: list[WebhookConfig] = []
    seen: dict[str, str] = {}
    for i, table in enumerate(_array_of_tables(data, "webhooks", "webhooks")):
        sec = _Section(table, f"webhooks[{i}]")
        sec.check_keys(_keys(WebhookConfig))
        url = sec.req("url", _http_url)
        if url in seen:
            raise ConfigError(sec.key("url"), f"{url} is already {seen[url]}; list each receiver once")
        seen[url] = sec.key("url")
        secret = sec.req("secret", _str_raw)
        if not secret.strip():
            raise ConfigError(sec.key("secret"), "must not be empty: the receiver checks each call's signature with it")
        events = sec.opt("events", _str_list, None)
        if events is not None and not events:
            raise ConfigError(sec.key("events"), "names no event; leave the key out for every event")
        for k, name in enumerate(events or ()):
            if name not in EVENTS:
                raise ConfigError(sec.key(f"events[{k}]"), f"unknown event {name!r}; one of {', '.join(EVENTS)}")
        hooks.append(WebhookConfig(url=url, secret=secret, events=tuple(dict.fromkeys(events)) if events else None))
    return tuple(hooks)


def _http_url(value: Any, key: str) -> str:
    url = _str(value, key)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError as exc:
        raise ConfigError(key, f"not a valid URL ({exc}): {url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise ConfigError(key, f"expected an http:// or https:// URL, got {url!r}")
    return url


def _parse_deadlines(sec: _Section) -> DeadlinesConfig:
    d = DeadlinesConfig()
    ordinary = sec.opt("ordinary_days", _int_range(1, 365), d.ordinary_days)
    complex_days = sec.opt("complex_days", _int_range(1, 365), d.complex_days)
    if complex_days < ordinary:
        raise ConfigError(
            sec.key("complex_days"), f"must not be shorter than ordinary_days ({ordinary}), got {complex_days}"
        )
    factor = sec.opt("supervised_factor", _positive_float, d.supervised_factor)
    if factor > 1:
        raise ConfigError(
            sec.key("supervised_factor"),
            f"must be more than 0 and at most 1 (supervision shortens the time left), got {factor}",
        )
    return DeadlinesConfig(
        ordinary_days=ordinary,
        complex_days=complex_days,
        max_extension_days=sec.opt("max_extension_days", _int_range(0, 365), d.max_extension_days),
        supervised_factor=factor,
    )


def _parse_reminders(sec: _Section) -> RemindersConfig:
    d = RemindersConfig()
    points: list[str] = []
    for k, entry in enumerate(sec.opt("before_deadline", _str_list, d.before_deadline)):
        try:
            points.append(str(parse_reminder_point(entry)))  # the scheduler's own parser
        except ValueError as exc:
            raise ConfigError(sec.key(f"before_deadline[{k}]"), str(exc)) from None
    before = tuple(points)
    return RemindersConfig(
        unclaimed_after_minutes=sec.opt(
            "unclaimed_after_minutes", _int_range(1, _MINUTES_A_YEAR), d.unclaimed_after_minutes
        ),
        before_deadline=before,
        quiet_for_urgent=sec.opt("quiet_for_urgent", _bool, d.quiet_for_urgent),
    )


def _parse_claims(sec: _Section) -> ClaimsConfig:
    hours = sec.opt("lease_hours", _positive_float, None)
    if hours is not None and hours > 24 * 366:
        raise ConfigError(sec.key("lease_hours"), f"at most {24 * 366} working hours, got {hours:g}")
    return ClaimsConfig(lease_hours=hours)


def _parse_triage(sec: _Section) -> TriageConfig:
    d = TriageConfig()
    threshold = sec.opt("sensitivity_threshold", _nonnegative_float, None)
    categories: tuple[SensitivityCategoryConfig, ...] | None = None
    if "sensitivity_categories" in sec.data:
        tables = _array_of_tables(sec.data, "sensitivity_categories", sec.key("sensitivity_categories"))
        cats: list[SensitivityCategoryConfig] = []
        for i, table in enumerate(tables):
            csec = _Section(table, sec.key(f"sensitivity_categories[{i}]"))
            csec.check_keys(_keys(SensitivityCategoryConfig))
            key = csec.req("key", _str)
            for j, prev in enumerate(cats):
                if prev.key == key:
                    raise ConfigError(
                        csec.key("key"), f"duplicate category key {key!r} (also sensitivity_categories[{j}])"
                    )
            name_zh = csec.opt("name_zh", _str, key)
            name_en = csec.opt("name_en", _str, name_zh)
            terms = csec.req("terms", _str_list)
            weight = csec.opt("weight", _nonnegative_float, 1.0)
            cats.append(SensitivityCategoryConfig(key=key, name_zh=name_zh, name_en=name_en, terms=terms, weight=weight))
        categories = tuple(cats)
    return TriageConfig(
        urgent_terms=sec.opt("urgent_terms", _str_list, None),
        complex_terms=sec.opt("complex_terms", _str_list, None),
        sensitivity_threshold=threshold,
        sensitivity_categories=categories,
        exclusions=sec.opt("exclusions", _str_list, None),
        warning_count=sec.opt("warning_count", _int_range(1, None), d.warning_count),
        warning_window_hours=sec.opt("warning_window_hours", _int_range(1, _HOURS_A_YEAR), d.warning_window_hours),
    )


def _parse_routing(sec: _Section) -> RoutingConfig:
    above = sec.opt("auto_route_above", _positive_float, None)
    if above is not None and above > 1:
        raise ConfigError(sec.key("auto_route_above"),
                          f"must be more than 0 and at most 1 (a score is a probability), got {above}")
    return RoutingConfig(auto_route_above=above)


def _parse_calendar(sec: _Section) -> WorkCalendar:
    """The deployment's own days off and make-up working days, typed from the State Council's notice."""
    holidays = sec.opt("holidays", _date_list, ())
    workdays = sec.opt("workdays", _date_list, ())
    for k, day in enumerate(workdays):
        if day in holidays:
            raise ConfigError(
                sec.key(f"workdays[{k}]"),
                f"{day.isoformat()} is also listed in calendar.holidays[{holidays.index(day)}]; "
                "a day is either off or a working day",
            )
    return WorkCalendar(holidays=frozenset(holidays), workdays=frozenset(workdays))


def _parse_verification(sec: _Section, schedule: ScheduleConfig) -> VerificationConfig:
    """``due = "Fri 17:00"``: a weekday and a time, which must not be the roundup's own moment
    (the verification is due before the roundup is built)."""
    d = VerificationConfig()
    due = d.due
    if "due" in sec.data:
        value = sec.data["due"]
        words = value.split() if isinstance(value, str) else []
        if len(words) != 2:
            raise ConfigError(sec.key("due"), f"expected a weekday and a time such as \"Fri 17:00\", got {_describe(value)}")
        day, at = _weekday(words[0], sec.key("due")), _time(words[1], sec.key("due"))
        if day == schedule.weekly_day and at == schedule.weekly_time:
            raise ConfigError(sec.key("due"), "must come before the weekly roundup, not at its own moment "
                              f"(schedule.weekly_day = {schedule.weekly_day!r}, weekly_time = {schedule.weekly_time:%H:%M})")
        due = f"{day} {at:%H:%M}"
    return VerificationConfig(
        due=due,
        remind_before_hours=sec.opt("remind_before_hours", _int_range(1, 24 * 6), d.remind_before_hours),
        propose_before_hours=sec.opt("propose_before_hours", _int_range(1, 24 * 6), d.propose_before_hours),
    )


def _parse_followup(sec: _Section) -> FollowupConfig:
    return FollowupConfig(after_days=sec.opt("after_days", _int_range(1, 250), FollowupConfig().after_days))


def _parse_language(data: dict[str, Any]) -> str:
    """The top-level ``language``, or ``[bot] language``; both may be given only if they agree."""
    top = _Section(data, "").opt("language", _choice(LANGUAGES), None)
    bot_sec = _section(data, "bot")
    in_bot = bot_sec.opt("language", _choice(LANGUAGES), None)
    if top is not None and in_bot is not None and top != in_bot:
        raise ConfigError(bot_sec.key("language"), f"{in_bot!r} contradicts the top-level language = {top!r}")
    return top or in_bot or "zh"


# --------------------------------------------------------------------------------------------
# Helpers: sections, keys, types
# --------------------------------------------------------------------------------------------

T = TypeVar("T")


class _Section:
    """One TOML table plus its key path, so every error can name ``section.key`` exactly."""

    def __init__(self, data: dict[str, Any], path: str) -> None:
        self.data = data
        self.path = path

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def check_keys(self, allowed: tuple[str, ...]) -> None:
        _check_keys(self.data, self.path, allowed)

    def req(self, name: str, conv: Callable[[Any, str], T]) -> T:
        if name not in self.data:
            raise ConfigError(self.key(name), "required")
        return conv(self.data[name], self.key(name))

    def opt(self, name: str, conv: Callable[[Any, str], T], default: Any) -> Any:
        if name not in self.data:
            return default
        return conv(self.data[name], self.key(name))


def _section(data: dict[str, Any], name: str) -> _Section:
    """The table ``[name]`` (empty when absent), its keys checked against what we understand."""
    value = data.get(name, {})
    if not isinstance(value, dict):
        if isinstance(value, list):
            raise ConfigError(name, f"expected one table [{name}], not an array of tables [[{name}]]")
        raise ConfigError(name, f"expected a table [{name}], got {_describe(value)}")
    sec = _Section(value, name)
    sec.check_keys(_SECTION_KEYS[name])
    return sec


def _array_of_tables(data: dict[str, Any], name: str, key: str) -> list[dict[str, Any]]:
    value = data.get(name, [])
    if isinstance(value, dict):
        raise ConfigError(
            key, f"expected an array of tables: write [[{_toml_header(key)}]] for each entry"
        )
    if not isinstance(value, list):
        raise ConfigError(key, f"expected an array of tables, got {_describe(value)}")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise ConfigError(f"{key}[{i}]", f"expected a table, got {_describe(item)}")
    return value


def _toml_header(key: str) -> str:
    """``triage.sensitivity_categories`` -> the header a deployer writes for it."""
    return re.sub(r"\[\d+\]", "", key)


def _check_keys(data: dict[str, Any], path: str, allowed: tuple[str, ...]) -> None:
    """Refuse keys we do not understand: in a government deployment a typo must not pass silently."""
    for name in data:
        if name in allowed:
            continue
        key = f"{path}.{name}" if path else name
        close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
        if close:
            hint = f"did you mean {close[0]!r}?"
        else:
            hint = f"known keys here: {', '.join(allowed)}"
        raise ConfigError(key, f"unknown key; {hint}")


def _env(env: Mapping[str, str], name: str) -> str | None:
    """An environment override, or None when unset or empty (an empty value overrides nothing)."""
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _norm(value: str) -> str:
    return value.strip().casefold()


_TYPE_NAMES = {
    bool: "a boolean", int: "an integer", float: "a decimal number", str: "a string",
    list: "an array", dict: "a table", time: "a time",
}


def _describe(value: Any) -> str:
    kind = _TYPE_NAMES.get(type(value), type(value).__name__)
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{kind} ({text})"


def _str_raw(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(key, f"expected a string, got {_describe(value)}")
    return value


def _str(value: Any, key: str) -> str:
    """A non-empty string, trimmed: stray spaces around a name would only break matching."""
    if not isinstance(value, str):
        # A region code written as a bare number (code = 620100) is the likely slip here.
        quoted = (
            f"; write it in quotes: \"{value}\""
            if key.endswith(".code") and isinstance(value, int) and not isinstance(value, bool)
            else ""
        )
        raise ConfigError(key, f"expected a string, got {_describe(value)}{quoted}")
    text: str = value.strip()
    if not text:
        raise ConfigError(key, "must not be empty")
    return text


def _str_list(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ConfigError(key, f"expected an array of strings, got {_describe(value)}")
    return tuple(_str(item, f"{key}[{i}]") for i, item in enumerate(value))


def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key, f"expected true or false, got {_describe(value)}")
    return value


def _int(value: Any, key: str) -> int:
    # bool is a subclass of int in Python; `port = true` is a mistake, not the number 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(key, f"expected an integer, got {_describe(value)}")
    return value


def _int_range(lo: int | None, hi: int | None) -> Callable[[Any, str], int]:
    def conv(value: Any, key: str) -> int:
        n = _int(value, key)
        if (lo is not None and n < lo) or (hi is not None and n > hi):
            if hi is None:
                raise ConfigError(key, f"must be at least {lo}, got {n}")
            raise ConfigError(key, f"must be between {lo} and {hi}, got {n}")
        return n

    return conv


def _float(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(key, f"expected a number, got {_describe(value)}")
    f = float(value)
    if f != f or f in (float("inf"), float("-inf")):
        raise ConfigError(key, f"expected a finite number, got {value}")
    return f


def _positive_float(value: Any, key: str) -> float:
    f = _float(value, key)
    if f <= 0:
        raise ConfigError(key, f"must be more than 0, got {value}")
    return f


def _nonnegative_float(value: Any, key: str) -> float:
    f = _float(value, key)
    if f < 0:
        raise ConfigError(key, f"must not be negative, got {value}")
    return f


def _chat_id(value: Any, key: str) -> int:
    """A Telegram chat id: an integer (groups are negative), never a quoted string.

    A quoted id would compare unequal to the integer ids Telegram sends, so a chat would silently
    never match its region; refusing it here is cheaper than finding that out in production.
    """
    if isinstance(value, str):
        raise ConfigError(
            key, f"expected an integer chat id, got a string ({value!r}); write it without quotes"
        )
    n = _int(value, key)
    if n == 0:
        raise ConfigError(key, "0 is not a Telegram chat id")
    return n


def _user_id(value: Any, key: str) -> int:
    if isinstance(value, str):
        raise ConfigError(
            key, f"expected an integer Telegram user id, got a string ({value!r}); write it without quotes"
        )
    n = _int(value, key)
    if n <= 0:
        raise ConfigError(key, f"a Telegram user id is a positive integer, got {n}")
    return n


def _choice(options: tuple[str, ...]) -> Callable[[Any, str], str]:
    """One of a fixed set of words; case and surrounding spaces are forgiven, anything else is not."""

    def conv(value: Any, key: str) -> str:
        if not isinstance(value, str):
            raise ConfigError(key, f"expected one of {', '.join(options)}; got {_describe(value)}")
        word = value.strip().lower()
        if word not in options:
            close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(key, f"must be one of {', '.join(options)}, got {value!r}{hint}")
        return word

    return conv


def _date(value: Any, key: str) -> date:
    """A day written "YYYY-MM-DD" (a bare TOML date such as 2027-01-01 is accepted too)."""
    if isinstance(value, datetime):  # a TOML date-time: a day is meant, not an instant
        raise ConfigError(key, f"expected a day \"YYYY-MM-DD\", got a date and time ({value})")
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ConfigError(key, f"expected a day \"YYYY-MM-DD\", got {_describe(value)}")
    text = value.strip()
    try:
        if _DATE_RE.match(text):
            return date.fromisoformat(text)
    except ValueError:  # 2027-02-30
        pass
    raise ConfigError(key, f"expected a day \"YYYY-MM-DD\" such as \"2027-01-01\", got {value!r}")


def _date_list(value: Any, key: str) -> tuple[date, ...]:
    """An array of distinct days (a repeated day is a slip worth pointing at)."""
    if not isinstance(value, list):
        raise ConfigError(key, f"expected an array of days \"YYYY-MM-DD\", got {_describe(value)}")
    days: list[date] = []
    for i, item in enumerate(value):
        day = _date(item, f"{key}[{i}]")
        if day in days:
            raise ConfigError(f"{key}[{i}]", f"{day.isoformat()} is listed twice (also {key}[{days.index(day)}])")
        days.append(day)
    return tuple(days)


def _weekday(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(key, f"expected a day such as \"mon\", got {_describe(value)}")
    word = value.strip().lower()
    word = _WEEKDAY_NAMES.get(word, word)
    if word not in WEEKDAYS:
        raise ConfigError(key, f"must be one of {', '.join(WEEKDAYS)}, got {value!r}")
    return word


def _time(value: Any, key: str) -> time:
    """A time of day written "HH:MM" (a bare TOML local time such as 09:00:00 is accepted too)."""
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise ConfigError(key, "a time of day here has no offset; it is read in schedule.timezone")
        return value
    if not isinstance(value, str):
        raise ConfigError(key, f"expected a time \"HH:MM\", got {_describe(value)}")
    match = _TIME_RE.match(value.strip())
    if match:
        h, m = int(match.group("h")), int(match.group("m"))
        if h < 24 and m < 60:
            return time(h, m)
    raise ConfigError(key, f"expected a time \"HH:MM\" (00:00-23:59), got {value!r}")
