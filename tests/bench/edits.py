"""Row 8: edits per item. An officer claims an item, notes progress and replies within a second;
how many edits of its card (and renames of its forum topic) reach Telegram for that, with the
delivery worker's coalescing and without it. Every edit is one of the group's twenty requests a
minute, so fewer edits leave room for the cards and answers that matter."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from bot.app_context import wall_clock
from bot.delivery.forums import probe_forums
from bot.delivery.pacing import Limit, Pacer
from tests.bench.common import Row, fresh_database
from tests.conftest import LANZHOU_CHAT, ZHANG, make_config, unique_id
from tests.harness import Harness

TARGET = 1.0  # edits of the card per item for claim + note + reply within a second


async def _measure(db: str | None, items: int, coalesce: bool) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as folder:
        config = make_config(fresh_database(db, Path(folder)))
        # Telegram's limits opened wide: the figure is about how many edits, not how fast
        wide = Pacer(group=Limit(10_000, 60.0), private=Limit(10_000, 1.0), overall=Limit(10_000, 1.0))
        async with Harness(config, pacer=wide) as h:
            worker = h.service.delivery
            if not coalesce:
                worker.coalesce_seconds = 0.0
            h.standin.set_forum(LANZHOU_CHAT, True)
            await probe_forums(h.services.db, h.service.app.bot, wall_clock)
            posted = [await h.post_message(external_id=unique_id("edits"), title="夜间施工噪音",
                                           body="城关区雁滩路夜间施工噪音扰民，请查处。") for _ in range(items)]
            for item in posted:
                await h.card(LANZHOU_CHAT, item["id"], timeout=30)
            await h.drain(60)
            edits0 = h.standin.stats.get("method:editMessageText", 0)
            renames0 = h.standin.stats.get("method:editForumTopic", 0)
            for item in posted:  # one officer after another: claim, note, reply within a second
                n = item["id"]
                for text in (f"/claim {n}", f"/note {n} 已联系施工单位", f"/reply {n} 已责令夜间停工。"):
                    h.standin.inject_message(LANZHOU_CHAT, ZHANG, text)
                    await asyncio.sleep(0.2)
                await h.standin.wait_for_message(LANZHOU_CHAT, contains=f"#{n} 已回复", timeout=30)
            await h.drain(120)
            for item in posted:
                assert (await h.get_item(item["id"]))["status"] == "replied", item
            edits = h.standin.stats.get("method:editMessageText", 0) - edits0
            renames = h.standin.stats.get("method:editForumTopic", 0) - renames0
            return edits / items, renames / items


async def bench_edits(items: int = 20, db: str | None = None) -> Row:
    edits, renames = await _measure(db, items, coalesce=True)
    plain_edits, plain_renames = await _measure(db, items, coalesce=False)
    return Row("10. Edits per item", f"{edits:.2f} card edits, {renames:.2f} topic renames per item "
               f"(claim + note + reply within 1 s; {plain_edits:.2f} and {plain_renames:.2f} without coalescing)",
               f"≤ {TARGET:.0f} edit per item", edits <= TARGET,
               {"items": items, "edits": edits, "renames": renames, "edits_uncoalesced": plain_edits,
                "renames_uncoalesced": plain_renames})
