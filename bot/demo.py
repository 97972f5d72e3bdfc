"""``liuyan demo``: the whole service offline, on the embedded defaults.

A built-in Bot API stand-in plays Telegram on 127.0.0.1; a SQLite file in ``--dir`` holds the data;
sample messages written for the demo arrive over the intake API, and simulated officers claim,
reply, route and supervise through the stand-in exactly as people would in Telegram. Every message
each chat receives is printed as it arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bot.config import Config, load_config
from bot.render import Renderer

log = logging.getLogger(__name__)

DEMO_DATA = Path(__file__).parent / "demo_data"
DEMO_TOKEN = "1000000001:DEMO-offline-token"

LANZHOU, TIANSHUI, BAIYIN = -1001000000100, -1001000000200, -1001000000300
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
    Person(2001, "刘督办", "*", "supervisor"),
    Person(3001, "陈书记", "*", "leader"),
)


def demo_config_text(db_path: Path, api_port: int, api_url: str) -> str:
    """The demo's config: the CONTRACT's shape with three regions of Gansu and a small roster."""
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
url = "sqlite:///{db_path.as_posix()}"

[api]
host = "127.0.0.1"
port = {api_port}
token = "demo-api-token"

[schedule]
timezone = "Asia/Shanghai"
tick_seconds = 5

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

{officers}'''


CHAT_TITLES = {LANZHOU: "兰州市联络群", TIANSHUI: "天水市联络群", BAIYIN: "白银市联络群",
               DESK: "省委办公厅值班台", LEADERS: "领导专报"}


def load_sample_messages() -> list[dict[str, Any]]:
    with (DEMO_DATA / "messages.jsonl").open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


class DemoPrinter:
    """Prints each chat's new and edited messages, as a person in that chat would see them."""

    def __init__(self, standin: Any, out: Any = sys.stdout) -> None:
        self.standin = standin
        self.out = out

    def line(self, chat_id: int, who: str, text: str, edited: bool = False) -> None:
        title = CHAT_TITLES.get(chat_id) or next((p.name for p in PEOPLE if p.user_id == chat_id), str(chat_id))
        mark = "✏️ " if edited else ""
        body = text if len(text) < 600 else text[:600] + " …"
        print(f"\n┌─ [{title}] {mark}{who}\n│ " + body.replace("\n", "\n│ "), file=self.out, flush=True)

    async def run(self) -> None:
        queue = self.standin.subscribe()
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


class Officers:
    """Simulated officers acting through the stand-in, as people would in Telegram."""

    def __init__(self, standin: Any, printer: DemoPrinter, speed: float) -> None:
        self.standin = standin
        self.printer = printer
        self.speed = speed
        self.rng = random.Random(7)

    async def pause(self, seconds: float) -> None:
        await asyncio.sleep(seconds / self.speed)

    def say(self, chat_id: int, person: Person, text: str, reply_to: int | None = None) -> None:
        self.standin.inject_message(chat_id, person.user_id, text, reply_to_message_id=reply_to)

    async def card_of(self, chat_id: int, item_id: int, timeout: float = 60.0) -> Any:
        pattern = re.compile(rf"^\S+ #{item_id}(?!\d)")

        def find(standin: Any) -> Any:
            return next((m for m in standin.messages(chat_id) if pattern.match(m.text or "") and "📍" in (m.text or "")), None)

        await self.standin.wait_for(lambda st: find(st) is not None, timeout=timeout)
        return find(self.standin)

    async def handle(self, item: dict[str, Any], config: Config) -> None:
        """One item's life: routed if needed, claimed (button or command), replied, supervised."""
        item_id, region = item["id"], item["region"]
        supervisor = next(p for p in PEOPLE if p.role == "supervisor")
        if item.get("sensitive"):
            leader = next(p for p in PEOPLE if p.role == "leader")
            await self.pause(2)
            self.say(LEADERS, leader, f"/supervise {item_id}")
        if region is None:
            await self.card_of(DESK, item_id)
            await self.pause(3)
            region = self.rng.choice([r.code for r in config.regions])
            name = next(r.name for r in config.regions if r.code == region)
            self.say(DESK, supervisor, f"/route {item_id} {name}")
        chat = next(r.chat_id for r in config.regions if r.code == region)
        card = await self.card_of(chat, item_id)
        officers = [p for p in PEOPLE if p.region == region and p.role == "officer"]
        officer = officers[item_id % len(officers)]
        await self.pause(3)
        if item_id % 2:
            self.printer.line(chat, f"👤 {officer.name}", f"（点按钮）🙋 认领 #{item_id}")
            self.standin.press_button(chat, card.message_id, officer.user_id, f"claim:{item_id}")
        else:
            self.say(chat, officer, f"/claim {item_id}")
        await self.pause(6)
        text = "您好，您反映的问题已转交相关部门核实处理，我们将在办理后第一时间答复。感谢您的监督！"
        if item_id % 3 == 0:
            self.say(chat, officer, f"/reply {text}", reply_to=card.message_id)
        else:
            self.say(chat, officer, f"/reply {item_id} {text}")


async def run_demo(*, port: int = 8000, folder: Path = Path("liuyan-demo"), speed: float = 1.0,
                   duration: float | None = None) -> int:
    from bot.service import Service
    from bot.standin import BotApiStandin

    folder.mkdir(parents=True, exist_ok=True)
    db_path = folder / "liuyan.db"
    for leftover in folder.glob("liuyan.db*"):
        leftover.unlink()
    standin = BotApiStandin(enforce_limits=True)
    await standin.start()
    for chat_id, title in CHAT_TITLES.items():
        standin.register_chat(chat_id, title, type="supergroup")
    for p in PEOPLE:
        standin.register_user(p.user_id, p.name)
        standin.register_chat(p.user_id, p.name, type="private")
    config_path = folder / "liuyan.toml"
    config_path.write_text(demo_config_text(db_path.resolve(), 0, standin.base_url), encoding="utf-8")
    config = load_config(config_path)
    service = Service.create(config, poll_seconds=0.2)
    printer = DemoPrinter(standin)
    tasks: list[asyncio.Task[Any]] = []
    await service.start()
    web = web_url = None
    try:
        web, web_url = await _start_web(service, standin, port)
        api = f"http://127.0.0.1:{service.port}"
        renderer = Renderer("zh")
        print(renderer.template("demo_banner.txt.j2", "zh", web=web_url, api=api, folder=str(folder),
                                config=str(config_path)), flush=True)
        tasks.append(asyncio.create_task(printer.run()))
        officers = Officers(standin, printer, speed)
        tasks.append(asyncio.create_task(_feed(api, config, officers, speed)))
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
        if web is not None:
            await web.cleanup()
        await service.stop()
        service.services.db.dispose()
        await standin.stop()
    return 0


async def _start_web(service: Any, standin: Any, port: int) -> Any:
    """The demo's web chat (bot.web.sandbox), when present; returns (runner, url) or (None, None)."""
    try:
        from bot.web.sandbox import start_sandbox_web
    except ImportError:
        return None, None
    return await start_sandbox_web(service, standin, port)


async def _feed(api: str, config: Config, officers: Officers, speed: float) -> None:
    """Sample messages arrive over the intake API at their scenario times; officers act on each."""
    handlers: list[asyncio.Task[Any]] = []
    started = asyncio.get_running_loop().time()
    headers = {"Authorization": f"Bearer {config.api.token}"}
    async with aiohttp.ClientSession() as http:
        for sample in load_sample_messages():
            delay = started + sample.pop("at", 0) / speed - asyncio.get_running_loop().time()
            if delay > 0:
                await asyncio.sleep(delay)
            async with http.post(f"{api}/api/v1/messages", json=sample, headers=headers) as resp:
                item = await resp.json()
            handlers.append(asyncio.create_task(officers.handle(item, config)))
        for task in handlers:
            try:
                await task
            except Exception as exc:  # noqa: BLE001 - a stuck simulated officer must not end the demo
                log.warning("demo officer stopped: %s", exc)
