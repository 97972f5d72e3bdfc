"""What every benchmark shares: the machine line, a 14-region deployment, the real messages, a
service in its own process against the Bot API stand-in, and percentiles.

Why the service runs in a child process (``python -m bot run``, the deployed entry point): the load
generator and the stand-in ("Telegram") then do not share the service's event loop or GIL, the
service's resident memory is its own, and nothing is measured through a shortcut.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import platform
import shutil
import signal
import socket
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import aiohttp

from bot.config import Config, parse_config
from bot.standin import BotApiStandin

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = ROOT / ".." / "shared" / "data"
API_TOKEN = "bench-api-token"
BOT_TOKEN = "123456:BENCH-token"

LEADERS_CHAT = -1001000000001
DESK_CHAT = -1001000000002
SUPERVISOR = 900001
LEADER = 900002

# Gansu's 14 prefecture-level regions (GB/T 2260): the "14 region groups" of the issue.
REGIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("620100", "兰州市", ("兰州", "城关区", "七里河区")),
    ("620200", "嘉峪关市", ("嘉峪关",)),
    ("620300", "金昌市", ("金昌", "金川区")),
    ("620400", "白银市", ("白银", "白银区")),
    ("620500", "天水市", ("天水", "秦州区", "麦积区")),
    ("620600", "武威市", ("武威", "凉州区")),
    ("620700", "张掖市", ("张掖", "甘州区")),
    ("620800", "平凉市", ("平凉", "崆峒区")),
    ("620900", "酒泉市", ("酒泉", "肃州区")),
    ("621000", "庆阳市", ("庆阳", "西峰区")),
    ("621100", "定西市", ("定西", "安定区")),
    ("621200", "陇南市", ("陇南", "武都区")),
    ("622900", "临夏回族自治州", ("临夏",)),
    ("623000", "甘南藏族自治州", ("甘南", "合作市")),
)


def region_chat(index: int) -> int:
    return -1001000000100 - 100 * index


def officers_of(index: int) -> tuple[int, int]:
    """Two liaison officers per region."""
    return 100000 + 10 * index + 1, 100000 + 10 * index + 2


# ---------------------------------------------------------------------- results


@dataclass
class Row:
    """One line of the table; ``passed`` None means "not judged" (pending, or no target)."""

    measure: str
    result: str
    target: str
    passed: bool | None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> str:
        return {True: "pass", False: "**FAIL**", None: "–"}[self.passed]


def markdown_table(rows: Sequence[Row]) -> str:
    lines = ["| Measure | Result | Target | Pass |", "|---|---|---|---|"]
    for r in rows:
        cells = [r.measure, r.result, r.target, r.verdict]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100): an observed value, never an interpolation."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.0095 else f"{seconds * 1000:.1f} ms"


# ---------------------------------------------------------------------- the machine


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return math.nan


def machine_line(db: str) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (f"{_cpu_model()}, {os.cpu_count()} cores, {_ram_gib():.0f} GiB RAM; "
            f"Linux {platform.release()}; Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}; "
            f"database {db}; {now}")


def postgres_version(url: str) -> str:
    from sqlalchemy import text

    from storage.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return "PostgreSQL " + str(conn.execute(text("SHOW server_version")).scalar())
    finally:
        engine.dispose()


# ---------------------------------------------------------------------- memory of a process


def proc_status_kb(pid: int | str = "self") -> dict[str, int]:
    """VmRSS (resident now) and VmHWM (peak resident) of a process, in KiB, from /proc."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


# ---------------------------------------------------------------------- the deployment


def config_dict(db_url: str, api_url: str, port: int, *, regions: int = len(REGIONS),
                delivery: str = "inline") -> dict[str, Any]:
    regs = []
    officers: list[dict[str, Any]] = []
    for i, (code, name, aliases) in enumerate(REGIONS[:regions]):
        regs.append({"code": code, "name": name, "chat_id": region_chat(i), "aliases": list(aliases)})
        for j, uid in enumerate(officers_of(i)):
            officers.append({"user_id": uid, "name": f"{name[:2]}联络员{j + 1}", "region": code, "role": "officer"})
    officers.append({"user_id": SUPERVISOR, "name": "省办督查员", "region": "*", "role": "supervisor"})
    officers.append({"user_id": LEADER, "name": "值班领导", "region": "*", "role": "leader"})
    return {
        "telegram": {"token": BOT_TOKEN, "api_url": api_url, "poll_timeout": 10, "delivery": delivery},
        "database": {"url": db_url},
        "api": {"host": "127.0.0.1", "port": port, "token": API_TOKEN},
        "schedule": {"timezone": "Asia/Shanghai"},
        "leaders": {"chat_id": LEADERS_CHAT},
        "desk": {"chat_id": DESK_CHAT},
        "regions": regs,
        "officers": officers,
    }


def bench_config(db_url: str, api_url: str = "http://127.0.0.1:1/bot", port: int = 0) -> Config:
    return parse_config(config_dict(db_url, api_url, port), env={})


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(value)


def to_toml(data: dict[str, Any]) -> str:
    """Enough TOML for the config above: tables of scalars and arrays of tables."""
    out: list[str] = []
    for key, value in data.items():
        if isinstance(value, dict):
            out.append(f"[{key}]")
            out += [f"{k} = {_toml_value(v)}" for k, v in value.items()]
            out.append("")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for entry in value:
                out.append(f"[[{key}]]")
                out += [f"{k} = {_toml_value(v)}" for k, v in entry.items()]
                out.append("")
    return "\n".join(out)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_database(url: str | None, folder: Path, name: str = "liuyan.db") -> str:
    """A SQLite file in ``folder``, or the given PostgreSQL database wiped clean."""
    if url is None or url == "sqlite":
        return f"sqlite:///{folder / name}"
    from storage.db import make_engine

    engine = make_engine(url)
    try:
        with engine.begin() as conn:  # every table of the schema, whoever made it
            tables = [r[0] for r in conn.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
            for table in tables:
                conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{table}" CASCADE')
    finally:
        engine.dispose()
    return url


# ---------------------------------------------------------------------- the messages


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


_MESSAGES: list[dict[str, Any]] | None = None


def real_messages() -> list[dict[str, Any]]:
    """The 4,821 real citizen messages (title, body, author), or made-up ones when the data set is
    absent (a clone without shared/), so the runner still runs."""
    global _MESSAGES
    if _MESSAGES is None:
        rows: list[dict[str, Any]] = []
        for path in sorted(DATA_DIR.glob("*.jsonl")) if DATA_DIR.exists() else []:
            rows += _read_jsonl(path)
        if not rows:
            rows = [{"title": f"关于小区第{i}号楼供暖不热的问题", "body": "本小区冬季供暖温度长期不达标，" * (5 + i % 20),
                     "author": f"市民{i}"} for i in range(500)]
        _MESSAGES = [{k: r[k] for k in ("title", "body", "author") if r.get(k)} for r in rows]
    return _MESSAGES


_SCAN: dict[str, Any] = {}


def split_by_sensitivity(routine: int | None = None, sensitive: int | None = None
                         ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(routine, sensitive) real messages as the deployment's own triage judges them today.

    Scans the data set only as far as needed for ``routine`` and ``sensitive`` of each (all of it
    when None); what was judged once is kept for the next call."""
    if not _SCAN:
        from bot.render import Renderer
        from bot.workflow import WorkflowContext

        cfg = bench_config("sqlite:///unused.db")
        wf = WorkflowContext(cfg, Renderer(cfg.language, cfg.schedule.tz))
        _SCAN.update(wf=wf, year=datetime.now(cfg.schedule.tz).year, next=0, routine=[], sensitive=[])
    messages = real_messages()
    found_r, found_s = _SCAN["routine"], _SCAN["sensitive"]
    while _SCAN["next"] < len(messages) and (
            routine is None or sensitive is None or len(found_r) < routine or len(found_s) < sensitive):
        m = messages[_SCAN["next"]]
        _SCAN["next"] += 1
        hit = _SCAN["wf"].sensitivity.assess(m.get("title", ""), m["body"], reference_year=_SCAN["year"]).sensitive
        (found_s if hit else found_r).append(m)
    out_s = found_s or [{"title": "村民明天要集体堵路",
                         "body": "因拆迁补偿不到位，上百名村民扬言明天上午集体到省道堵路上访，情绪激动，请领导关注。"}]
    return list(found_r), list(out_s)


def make_items(count: int, *, prefix: str, pool: Sequence[dict[str, Any]] | None = None,
               regions: Iterable[int] | None = None, start: int = 0) -> list[dict[str, Any]]:
    """``count`` intake objects: real texts in turn, each with a unique ``external_id`` and a region
    (by name, as a board crawler that knows the city sends it), round-robin over the regions."""
    pool = list(pool if pool is not None else real_messages())
    region_list = list(regions) if regions is not None else list(range(len(REGIONS)))
    out = []
    for n in range(count):
        i = start + n
        msg = dict(pool[i % len(pool)])
        msg["external_id"] = f"{prefix}-{i}"
        msg["region"] = REGIONS[region_list[n % len(region_list)]][1]
        # each item its own citizen: the data holds real repeats (one author, one issue, twice),
        # which are linked to the first and handed to its holder — not what a bench row measures
        msg["author"] = f"{msg.get('author') or '市民'}·{i}"
        out.append(msg)
    return out


def batches(items: Sequence[Any], size: int = 100) -> list[list[Any]]:
    return [list(items[i:i + size]) for i in range(0, len(items), size)]


# ---------------------------------------------------------------------- stand-in and service


class TimedStandin(BotApiStandin):
    """The stand-in, stamping every event with the monotonic time it happened (not when a
    subscriber got round to reading it)."""

    def _emit(self, event: dict[str, Any]) -> None:
        event["t"] = time.monotonic()
        super()._emit(event)


class ServiceProcess:
    """``python -m bot run --config FILE`` in a child process, its log in a file.

    ``unpaced``: the same service with its delivery worker's pacer opened wide (see :func:`serve`),
    for measuring the bot itself where Telegram's 20-a-minute group limit would otherwise be all
    one sees. ``at``: its clock (``AppContext.clock``) starts at this ISO instant and runs on in real
    time, so the scheduler's start-up sweep finds the reports of that day due.
    """

    def __init__(self, config_path: Path, log_path: Path, *, unpaced: bool = False,
                 at: str | None = None) -> None:
        self.config_path = config_path
        self.log_path = log_path
        self.unpaced = unpaced
        self.at = at
        self.proc: asyncio.subprocess.Process | None = None
        self._log: Any = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self) -> None:
        self._log = self.log_path.open("ab")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        env.pop("LIUYAN_DATABASE_URL", None)
        env.pop("LIUYAN_API_TOKEN", None)
        env.pop("LIUYAN_TELEGRAM_TOKEN", None)
        command = ["-m", "bot", "run"]
        if self.unpaced or self.at:
            command = ["-m", "tests.bench.common", "serve"] + (["--unpaced"] if self.unpaced else [])
            command += ["--at", self.at] if self.at else []
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, *command, "--config", str(self.config_path),
            cwd=str(ROOT), stdout=self._log, stderr=self._log, env=env,
        )

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def memory_kb(self) -> dict[str, int]:
        return proc_status_kb(self.pid)

    async def stop(self, timeout: float = 20.0) -> None:
        if self.proc is None:
            return
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), timeout)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


class BenchEnv:
    """``async with BenchEnv(db=...) as env``: a fresh database, the stand-in with the 14 region
    groups, and the service in its own process, ready (API healthy and the bot polling)."""

    def __init__(self, *, db: str | None = None, enforce_limits: bool = True, unpaced: bool = False,
                 existing_db: str | None = None, at: str | None = None, name: str = "bench",
                 folder: Path | None = None, start_timeout: float = 60.0, delivery: str = "inline") -> None:
        self.db_arg = db
        self.delivery = delivery
        self.enforce_limits = enforce_limits
        self.unpaced = unpaced
        self.existing_db = existing_db
        self.at = at
        self.name = name
        self._tmp: Path | None = None
        self.folder = folder
        self.start_timeout = start_timeout
        self.standin = TimedStandin(enforce_limits=enforce_limits)
        self.service: ServiceProcess | None = None
        self.http: aiohttp.ClientSession | None = None
        self.db_url = ""
        self.port = 0
        self.config: Config | None = None
        self.spawned = 0.0  # monotonic time the service process was started
        self._profiler: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Self:
        if self.folder is None:
            self._tmp = self.folder = Path(tempfile.mkdtemp(prefix=f"liuyan-{self.name}-"))
        self.db_url = self.existing_db or fresh_database(self.db_arg, self.folder)
        await self.standin.start()
        for i, (_, name, _) in enumerate(REGIONS):
            self.standin.register_chat(region_chat(i), f"{name}联络群", type="supergroup")
            for j, uid in enumerate(officers_of(i)):
                self.standin.register_user(uid, f"{name[:2]}联络员{j + 1}")
        self.standin.register_chat(LEADERS_CHAT, "领导专报", type="supergroup")
        self.standin.register_chat(DESK_CHAT, "省委办公厅值班台", type="supergroup")
        self.standin.register_user(SUPERVISOR, "省办督查员")
        self.standin.register_user(LEADER, "值班领导")
        self.port = free_port()
        data = config_dict(self.db_url, self.standin.base_url, self.port, delivery=self.delivery)
        path = self.folder / "liuyan.toml"
        path.write_text(to_toml(data), encoding="utf-8")
        self.config = parse_config(data, env={})
        self.service = ServiceProcess(path, self.folder / "service.log", unpaced=self.unpaced, at=self.at)
        self.spawned = time.monotonic()
        await self.service.start()
        self.http = aiohttp.ClientSession(base_url=f"http://127.0.0.1:{self.port}",
                                          headers={"Authorization": f"Bearer {API_TOKEN}"})
        try:
            await self.wait_ready()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        await self._start_profiler()
        return self

    async def _start_profiler(self) -> None:
        """With ``LIUYAN_BENCH_PROFILE=FOLDER``, py-spy samples the service (all threads, idle
        ones left out) and writes collapsed stacks to FOLDER/<name>-<pid>.txt: what bounds a row.
        ``LIUYAN_BENCH_PROFILE_GIL=1`` keeps only samples holding the GIL: where the CPU goes."""
        folder = os.environ.get("LIUYAN_BENCH_PROFILE")
        if not folder or self.service is None:
            return
        Path(folder).mkdir(parents=True, exist_ok=True)
        out = Path(folder) / f"{self.name}-{self.service.pid}.txt"
        self._profiler = await asyncio.create_subprocess_exec(
            "py-spy", "record", "--pid", str(self.service.pid), "--format", "raw", "--rate", "250",
            "--threads", *(["--gil"] if os.environ.get("LIUYAN_BENCH_PROFILE_GIL") else []), "-o", str(out),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        await asyncio.sleep(0.5)

    async def _stop_profiler(self) -> None:
        if self._profiler is None:
            return
        if self._profiler.returncode is None:
            self._profiler.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self._profiler.wait(), 30)
            except TimeoutError:
                self._profiler.kill()
                await self._profiler.wait()
        self._profiler = None

    async def wait_ready(self) -> None:
        """Healthy and warm API, and the bot's first long poll seen by the stand-in."""
        assert self.http is not None and self.service is not None and self.service.proc is not None
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.service.proc.returncode is not None:
                code = self.service.proc.returncode
                raise RuntimeError(f"the service exited with {code}:\n{self.service.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the service did not come up in {self.start_timeout}s:\n{self.service.log_tail()}")
            try:
                async with self.http.get("/healthz") as resp:
                    # up, and done with its start-up work (loading the reports' libraries takes
                    # a core for a second or two: a row measured meanwhile would measure that)
                    healthy = resp.status == 200 and (await resp.json()).get("warm", True)
            except aiohttp.ClientError:
                healthy = False
            if healthy and self.standin.stats["method:getUpdates"] > 0:
                return
            await asyncio.sleep(0.05)

    async def __aexit__(self, *exc: object) -> None:
        await self._stop_profiler()
        if self.http is not None:
            await self.http.close()
            self.http = None
        if self.service is not None:
            await self.service.stop()
        await self.standin.stop()
        if self._tmp is not None:
            if os.environ.get("LIUYAN_BENCH_KEEP"):  # keep the database and the service's log
                print(f"kept {self.folder}", file=sys.stderr)
            else:
                shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    async def post(self, batch: Sequence[dict[str, Any]] | dict[str, Any]) -> Any:
        """POST one batch (or one object) to the intake API; fails loudly on anything but 200/201."""
        assert self.http is not None
        async with self.http.post("/api/v1/messages", json=batch) as resp:
            body = await resp.json()
            if resp.status not in (200, 201):
                raise RuntimeError(f"intake answered {resp.status}: {body}")
            return body

    async def intake(self, items: Sequence[dict[str, Any]], size: int = 100) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for batch in batches(items, size):
            out += (await self.post(batch))["items"]
        return out

    def rate_limited(self) -> int:
        """429s the stand-in answered."""
        return int(self.standin.stats["429"])


# ---------------------------------------------------------------------- the unpaced service


def unlimited_pacer() -> Any:
    from bot.delivery.pacing import Limit, Pacer

    wide = Limit(1_000_000, 1.0)
    return Pacer(group=wide, private=wide, overall=wide)


def serve(config_path: str, *, unpaced: bool = False, at: str | None = None) -> int:
    """``liuyan run``, optionally with an unlimited pacer and a clock set to ``at``."""
    import logging

    from bot.app_context import AppContext
    from bot.config import load_config
    from bot.service import Service

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "apscheduler", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    config = load_config(config_path)
    services = None
    if at:
        offset = datetime.fromisoformat(at) - datetime.now(UTC)
        services = AppContext.create(config, clock=lambda: datetime.now(UTC) + offset)
    child = ["-m", "tests.bench.common", "deliver"] + (["--unpaced"] if unpaced else [])
    service = Service.create(config, services=services, pacer=unlimited_pacer() if unpaced else None,
                             delivery_command=child)
    asyncio.run(service.run_forever())
    return 0


def deliver(config_path: str, wake_fd: int | None, parent: int | None, *, unpaced: bool = False) -> int:
    """``liuyan deliver`` (the child of a service with ``delivery = "process"``), optionally unpaced."""
    from bot.config import load_config
    from bot.delivery.process import run_child

    kwargs = {"pacer": unlimited_pacer()} if unpaced else {}
    return asyncio.run(run_child(load_config(config_path), wake_fd, parent, **kwargs))


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tests.bench.common")
    parser.add_argument("command", choices=["serve", "deliver"])
    parser.add_argument("--wake-fd", type=int, default=None)
    parser.add_argument("--parent", type=int, default=None)
    parser.add_argument("--config", required=True)
    parser.add_argument("--unpaced", action="store_true", help="open the delivery worker's pacer wide")
    parser.add_argument("--at", help="ISO instant the service's clock starts at")
    args = parser.parse_args()
    if args.command == "deliver":
        raise SystemExit(deliver(args.config, args.wake_fd, args.parent, unpaced=args.unpaced))
    raise SystemExit(serve(args.config, unpaced=args.unpaced, at=args.at))
