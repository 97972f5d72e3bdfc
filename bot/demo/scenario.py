"""Training scenarios: a timeline of what happens, played on the sandbox clock.

A trainee (跟班培训) or an evaluator should watch, in minutes, what takes a real office days: items
arriving, officers claiming and replying, items nobody touches being nagged and escalated, a
sensitive alert, and Monday's weekly roundup. A :class:`Scenario` is that timeline as data
(``bot/demo/data/scenario.toml``); :class:`ScenarioRunner` waits for each step's sandbox time and
plays it the way the outside world would: samples arrive over the intake API, people type and press
buttons in the Bot API stand-in. Nothing here changes an item itself — the service does, as always.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from bot.demo.clock import SandboxClock

log = logging.getLogger(__name__)

DEMO_DATA = Path(__file__).parent / "data"
SCENARIO_FILE = DEMO_DATA / "scenario.toml"
MESSAGES_FILE = DEMO_DATA / "messages.jsonl"
RATINGS = ("satisfied", "basically_satisfied", "unsatisfied")
ACTIONS = ("message", "say", "press", "rating", "jump", "narrate")
_STEP_KEYS = set(ACTIONS) | {"at", "item", "by", "chat", "reply"}
_PLACEHOLDER = re.compile(r"\{([^{}\s]+)\}")


class ScenarioError(ValueError):
    """A scenario file that cannot be played; the message names the step and the key."""


@dataclass(frozen=True)
class Step:
    index: int
    at: datetime
    message: str | None = None
    say: str | None = None
    press: str | None = None
    rating: str | None = None
    jump: datetime | None = None
    narrate: str | None = None
    item: str | None = None
    by: int | None = None
    chat: str = "region"
    reply: bool = False


@dataclass(frozen=True)
class Scenario:
    start: datetime
    rate: float
    steps: tuple[Step, ...]
    samples: dict[str, dict[str, Any]] = field(repr=False)
    forums: tuple[str, ...] = ()  # regions whose group has topics (a topic per item)

    @property
    def end(self) -> datetime:
        return max(max(s.at for s in self.steps), max((s.jump for s in self.steps if s.jump), default=self.start))

    def narrations(self) -> list[str]:
        return [s.narrate for s in self.steps if s.narrate]

    def check_roster(self, config: Any) -> None:
        """Every person and region the scenario names must be in the config it runs against."""
        people = {o.user_id for o in config.officers}
        regions = {r.code for r in config.regions}
        for s in self.steps:
            if s.by is not None and s.by not in people:
                raise ScenarioError(f"step[{s.index}].by: user {s.by} is not in the roster")
            if s.chat not in ("region", "desk", "leaders", "private") and s.chat not in regions:
                raise ScenarioError(f"step[{s.index}].chat: unknown region {s.chat!r}")
        for code in self.forums:
            if code not in regions:
                raise ScenarioError(f"forums: unknown region {code!r}")


def load_samples(path: Path = MESSAGES_FILE) -> dict[str, dict[str, Any]]:
    """Sample messages (JSON lines, the intake API's fields) by external id."""
    samples: dict[str, dict[str, Any]] = {}
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ScenarioError(f"{path.name} line {n}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict) or not isinstance(row.get("external_id"), str):
                raise ScenarioError(f"{path.name} line {n}: needs a string external_id")
            samples[row["external_id"]] = row
    return samples


def _local(value: Any, tz: ZoneInfo, where: str) -> datetime:
    """A TOML date-time: local ones are read in the deployment's timezone."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ScenarioError(f"{where}: not a date-time: {value!r}") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tz)
    raise ScenarioError(f"{where}: expected a date-time like 2026-11-12T09:00:00, got {value!r}")


SCENARIO_TZ = ZoneInfo("Asia/Shanghai")  # the scenario is written in Gansu's local time


def load_scenario(path: Path = SCENARIO_FILE, *, samples_path: Path = MESSAGES_FILE,
                  tz: ZoneInfo = SCENARIO_TZ) -> Scenario:
    """Read and check a scenario: known keys, times in order, items that exist before they are used."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path.name}: {exc}") from None
    samples = load_samples(samples_path)
    start = _local(data.get("start"), tz, "start")
    rate = data.get("rate", 60)
    if not isinstance(rate, (int, float)) or rate <= 0:
        raise ScenarioError(f"rate: must be a number above 0, got {rate!r}")
    raw_steps = data.get("step", [])
    if not isinstance(raw_steps, list) or not raw_steps:
        raise ScenarioError("step: the scenario has no [[step]]")
    steps: list[Step] = []
    arrived: set[str] = set()
    earliest = start
    for i, raw in enumerate(raw_steps):
        where = f"step[{i}]"
        unknown = sorted(set(raw) - _STEP_KEYS)
        if unknown:
            raise ScenarioError(f"{where}.{unknown[0]}: unknown key (known: {', '.join(sorted(_STEP_KEYS))})")
        if not any(k in raw for k in ACTIONS):
            raise ScenarioError(f"{where}: does nothing (give one of {', '.join(ACTIONS)})")
        at = _local(raw.get("at"), tz, f"{where}.at")
        if at < earliest:
            raise ScenarioError(f"{where}.at: {at.isoformat()} is before the step it follows ({earliest.isoformat()})")
        jump = _local(raw["jump"], tz, f"{where}.jump") if "jump" in raw else None
        if jump is not None and jump < at:
            raise ScenarioError(f"{where}.jump: the sandbox clock never goes back")
        step = Step(index=i, at=at, message=raw.get("message"), say=raw.get("say"), press=raw.get("press"),
                    rating=raw.get("rating"), jump=jump, narrate=raw.get("narrate"), item=raw.get("item"),
                    by=raw.get("by"), chat=raw.get("chat", "region"), reply=bool(raw.get("reply", False)))
        _check_step(step, where, samples, arrived)
        if step.message:
            arrived.add(step.message)
        steps.append(step)
        earliest = jump or at
    forums = data.get("forums", [])
    if not isinstance(forums, list) or not all(isinstance(code, str) for code in forums):
        raise ScenarioError(f"forums: a list of region codes, got {forums!r}")
    return Scenario(start=start, rate=float(rate), steps=tuple(steps), samples=samples, forums=tuple(forums))


def _check_step(step: Step, where: str, samples: dict[str, dict[str, Any]], arrived: set[str]) -> None:
    if step.message is not None:
        if step.message not in samples:
            raise ScenarioError(f"{where}.message: no sample {step.message!r} in {MESSAGES_FILE.name}")
        if step.message in arrived:
            raise ScenarioError(f"{where}.message: {step.message!r} already arrived")
    if step.item is not None and step.item not in arrived:
        raise ScenarioError(f"{where}.item: {step.item!r} has not arrived by then")
    if (step.say is not None or step.press is not None) and not isinstance(step.by, int):
        raise ScenarioError(f"{where}.by: who says or presses (a user id) is required")
    if step.press is not None and step.item is None:
        raise ScenarioError(f"{where}.item: a button press needs the item whose button it is")
    if step.rating is not None:
        if step.rating not in RATINGS:
            raise ScenarioError(f"{where}.rating: one of {', '.join(RATINGS)}, got {step.rating!r}")
        if step.item is None:
            raise ScenarioError(f"{where}.item: a rating needs the item it rates")
    if step.reply and step.item is None:
        raise ScenarioError(f"{where}.reply: replying to a card needs the item")
    if step.chat == "region" and (step.say is not None or step.press is not None) and step.item is None:
        raise ScenarioError(f"{where}.chat: say which chat (no item to take the region from)")
    for name in _PLACEHOLDER.findall(step.say or ""):
        if name not in arrived:
            raise ScenarioError(f"{where}.say: {{{name}}} names no item that has arrived by then")


class StepSkipped(Exception):
    """A step that no longer makes sense (the trainee was faster); the scenario goes on."""


Narrator = Callable[[str], None]


class ScenarioRunner:
    """Plays a scenario against a running service and stand-in, on the sandbox clock."""

    def __init__(self, scenario: Scenario, *, service: Any, standin: Any, clock: SandboxClock,
                 api_url: str, narrate: Narrator | None = None, wait_seconds: float = 20.0) -> None:
        self.scenario = scenario
        self.service = service
        self.s = service.services
        self.standin = standin
        self.clock = clock
        self.api_url = api_url.rstrip("/")
        self.narrate = narrate or (lambda name: None)
        self.wait_seconds = wait_seconds
        self.items: dict[str, int] = {}
        self.done: list[int] = []
        self.skipped: list[tuple[int, str]] = []
        self.finished = asyncio.Event()
        self._http: aiohttp.ClientSession | None = None

    async def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.s.config.api.token}"}
        async with aiohttp.ClientSession(headers=headers) as http:
            self._http = http
            try:
                for step in self.scenario.steps:
                    await self.clock.sleep_until(step.at)
                    if step.narrate:
                        self.narrate(step.narrate)
                    try:
                        await self.perform(step)
                        self.done.append(step.index)
                    except StepSkipped as why:
                        log.info("scenario step %s skipped: %s", step.index, why)
                        self.skipped.append((step.index, str(why)))
            finally:
                self._http = None
                self.finished.set()

    async def perform(self, step: Step) -> None:
        if step.message is not None:
            await self._arrive(step.message)
        if step.say is not None:
            await self._say(step)
        if step.press is not None:
            await self._press(step)
        if step.rating is not None:
            await self._rate(step)
        if step.jump is not None and step.jump > self.clock():
            self.clock.jump_to(step.jump)
            nudge_sweep(self.service)

    # ------------------------------------------------------------------ the outside world

    async def _arrive(self, external_id: str) -> None:
        """The sample comes in over the intake API, as the message board's crawler would send it."""
        assert self._http is not None
        sample = dict(self.scenario.samples[external_id])
        async with self._http.post(f"{self.api_url}/api/v1/messages", json=sample) as resp:
            body = await resp.json()
            if resp.status not in (200, 201):
                raise StepSkipped(f"intake answered {resp.status}: {body.get('error')}")
        self.items[external_id] = body["id"]

    async def _rate(self, step: Step) -> None:
        assert self._http is not None and step.item is not None and step.rating is not None
        item_id = self._item(step.item)
        # a citizen rates a reply they have seen: give the officer's reply (already sent to the bot)
        # a few seconds to be stored before rating, polling with a deadline
        deadline = asyncio.get_running_loop().time() + 10.0
        while asyncio.get_running_loop().time() < deadline:
            async with self._http.get(f"{self.api_url}/api/v1/messages/{item_id}") as resp:
                if resp.status == 200 and (await resp.json()).get("status") in ("replied", "closed"):
                    break
            await asyncio.sleep(0.1)
        async with self._http.post(f"{self.api_url}/api/v1/messages/{item_id}/rating",
                                   json={"rating": step.rating}) as resp:
            if resp.status != 200:
                raise StepSkipped(f"rating #{item_id} answered {resp.status}: {(await resp.json()).get('error')}")

    async def _say(self, step: Step) -> None:
        assert step.say is not None and step.by is not None
        chat_id = await self._chat(step)
        text = _PLACEHOLDER.sub(lambda m: str(self._item(m.group(1))), step.say)
        reply_to = await self._card_message(self._item(step.item), chat_id) if step.reply and step.item else None
        # in a forum group, people write about an item inside its topic (a reply finds it by itself)
        thread = await self._topic(self._item(step.item), chat_id) if step.item and reply_to is None else None
        self.standin.inject_message(chat_id, step.by, text, reply_to_message_id=reply_to, message_thread_id=thread)

    async def _press(self, step: Step) -> None:
        assert step.press is not None and step.item is not None and step.by is not None
        item_id = self._item(step.item)
        state = await self.s.db.run(_item_state, item_id)
        if step.press == "claim" and state["status"] != "new":
            raise StepSkipped(f"#{item_id} is already {state['status']}")
        if step.press == "supervise" and state["supervised"]:
            raise StepSkipped(f"#{item_id} is already supervised")
        chat_id = await self._chat(step)
        data = f"{step.press}:{item_id}"

        def holder(st: Any) -> Any:
            return next((m for m in reversed(st.messages(chat_id)) if data in m.callback_data()), None)

        try:
            message = await self.standin.wait_for(holder, timeout=self.wait_seconds)
        except TimeoutError:
            raise StepSkipped(f"no button {data!r} in chat {chat_id}") from None
        try:
            self.standin.press_button(chat_id, message.message_id, step.by, data)
        except ValueError as exc:  # the button went away meanwhile
            raise StepSkipped(str(exc)) from None

    # ------------------------------------------------------------------ lookups

    def _item(self, external_id: str | None) -> int:
        if external_id is None or external_id not in self.items:
            raise StepSkipped(f"item {external_id!r} did not arrive")
        return self.items[external_id]

    async def _chat(self, step: Step) -> int:
        cfg = self.s.config
        if step.chat == "desk":
            return cfg.desk.chat_id
        if step.chat == "leaders":
            return cfg.leaders.chat_id
        if step.chat == "private":
            assert step.by is not None
            return step.by
        from bot.workflow.roster import region_chat

        wf = self.s.workflow
        if step.chat == "region":
            state = await self.s.db.run(_item_state, self._item(step.item))
            if state["region"] is None:
                return cfg.desk.chat_id
            return await self.s.db.run(region_chat, wf, state["region"])
        return await self.s.db.run(region_chat, wf, step.chat)

    async def _topic(self, item_id: int, chat_id: int) -> int | None:
        """The item's topic in a forum chat, once Telegram created it (None: no topic there)."""
        from bot.delivery.topics import topic_in

        topic = await self.s.db.read(topic_in, item_id, chat_id)
        if topic is None:
            return None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_seconds
        while topic is not None and topic.thread_id is None and loop.time() < deadline:
            await asyncio.sleep(0.1)  # polling the outbox with a deadline: it has no change event
            topic = await self.s.db.read(topic_in, item_id, chat_id)
        return topic.thread_id if topic is not None else None

    async def _card_message(self, item_id: int, chat_id: int) -> int:
        """The Telegram message id of the item's live card in the chat, once it has been sent."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_seconds
        while True:
            message_id = await self.s.db.run(_card_message_id, item_id, chat_id)
            if message_id is not None:
                return message_id
            if loop.time() >= deadline:
                raise StepSkipped(f"no card of #{item_id} in chat {chat_id}")
            await asyncio.sleep(0.1)  # polling the outbox with a deadline: it has no change event


def _item_state(session: Any, item_id: int) -> dict[str, Any]:
    from storage.models import Item

    item = session.get(Item, item_id)
    if item is None:
        raise StepSkipped(f"no item #{item_id}")
    return {"status": item.status, "region": item.region, "supervised": item.supervised}


def _card_message_id(session: Any, item_id: int, chat_id: int) -> int | None:
    from bot.delivery.outbox import active_cards

    for card in active_cards(session, item_id):
        if card.chat_id == chat_id and card.message_id is not None:
            return card.message_id
    return None


def nudge_sweep(service: Any) -> None:
    """Run the scheduler's sweep now instead of at its next tick (after the sandbox clock jumped)."""
    scheduler = getattr(service, "scheduler", None)
    if scheduler is None:
        return
    try:
        scheduler.modify_job("sweep", next_run_time=datetime.now(UTC))
    except Exception as exc:
        log.debug("could not nudge the sweep: %s", exc)


def sandbox_rate(scenario: Scenario, speed: float) -> float:
    """Sandbox seconds per real second for ``liuyan demo --speed``."""
    if not speed > 0:
        raise ScenarioError(f"--speed must be above 0, got {speed}")
    return scenario.rate * speed


def real_duration(scenario: Scenario, speed: float = 1.0) -> timedelta:
    """How long the scenario takes in real time at this speed (jumps cost nothing)."""
    total, at = 0.0, scenario.start
    for step in scenario.steps:
        total += (step.at - at).total_seconds()
        at = step.jump or step.at
    return timedelta(seconds=total / sandbox_rate(scenario, speed))
