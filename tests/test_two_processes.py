"""Two services on one PostgreSQL database (webhook mode, behind one address): scheduled messages
are queued and sent once, and two delivery workers never send one row twice.

Each service has its own engine, connection pool, delivery worker and web server, as two processes
would; they race through the database only. PostgreSQL only: SQLite serialises all writers anyway.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections import Counter
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

import scheduler.sweep
from bot.delivery.outbox import PRIORITY_LANE, enqueue_message
from bot.delivery.pacing import Limit, Pacer
from bot.standin import BotApiStandin
from bot.workflow import Incoming, WorkflowContext
from bot.workflow.intake import intake
from bot.workflow.roster import region_chat
from scheduler.sweep import SweepReport, sweep
from storage.models import Outbox
from tests.conftest import LEADERS_CHAT, make_config
from tests.harness import Harness
from tests.test_delivery import REGION_CHATS, REGIONS

pytestmark = pytest.mark.skipif(not os.environ.get("LIUYAN_TEST_DATABASE_URL"),
                                reason="needs PostgreSQL (LIUYAN_TEST_DATABASE_URL)")

NOW = datetime(2026, 10, 12, 1, 0, tzinfo=UTC)  # Monday 09:00 in Asia/Shanghai


@pytest.fixture
def db_url(db_url: str) -> str:  # type: ignore[override]
    if db_url.startswith("sqlite"):
        pytest.skip("two processes on one database: PostgreSQL only")
    return db_url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fast_pacer() -> Pacer:
    return Pacer(group=Limit(10_000, 60.0), private=Limit(10_000, 1.0), overall=Limit(10_000, 1.0))


async def two_services(stack: AsyncExitStack, db_url: str) -> tuple[Harness, Harness, BotApiStandin]:
    standin = BotApiStandin(enforce_limits=False)
    await standin.start()
    stack.push_async_callback(standin.stop)
    out = []
    for secret in ("first-secret", "second-secret"):
        port = free_port()
        config = make_config(db_url, regions=REGIONS, api__port=port, telegram__mode="webhook",
                             telegram__webhook_url=f"http://127.0.0.1:{port}/telegram/webhook",
                             telegram__webhook_secret=secret)
        out.append(await stack.enter_async_context(Harness(config, standin=standin, pacer=fast_pacer())))
    return out[0], out[1], standin


def weekly_digest(session: Session, wf: WorkflowContext, now: datetime, report: SweepReport) -> None:
    """A stand-in for the scheduled parts: one message per ISO week and one per open item, each
    with a dedupe key, queued by check-then-insert exactly as the real parts do."""
    week = now.isocalendar()
    row = enqueue_message(session, wf.config.leaders.chat_id, f"周报 {week.year}-W{week.week}", now=now,
                          purpose="digest", dedupe_key=f"test-digest:{week.year}-{week.week}")
    report.add("digest", int(row is not None))
    from storage.models import Item

    for item in session.exec(select(Item).where(Item.status == "new")):
        chat = region_chat(session, wf, item.region) if item.region else wf.config.desk.chat_id
        row = enqueue_message(session, chat, f"提醒：#{item.id} 尚未认领", now=now, purpose="reminder",
                              dedupe_key=f"test-unclaimed:{item.id}")
        report.add("reminder", int(row is not None))


async def test_concurrent_sweeps_in_two_services_queue_and_send_each_scheduled_message_once(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    real_parts = scheduler.sweep.parts()
    monkeypatch.setattr(scheduler.sweep, "parts", lambda: [*real_parts, weekly_digest])
    async with AsyncExitStack() as stack:
        a, b, standin = await two_services(stack, db_url)
        codes = list(REGION_CHATS)
        old = NOW - timedelta(days=10)
        items = [Incoming(f"due-{i}", f"第{i}件：小区路灯坏了很久，希望尽快维修。", region=codes[i % 14], received_at=old)
                 for i in range(40)]
        await a.services.act(intake, a.services.workflow, items, old)
        await a.drain(30)
        before = {r.id for r in await a.services.db.run(lambda s: list(s.exec(select(Outbox))))}
        # both services sweep the same instants at the same time, ten times over
        for minute in range(10):
            at = NOW + timedelta(minutes=minute)
            await asyncio.gather(*(h.services.act(sweep, h.services.workflow, at) for h in (a, b) for _ in range(2)))
        await asyncio.gather(a.drain(60), b.drain(60))
        every = await a.services.db.run(lambda s: list(s.exec(select(Outbox))))
        rows = [r for r in every if r.id not in before]

    keys = [r.dedupe_key for r in rows]
    assert len(keys) == len(set(keys)) and None not in keys, "a scheduled row without a key or queued twice"
    assert {"test-digest:2026-42"} <= set(keys) and sum(k.startswith("test-unclaimed:") for k in keys) == 40
    assert all(r.status == "sent" for r in rows)
    # sent once: every chat shows exactly as many messages as rows were sent to it
    for chat in {r.chat_id for r in every}:
        posts = [r for r in every if r.chat_id == chat and r.method != "editMessageText"]
        assert len(standin.messages(chat)) == len(posts), chat
        assert {r.message_id for r in posts} == {m.message_id for m in standin.messages(chat)}
    assert sum(m.text.startswith("周报") for m in standin.messages(LEADERS_CHAT)) == 1
    real = Counter(r.purpose for r in rows if not (r.dedupe_key or "").startswith("test-"))
    print(f"\nscheduled rows queued once by two racing services: {dict(real)} (+ the test's own)")


async def test_two_delivery_workers_on_one_outbox_never_send_a_row_twice(db_url: str) -> None:
    async with AsyncExitStack() as stack:
        a, b, standin = await two_services(stack, db_url)
        chats = [*REGION_CHATS.values(), LEADERS_CHAT]

        def queue(session: Session) -> None:
            for i in range(600):
                enqueue_message(session, chats[i % len(chats)], f"消息 {i}", now=NOW,
                                lane=PRIORITY_LANE if i % 7 == 0 else 1)

        for h in (a, b):
            h.service.delivery.max_in_flight = 8
        await a.services.act(queue)
        b.service.delivery.wake()
        await asyncio.gather(a.drain(60), b.drain(60))
        sent_by = Counter()
        for worker, name in ((a.service.delivery, "a"), (b.service.delivery, "b")):
            sent_by[name] = worker.stats.sent
    texts = Counter(m.text for c in chats for m in standin.messages(c))
    assert len(texts) == 600 and set(texts.values()) == {1}, [t for t, n in texts.items() if n > 1][:5]
    assert sent_by["a"] > 0 and sent_by["b"] > 0, f"both workers must have taken part: {dict(sent_by)}"
    # each chat still saw its messages in order
    for chat in chats:
        numbers = [int(m.text.split()[1]) for m in standin.messages(chat)]
        routine = [n for n in numbers if n % 7]
        assert routine == sorted(routine)
