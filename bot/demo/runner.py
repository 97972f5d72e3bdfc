"""``liuyan demo``: the whole service offline, on sandbox time, with a web chat to watch and act in.

A built-in Bot API stand-in plays Telegram on 127.0.0.1; a SQLite file in ``--dir`` holds the data;
a sandbox clock (:mod:`bot.demo.clock`) starts on a Thursday morning and runs fast, and the
training scenario (:mod:`bot.demo.scenario`) brings sample messages over the intake API while simulated
officers claim, reply, route and supervise through the stand-in exactly as people would in Telegram.
The page at http://127.0.0.1:PORT/ (:mod:`bot.demo.web`) shows every chat live and lets the
visitor act as anyone in the roster; every message is also printed in the terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import errno
import logging
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.config import Config, load_config
from bot.demo.clock import SandboxClock, ensure_offline
from bot.demo.scenario import Scenario, ScenarioRunner, load_scenario, real_duration, sandbox_rate
from bot.render import Renderer

log = logging.getLogger(__name__)

DEMO_DATA = Path(__file__).parent / "data"
DEMO_TOKEN = "1000000001:DEMO-offline-token"
DEMO_API_TOKEN = "demo-api-token"
SAMPLE_FIELDS = ("external_id", "title", "body", "author")  # what a rehearsal posts of each sample

LANZHOU, TIANSHUI, BAIYIN = -1001000000100, -1001000000200, -1001000000300
HEALTH = -1001000000400  # a provincial department (unit)
DESK, LEADERS = -1001000000002, -1001000000001


@dataclass(frozen=True)
class Person:
    user_id: int
    name: str
    region: str
    role: str


PEOPLE = (
    Person(1001, "张三", "620100", "officer"),
    Person(1002, "李四", "620100", "officer"),
    Person(1003, "王五", "620500", "officer"),
    Person(1004, "赵敏", "620400", "officer"),
    Person(1005, "孙主任", "health", "officer"),
    Person(2001, "刘督办", "*", "supervisor"),
    Person(3001, "陈书记", "*", "leader"),
)
VISITOR = (9999, "路人甲")  # known to Telegram but not in the roster: shows how strangers are refused


def demo_config_text(db_path: Path, api_port: int, api_url: str, *, db_url: str | None = None) -> str:
    """The demo's config: the documented config's shape with three regions of Gansu and a small roster.

    The scheduler ticks every 2 s (of real time) so that, on fast sandbox time, reminders and the
    weekly roundup come within moments of being due; unclaimed items are nagged after an hour.
    """
    officers = "\n".join(
        f'[[officers]]\nuser_id = {p.user_id}\nname = "{p.name}"\nregion = "{p.region}"\nrole = "{p.role}"\n'
        for p in PEOPLE
    )
    return f'''# liuyan demo config (written by `liuyan demo`; edit freely, it is rewritten on each demo run)
language = "zh"

[telegram]
token = "{DEMO_TOKEN}"
api_url = "{api_url}"
poll_timeout = 1

[database]
url = "{db_url or 'sqlite:///' + db_path.as_posix()}"

[api]
host = "127.0.0.1"
port = {api_port}
token = "{DEMO_API_TOKEN}"

[schedule]
timezone = "Asia/Shanghai"
tick_seconds = 2

[reminders]
unclaimed_after_minutes = 60

[followup]                 # 回头看: one working day after a reply (a real office would wait ~10)
after_days = 1

[leaders]
chat_id = {LEADERS}

[desk]
chat_id = {DESK}

[[regions]]
code = "620100"
name = "兰州市"
chat_id = {LANZHOU}
aliases = ["兰州", "城关区", "七里河区", "安宁区", "西固区", "红古区"]

[[regions]]
code = "620500"
name = "天水市"
chat_id = {TIANSHUI}
aliases = ["天水", "秦州区", "麦积区"]

[[regions]]
code = "620400"
name = "白银市"
chat_id = {BAIYIN}
aliases = ["白银", "平川区", "靖远县", "会宁县", "景泰县"]

[[units]]
code = "health"
name = "省卫生健康委员会"
chat_id = {HEALTH}
aliases = ["省卫健委", "卫生健康委"]
categories = ["卫生计生"]

{officers}'''


CHAT_TITLES = {LANZHOU: "兰州市联络群", TIANSHUI: "天水市联络群", BAIYIN: "白银市联络群", HEALTH: "省卫健委联络群",
               DESK: "省委办公厅值班台", LEADERS: "领导专报"}


def offline_copy(config: Config, api_url: str, db_url: str) -> Config:
    """The deployment's config pointed at the stand-in and a database of the demo's own: its regions,
    units, roster and rules as they are, nothing of its Telegram, database, API or webhooks."""
    telegram = dataclasses.replace(config.telegram, token=DEMO_TOKEN, api_url=api_url, mode="polling",
                                   delivery="inline", poll_timeout=1)
    changes: dict[str, Any] = dict(
        telegram=telegram,
        database=dataclasses.replace(config.database, url=db_url),
        api=dataclasses.replace(config.api, host="127.0.0.1", port=0, token=DEMO_API_TOKEN),
        schedule=dataclasses.replace(config.schedule, tick_seconds=2),
    )
    if hasattr(config, "webhooks"):
        changes["webhooks"] = ()  # a rehearsal must not call the deployment's receivers
    return dataclasses.replace(config, **changes)


def deployment_chats(config: Config) -> dict[int, str]:
    """Every chat the config names, titled as the web chat lists them."""
    renderer = Renderer(config.language)
    chats = {config.leaders.chat_id: renderer.text("web.chat_leaders_plain"),
             config.desk.chat_id: renderer.text("web.chat_desk_plain")}
    for target in config.targets:
        chats[target.chat_id] = target.name
    return chats


class DemoPrinter:
    """Prints each chat's new and edited messages, as a person in that chat would see them."""

    def __init__(self, standin: Any, out: Any = None) -> None:
        self.standin = standin
        self.out = out or sys.stdout

    def line(self, chat_id: int, who: str, text: str, edited: bool = False) -> None:
        chat = self.standin.chats.get(chat_id)
        title = (chat.title if chat is not None else None) or str(chat_id)
        mark = "✏️ " if edited else ""
        body = text if len(text) < 600 else text[:600] + " …"
        print(f"\n┌─ [{title}] {mark}{who}\n│ " + body.replace("\n", "\n│ "), file=self.out, flush=True)

    def note(self, text: str) -> None:
        print(f"\n📌 {text}", file=self.out, flush=True)

    async def run(self) -> None:
        queue = self.standin.subscribe()
        try:
            while True:
                event = await queue.get()
                message = event.get("message") or {}
                if event.get("type") not in ("message", "edit") or not message:
                    continue
                sender = message.get("from") or {}
                who = "🤖 liuyan" if sender.get("is_bot") else f"👤 {sender.get('name')}"
                text = message.get("text") or ""
                if message.get("file"):
                    text = f"📎 {message['file'].get('file_name') or message.get('kind')}\n{text}"
                for row in message.get("buttons") or []:
                    text += "\n" + "  ".join(f"[{b.get('text')}]" for b in row)
                self.line(message["chat_id"], who, text, edited=event.get("type") == "edit")
        finally:
            self.standin.unsubscribe(queue)


class DemoSandbox:
    """Stand-in, service on sandbox time, and the web page: ``async with DemoSandbox(...) as box``.

    ``liuyan demo`` plays the scenario in it; tests use it the same way and act themselves.
    """

    def __init__(self, folder: Path, *, port: int = 0, speed: float = 1.0, scenario: Scenario | None = None,
                 start: datetime | None = None, enforce_limits: bool = True, web: bool = True,
                 scheduler: bool = True, db_url: str | None = None, own_config: Config | None = None) -> None:
        self.folder = folder
        self.own_config = own_config  # a deployment's own regions and roster, rehearsed offline
        self.port = port
        self.scenario = scenario or load_scenario()
        # a rehearsal of a deployment's own config runs at real time (× speed); the scenario, fast
        rate = speed if own_config is not None else sandbox_rate(self.scenario, speed)
        self.clock = SandboxClock(start or self.scenario.start, rate)
        self.enforce_limits = enforce_limits
        self.serve_web = web
        self.use_scheduler = scheduler
        self.db_url = db_url  # None: a SQLite file in the folder (tests pass PostgreSQL here too)
        self.standin: Any = None
        self.service: Any = None
        self.hub: Any = None
        self.config: Any = None
        self.config_path = folder / "liuyan.toml"
        self.web_runner: Any = None
        self.web_url: str | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.service.port}"

    async def __aenter__(self) -> DemoSandbox:
        from bot.app_context import AppContext
        from bot.service import Service
        from bot.standin import BotApiStandin

        self.folder.mkdir(parents=True, exist_ok=True)
        db_path = self.folder / "liuyan.db"
        for leftover in self.folder.glob("liuyan.db*"):
            leftover.unlink()
        clock = self.clock
        # the stand-in dates messages in sandbox time too, so the page shows sandbox hours
        self.standin = BotApiStandin(enforce_limits=self.enforce_limits, wall_clock=lambda: clock().timestamp())
        await self.standin.start()
        try:
            if self.own_config is None:
                chats = CHAT_TITLES
                people = [(p.user_id, p.name) for p in PEOPLE]
                self.config_path.write_text(demo_config_text(db_path.resolve(), 0, self.standin.base_url,
                                                             db_url=self.db_url), encoding="utf-8")
                self.config = load_config(self.config_path)
            else:
                self.config = offline_copy(self.own_config, self.standin.base_url,
                                           self.db_url or f"sqlite:///{db_path.resolve().as_posix()}")
                chats = deployment_chats(self.config)
                people = [(o.user_id, o.name) for o in self.config.officers]
            forums = {r.chat_id for r in self.config.regions
                      if self.own_config is None and r.code in self.scenario.forums}
            for chat_id, title in chats.items():
                self.standin.register_chat(chat_id, title, type="supergroup", is_forum=chat_id in forums)
            for user_id, name in (*people, VISITOR):
                self.standin.register_user(user_id, name)
                self.standin.register_chat(user_id, name, type="private")
            ensure_offline(self.config)
            if self.own_config is None:
                self.scenario.check_roster(self.config)
            services = AppContext.create(self.config, clock=clock)
            self.service = Service.create(self.config, services=services, poll_seconds=0.2)
            await self.service.start(scheduler=self.use_scheduler)
            if self.serve_web:
                from bot.demo.web import SandboxHub, start_sandbox_web

                self.hub = SandboxHub(self.service, self.standin, clock)
                self.web_runner, self.web_url = await start_sandbox_web(self.service, self.standin, self.port,
                                                                        clock=clock, hub=self.hub)
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self.web_runner is not None:
            await self.web_runner.cleanup()
            self.web_runner = None
        if self.service is not None:
            await self.service.stop()
            self.service.services.db.dispose()
            self.service = None
        if self.standin is not None:
            await self.standin.stop()
            self.standin = None

    async def post_samples(self) -> int:
        """The demo's sample messages through the intake API, as the board's crawler would post them:
        routed by the deployment's own aliases, or to its desk."""
        import json

        import aiohttp

        lines = (DEMO_DATA / "messages.jsonl").read_text(encoding="utf-8").splitlines()
        batch = [{k: v for k, v in json.loads(line).items() if k in SAMPLE_FIELDS} for line in lines if line.strip()]
        headers = {"Authorization": f"Bearer {self.config.api.token}"}
        async with aiohttp.ClientSession() as http, http.post(f"{self.api_url}/api/v1/messages", json=batch,
                                                              headers=headers) as response:
            response.raise_for_status()
        return len(batch)

    def runner(self, narrate: Any = None) -> ScenarioRunner:
        def note(name: str) -> None:
            if self.hub is not None:
                self.hub.narrate(name)
            if narrate is not None:
                narrate(name)

        return ScenarioRunner(self.scenario, service=self.service, standin=self.standin, clock=self.clock,
                              api_url=self.api_url, narrate=note)


async def run_demo(*, port: int = 8000, folder: Path = Path("liuyan-demo"), speed: float = 1.0,
                   duration: float | None = None, config_path: str | None = None) -> int:
    """The scripted training scenario; or, with ``config_path``, the deployment's own regions and
    roster in the web chat, fed the demo's sample messages, for an office to rehearse its setup."""
    if not speed > 0:
        print(f"liuyan demo: --speed must be above 0, got {speed}", file=sys.stderr)
        return 2
    renderer = Renderer("zh")
    own = None
    if config_path is not None:
        from bot.config import ConfigError, format_error

        try:
            own = load_config(config_path)
        except ConfigError as err:
            print(format_error(err), file=sys.stderr)
            return 2
    try:
        box = DemoSandbox(folder, port=port, speed=speed, own_config=own,
                          start=datetime.now(own.schedule.tz) if own is not None else None)
        await box.__aenter__()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            print(f"liuyan demo: port {port} is in use; choose another with --port", file=sys.stderr)
            return 1
        raise
    printer = DemoPrinter(box.standin)
    tasks: list[asyncio.Task[Any]] = []
    try:
        scenario = box.scenario
        print(renderer.template("demo_banner.txt.j2", "zh", web=box.web_url, api=box.api_url, folder=str(folder),
                                config=config_path or str(box.config_path), rehearsal=config_path), flush=True)
        if own is None:
            print(renderer.text("web.demo_clock", "zh", start=scenario.start.strftime("%Y-%m-%d %H:%M"),
                                rate=f"{box.clock.rate:g}",
                                minutes=f"{max(1, round(real_duration(scenario, speed).total_seconds() / 60))}"),
                  flush=True)
        tasks.append(asyncio.create_task(printer.run()))
        if own is None:
            runner = box.runner(narrate=lambda name: printer.note(renderer.text(f"web.narration.{name}", "zh")))
            tasks.append(asyncio.create_task(runner.run()))
        else:
            await box.post_samples()
        if duration is not None:
            await asyncio.sleep(duration)
        else:
            await asyncio.Event().wait()
    except (KeyboardInterrupt, asyncio.CancelledError):
        pass
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        await box.__aexit__(None, None, None)
    return 0
