"""The changes feed (storage.feed): a poller that follows ``next`` sees every change, also when two
transactions commit out of order on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from bot.app_context import AppContext
from bot.workflow import Actor, Incoming
from bot.workflow.claims import claim, reply
from bot.workflow.intake import intake
from bot.workflow.items import get_item, log_event
from storage.feed import START, Cursor, changes_page, parse_cursor
from tests.conftest import LANZHOU, ZHANG, make_config

NOW = datetime(2026, 10, 9, 2, 0, tzinfo=UTC)
OFFICER = Actor(ZHANG, "张三", source="telegram")


@pytest.fixture
def app(db_url: str):  # type: ignore[no-untyped-def]
    s = AppContext.create(make_config(db_url))
    yield s
    s.db.dispose()


def add(s: AppContext, n: int, prefix: str = "f") -> list[int]:
    batch = [Incoming(f"{prefix}-{i}", f"城关区第{i}号路灯不亮", region=LANZHOU) for i in range(n)]
    return [item.id for item, _ in s.db.call(intake, s.workflow, batch, NOW)]


def poll_all(s: AppContext, cursor: Cursor, limit: int, status: str | None = None) -> tuple[list[int], Cursor]:
    """Follow ``next`` until caught up (an empty page whose next is its cursor)."""
    seen: list[int] = []
    for _ in range(1000):
        page = s.db.call_read(changes_page, cursor, limit, status)
        if not page.items:
            assert page.next == cursor, "an empty page must leave the cursor where it was"
            return seen, cursor
        assert len(page.items) <= limit
        seen += [item.id for item in page.items]
        cursor = page.next
    raise AssertionError("the feed never caught up")


def test_paging_sees_every_item_once_then_only_what_changed(app: AppContext) -> None:
    ids = add(app, 25)
    seen, cursor = poll_all(app, START, 10)
    assert seen == ids
    app.db.call(claim, app.workflow, ids[3], OFFICER, NOW + timedelta(minutes=5), confirm=False)
    app.db.call(reply, app.workflow, ids[3], OFFICER, "已安排维修", NOW + timedelta(minutes=9))
    again, cursor = poll_all(app, cursor, 10)
    assert again == [ids[3]]  # two changes, one entry: each item as it is now
    assert poll_all(app, cursor, 10) == ([], cursor)


def test_status_filter_shows_only_items_now_in_that_status(app: AppContext) -> None:
    ids = add(app, 6)
    app.db.call(claim, app.workflow, ids[1], OFFICER, NOW, confirm=False)
    app.db.call(reply, app.workflow, ids[1], OFFICER, "已处理", NOW)
    replied, _ = poll_all(app, START, 2, "replied")
    assert replied == [ids[1]]
    fresh, _ = poll_all(app, START, 2, "new")
    assert fresh == [i for i in ids if i != ids[1]]


@pytest.mark.parametrize("text", ["abc", "1.2.3", "-1.2", "1.", ".5", "1.99999999999999999999", " 1.2"])
def test_a_malformed_cursor_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_cursor(text)


def test_a_cursor_round_trips() -> None:
    assert parse_cursor(str(Cursor(12, 345))) == Cursor(12, 345)
    assert parse_cursor(None) == START == parse_cursor("")


def test_writers_committing_out_of_order_are_not_skipped_on_postgresql(app: AppContext) -> None:
    """Writer A writes an event and holds its transaction open; writer B writes and commits; the
    poller pages. Once A commits, the poller following ``next`` must see A's change too (a cursor
    on the event id alone would have moved past it with B's later id)."""
    if app.db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite writers take turns: events commit in id order")
    early = add(app, 1, "early")[0]
    _, cursor = poll_all(app, START, 100)

    with Session(app.db.engine) as writer_a:
        item = get_item(writer_a, early, lock=True)
        log_event(writer_a, item, "noted", OFFICER, NOW, text="A, committed last")
        writer_a.flush()
        late = add(app, 1, "late")[0]  # writer B: begins after A, commits first

        page = app.db.call_read(changes_page, cursor, 100)
        seen = [i.id for i in page.items]
        cursor = page.next
        assert late not in seen  # held back while an older transaction is still open
        writer_a.commit()

    more, cursor = poll_all(app, cursor, 100)
    seen += more
    assert early in seen and late in seen
    assert sorted(set(seen)) == sorted({early, late})


def test_a_long_transaction_in_another_database_does_not_hold_the_feed_back(app: AppContext) -> None:
    """Transaction ids are shared by the whole PostgreSQL server; only this database's writers can
    add events, so only they may hold the feed back."""
    if app.db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    from sqlalchemy import create_engine, text

    other = create_engine(app.db.engine.url.set(database="postgres"))
    try:
        with other.connect() as conn:
            conn.execute(text("SELECT txid_current()"))  # a transaction with an id, left open
            ids = add(app, 2)
            seen, _ = poll_all(app, START, 10)
            assert seen == ids
            conn.rollback()
    finally:
        other.dispose()
