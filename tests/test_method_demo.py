"""The sandbox's scenario plays 报前核查 and 重办 through the service: the supervisor chooses an item,
its officer presses a verdict, the citizen is unsatisfied, the holder replies again."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path

from sqlmodel import select

from bot.demo.runner import DemoSandbox
from bot.demo.scenario import load_scenario
from storage.models import Event, Selection


async def test_the_scenario_chooses_verifies_and_reopens(tmp_path: Path, db_url: str) -> None:
    path = tmp_path / "method.toml"
    path.write_text(textwrap.dedent("""
        start = 2026-11-12T08:59:00
        rate = 3600
        [[step]]
        at = 2026-11-12T09:00:00
        message = "demo-001"
        [[step]]
        at = 2026-11-12T09:10:00
        press = "claim"
        item = "demo-001"
        by = 1001
        [[step]]
        at = 2026-11-12T09:20:00
        say = "/reply {demo-001} 已责令工地停止夜间施工。"
        item = "demo-001"
        by = 1001
        [[step]]
        at = 2026-11-12T09:30:00
        say = "/select {demo-001}"
        item = "demo-001"
        chat = "desk"
        by = 2001
        narrate = "verification"
        [[step]]
        at = 2026-11-12T09:40:00
        press = "vf_p"
        item = "demo-001"
        by = 1001
        narrate = "verified"
        [[step]]
        at = 2026-11-12T09:50:00
        rating = "unsatisfied"
        item = "demo-001"
        narrate = "reopened"
        [[step]]
        at = 2026-11-12T10:00:00
        say = "/reply {demo-001} 已安排夜间巡查，工地已停工整改。"
        item = "demo-001"
        by = 1001
        narrate = "rehandled"
        """), encoding="utf-8")
    scenario = load_scenario(path)
    async with DemoSandbox(tmp_path / "demo", scenario=scenario, enforce_limits=False, db_url=db_url,
                           scheduler=False) as sandbox:
        runner = sandbox.runner()
        await asyncio.wait_for(runner.run(), 60)
        assert runner.skipped == [] and len(runner.done) == 7
        item_id = runner.items["demo-001"]

        def facts(session):  # type: ignore[no-untyped-def]
            selection = session.exec(select(Selection).where(Selection.item_id == item_id)).one()
            actions = [e.action for e in session.exec(select(Event).where(Event.item_id == item_id).order_by(Event.id))]
            return selection.verdict, selection.verified_by_name, actions

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while True:  # the last reply is a command the bot is still handling: poll with a deadline
            verdict, by, actions = await sandbox.service.services.db.run(facts)
            if actions.count("replied") == 2 or loop.time() > deadline:
                break
            await asyncio.sleep(0.1)
        assert verdict == "partly" and by == "张三"
        # (the first reply and the choice are commands typed moments apart: either may be handled first)
        assert {"selected", "verified"} <= set(actions)
        assert [a for a in actions if a in ("replied", "rated", "reopened")] == ["replied", "rated", "reopened", "replied"]
