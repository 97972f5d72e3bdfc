"""Row 1: intake through the HTTP API against a bare insert of the same rows.

The API side: the running service (its own process) takes real citizen messages in batches of
100 over HTTP; each is stored, routed, triaged and its card (and, when sensitive, the alerts)
queued, all in one transaction per batch, while the delivery worker sends under the stand-in's
flood limits as it would in production.

The bare side: the very rows that intake wrote (items, events, outbox rows, cards) read back and
inserted into fresh copies of those tables in the same database, with the same engine settings and
driver, by SQLAlchemy core ``executemany`` in one transaction per 100 items: what the storage alone
costs. The two alternate in rounds, so a noisy neighbour slows both alike and the ratio holds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from sqlalchemy import Column, Index, MetaData, Table, UniqueConstraint, select

from storage.db import make_engine
from storage.models import Card, Event, Item, Outbox
from tests.bench.common import BenchEnv, Row, batches, make_items

TARGET_RATIO = 0.5
TABLES = (Item.__table__, Event.__table__, Outbox.__table__, Card.__table__)  # type: ignore[attr-defined]


def clone_tables(metadata: MetaData, prefix: str = "bench_") -> dict[str, Table]:
    """Copies of the tables the intake writes: same columns, types, indexes and unique
    constraints (renamed), no foreign keys (the bare insert checks nothing)."""
    out: dict[str, Table] = {}
    for table in TABLES:
        cols = [Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable) for c in table.columns]
        copy = Table(prefix + table.name, metadata, *cols)
        for idx in table.indexes:
            Index(prefix + str(idx.name), *[copy.c[c.name] for c in idx.columns], unique=bool(idx.unique))
        for cons in table.constraints:
            if isinstance(cons, UniqueConstraint) and cons.columns:
                names = [c.name for c in cons.columns]
                copy.append_constraint(UniqueConstraint(*names, name=prefix + str(cons.name or "_".join(names))))
        out[table.name] = copy
    return out


def read_rows(engine: Any, item_ids: Sequence[int]) -> dict[str, list[dict[str, Any]]]:
    """Everything the intake of these items wrote, as plain dicts keyed by table name."""
    rows: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for table in TABLES:
            key = table.c.id if table.name == "items" else table.c.item_id
            found: list[dict[str, Any]] = []
            for chunk in batches(list(item_ids), 500):
                found += [dict(r._mapping) for r in conn.execute(select(table).where(key.in_(chunk)))]
            rows[table.name] = found
    return rows


def bare_insert(engine: Any, copies: dict[str, Table], rows: dict[str, list[dict[str, Any]]],
                per_txn: int = 100) -> float:
    """Insert ``rows`` into the copies, one transaction per ``per_txn`` items; seconds taken."""
    by_item: dict[str, dict[int, list[dict[str, Any]]]] = {}
    for name, found in rows.items():
        groups: dict[int, list[dict[str, Any]]] = {}
        for r in found:
            groups.setdefault(r["id"] if name == "items" else r["item_id"], []).append(r)
        by_item[name] = groups
    item_ids = sorted(by_item["items"])
    work = []
    for chunk in batches(item_ids, per_txn):
        work.append({name: [r for i in chunk for r in by_item[name].get(i, [])] for name in by_item})
    started = time.perf_counter()
    for txn in work:
        with engine.begin() as conn:
            for table in TABLES:
                if txn[table.name]:
                    conn.execute(copies[table.name].insert(), txn[table.name])
    return time.perf_counter() - started


async def _client(env: BenchEnv, queue: asyncio.Queue[list[dict[str, Any]]], ids: list[int]) -> None:
    """One crawler connection: posts batches until none is left, collecting the new items' ids."""
    while not queue.empty():
        answer = await env.post(queue.get_nowait())
        ids.extend(it["id"] for it in answer["items"] if it["created"])


async def bench_intake(n: int = 10_000, db: str | None = None, *, rounds: int = 5, concurrency: int = 1,
                       batch_size: int = 100) -> Row:
    items = make_items(n, prefix="intake")
    warm = make_items(min(batch_size, max(10, n // 10)), prefix="warm", start=n)
    async with BenchEnv(db=db, enforce_limits=True, name="intake") as env:
        engine = make_engine(env.db_url)
        try:
            metadata = MetaData()
            copies = clone_tables(metadata)
            metadata.create_all(engine)
            # warm both sides once (template compilation, statement caches, connection pools)
            warm_ids = [it["id"] for it in await env.intake(warm, batch_size)]
            bare_insert(engine, copies, read_rows(engine, warm_ids))

            api_seconds = bare_seconds = 0.0
            stored = 0
            per_round: list[tuple[int, int]] = []  # (API items/s, bare items/s) of each round
            for part in batches(items, max(batch_size, -(-n // rounds))):
                queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
                for chunk in batches(part, batch_size):
                    queue.put_nowait(chunk)
                ids: list[int] = []

                started = time.perf_counter()
                await asyncio.gather(*(_client(env, queue, ids) for _ in range(concurrency)))
                took = time.perf_counter() - started
                api_seconds += took
                if len(ids) != len(part):
                    raise RuntimeError(f"intake stored {len(ids)} of {len(part)} items")
                stored += len(ids)
                rows = await asyncio.to_thread(read_rows, engine, ids)
                bare = await asyncio.to_thread(bare_insert, engine, copies, rows)
                bare_seconds += bare
                per_round.append((round(len(ids) / took), round(len(ids) / bare)))
            row_counts = {name: len(v) for name, v in rows.items()}
        finally:
            engine.dispose()
    api_rate = stored / api_seconds
    bare_rate = stored / bare_seconds
    ratio = api_rate / bare_rate
    parts = await asyncio.to_thread(breakdown, min(n, 2000))
    shares = ", ".join(f"{name} {ms_each * 1000:.0f} µs" for name, ms_each in parts.items())
    learning = await asyncio.to_thread(while_training, min(n, 1000), max(200, min(n, 4000)))
    learned = (f"; the intake step alone, messages without a region (the bench's regions are not the "
               f"data's: nearly all unrouted, each one suggested for — the worst case), items/s: no routing model "
               f"{learning['no model']:,.0f}, with one {learning['with a model']:,.0f}, while it retrains "
               f"({learning['training seconds (in process)']:.0f} s) in its own process "
               f"{learning['while retraining in a process']:,.0f} (in a thread instead: "
               f"{learning['while retraining in a thread']:,.0f})")
    return Row(
        "1. Intake: items/s through the HTTP API (batches of 100) ÷ bare insert of the same rows",
        f"{api_rate:,.0f} items/s vs {bare_rate:,.0f} bare: **{ratio:.2f}** ({stored:,} items, {rounds} rounds); "
        f"per item {1000 / api_rate:.2f} ms through the API vs {1000 / bare_rate:.2f} ms bare, of which "
        f"(in-process, one core) {shares}{learned}",
        f"≥ {TARGET_RATIO}",
        ratio >= TARGET_RATIO,
        {"api_rate": api_rate, "bare_rate": bare_rate, "ratio": ratio, "items": stored,
         "api_seconds": api_seconds, "bare_seconds": bare_seconds, "rows_per_last_round": row_counts,
         "per_round": per_round, "breakdown_ms": parts, "learning": learning},
    )


def breakdown(n: int = 2000) -> dict[str, float]:
    """Milliseconds per item of the parts of intake, each timed alone in this process over ``n``
    real messages: what the ratio is made of (the HTTP and JSON work is the rest of the API's time)."""
    import tempfile
    from datetime import datetime

    from bot.app_context import AppContext
    from bot.reports.hot_issues import title_terms
    from bot.workflow import Incoming
    from bot.workflow.cards import render_card
    from bot.workflow.intake import intake, triage_fields
    from bot.workflow.leaders import similar_terms
    from tests.bench.common import bench_config

    messages = make_items(n, prefix="parts")
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="liuyan-bench-parts-") as folder:
        s = AppContext.create(bench_config(f"sqlite:///{folder}/parts.db"))
        wf = s.workflow
        incoming = [Incoming(m["external_id"], m["body"], title=m.get("title", ""), region=m["region"],
                             author=m.get("author")) for m in messages]
        s.db.call(intake, wf, [Incoming("parts-warm", "预热", title="预热")], now)  # templates, caches
        out: dict[str, float] = {}

        def timed(name: str, fn: Any, values: Sequence[Any]) -> list[Any]:
            started = time.perf_counter()
            results = [fn(v) for v in values]
            out[name] = (time.perf_counter() - started) / len(values) * 1000
            return results

        timed("triage (routing, priority, sensitivity, deadline)",
              lambda m: triage_fields(wf, m.title, m.body, m.region, now), incoming)
        title_terms.cache_clear()
        timed("title words for the early warning", lambda m: similar_terms(m.title, wf.config), incoming)
        title_terms.cache_clear()
        started = time.perf_counter()
        stored = [item for chunk in batches(incoming, 100) for item, _ in s.db.call(intake, wf, chunk, now)]
        whole = (time.perf_counter() - started) / len(incoming) * 1000
        timed("card rendering", lambda item: render_card(wf, item), stored)
        out["storage and the rest of the workflow"] = whole - sum(out.values())
        out["whole workflow step"] = whole
        s.db.engine.dispose()
    return out


def while_training(n: int = 1000, examples: int = 4000) -> dict[str, float]:
    """Items/s of the intake step (in this process, batches of 100, messages with no region given,
    so the rules route some and the learned model suggests for the rest) with no routing model,
    with one trained on ``examples`` routed items, and while that model retrains in the background
    in a separate process (the service's way) or, for comparison, in a thread of this process."""
    import tempfile
    import threading
    from datetime import datetime

    from bot.app_context import AppContext
    from bot.workflow import Incoming
    from bot.workflow.intake import intake
    from tests.bench.common import bench_config, real_messages

    pool = real_messages()
    now = datetime.now(UTC)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="liuyan-bench-learn-") as folder:
        s = AppContext.create(bench_config(f"sqlite:///{folder}/learn.db"))
        wf, learner = s.workflow, s.workflow.learner
        history = make_items(examples, prefix="history", pool=pool)  # routed: the training set
        for chunk in batches(history, 500):
            s.db.call(intake, wf, [Incoming(m["external_id"], m["body"], title=m.get("title", ""),
                                            region=m["region"]) for m in chunk], now)
        serial = iter(range(10**9))

        def rate() -> float:
            fresh = [Incoming(f"learn-{next(serial)}", m["body"], title=m.get("title", ""))
                     for m in pool[:n]]
            started = time.perf_counter()
            for chunk in batches(fresh, 100):
                s.db.call(intake, wf, chunk, now)
            return n / (time.perf_counter() - started)

        rate()  # warm
        out["no model"] = rate()
        learner.in_process = True
        started = time.perf_counter()
        learner.retrain(s.db)
        out["training seconds (in process)"] = time.perf_counter() - started
        out["with a model"] = rate()
        for mode, in_process in (("while retraining in a process", False),
                                 ("while retraining in a thread", True)):
            learner.in_process = in_process
            worker = threading.Thread(target=learner.retrain, args=(s.db,))
            worker.start()
            time.sleep(0.5 if in_process else 2.0)  # past the spawn: measure during the fit itself
            rates = []
            while worker.is_alive():
                rates.append(rate())
            worker.join()
            out[mode] = min(rates) if rates else float("nan")
        learner.stop()
        s.db.engine.dispose()
    return out
