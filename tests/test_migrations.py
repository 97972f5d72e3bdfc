"""Schema changes go through Alembic: a database of any earlier version upgrades on start (or with
``liuyan db upgrade``) and keeps its data."""

from __future__ import annotations

import threading
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel, select

from bot.app_context import AppContext
from bot.cli import main as cli
from bot.workflow import Incoming
from bot.workflow.intake import intake
from storage.db import Database
from storage.migrations import current_revision, head_revision, load_models, upgrade
from storage.models import Card, Event, Item, Outbox
from tests.conftest import LANZHOU, LANZHOU_CHAT, make_config

FIRST = "0001"
NOW = datetime(2026, 10, 9, 2, 0, tzinfo=UTC)


@pytest.fixture
def db(db_url: str):  # type: ignore[no-untyped-def]
    database = Database(db_url)
    yield database
    database.dispose()


def fill_first_schema(db: Database) -> None:
    """Rows written as the first release wrote them: plain SQL against the first revision's tables
    (not the models, which may have moved on)."""
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO items (external_id, title, body, likes, status, priority, priority_terms, sensitive,"
            " sensitive_terms, sensitive_score, supervised, received_at, created_at, deadline_provisional,"
            " extended_by, region, claimed_by, claimed_by_name)"
            " VALUES ('old-1', '旧标题', '城关区的老留言', 3, 'claimed', 'ordinary', '[]', false, '[]', 0.0,"
            " false, '2026-09-01 02:00:00', '2026-09-01 02:00:00', false, 0, :region, 1001, '张三')"),
            {"region": LANZHOU})
        conn.execute(text(
            "INSERT INTO events (item_id, at, action, actor_id, actor_name, source, detail)"
            " VALUES (1, '2026-09-01 03:00:00', 'claimed', 1001, '张三', 'telegram', '{}')"))
        conn.execute(text(
            "INSERT INTO outbox (chat_id, method, lane, payload, item_id, purpose, status, attempts, created_at,"
            " message_id) VALUES (:chat, 'sendMessage', 1, '{\"text\": \"card\"}', 1, 'card', 'sent', 1,"
            " '2026-09-01 02:00:00', 55)"), {"chat": LANZHOU_CHAT})
        conn.execute(text(
            "INSERT INTO cards (item_id, chat_id, outbox_id, message_id, active, created_at)"
            " VALUES (1, :chat, 1, 55, true, '2026-09-01 02:00:00')"), {"chat": LANZHOU_CHAT})
        conn.execute(text("INSERT INTO meta (key, value) VALUES ('installed', '2026-09-01')"))


def assert_first_data_kept(db: Database) -> None:
    def read(session):  # type: ignore[no-untyped-def]
        item = session.get(Item, 1)
        return (item.external_id, item.body, item.status, item.claimed_by_name, item.received_at,
                session.exec(select(Card)).one().message_id, len(session.exec(select(Event)).all()),
                session.exec(select(Outbox)).one().message_id)

    assert db.call(read) == ("old-1", "城关区的老留言", "claimed", "张三",
                             datetime(2026, 9, 1, 2, 0, tzinfo=UTC), 55, 1, 55)


def table_names(db: Database) -> set[str]:
    return set(inspect(db.engine).get_table_names())


def test_an_empty_database_gets_every_table_at_the_newest_revision(db: Database) -> None:
    db.create_schema()
    assert current_revision(db.engine) == head_revision()
    assert set(load_models().tables) <= table_names(db)


def test_a_database_of_the_first_schema_upgrades_on_start_with_its_data_kept(db: Database, db_url: str) -> None:
    upgrade(db.engine, FIRST)
    assert current_revision(db.engine) == FIRST
    fill_first_schema(db)
    s = AppContext.create(make_config(db_url))  # the start of the service upgrades it
    try:
        assert current_revision(s.db.engine) == head_revision()
        assert_first_data_kept(s.db)
        (item, created), = s.db.call(intake, s.workflow, [Incoming("new-1", "七里河区路灯不亮", region=LANZHOU)], NOW)
        assert created and item.id == 2  # the old ids go on
    finally:
        s.db.dispose()


def test_a_database_made_by_create_all_before_alembic_upgrades_in_place(db: Database) -> None:
    upgrade(db.engine, FIRST)
    fill_first_schema(db)
    with db.engine.begin() as conn:  # what the pre-Alembic code left: no version table, an older set of tables
        conn.execute(text("DROP TABLE alembic_version"))
        conn.execute(text("DROP TABLE chat_state"))
    assert current_revision(db.engine) is None
    db.create_schema()
    assert current_revision(db.engine) == head_revision()
    assert "chat_state" in table_names(db)
    assert_first_data_kept(db)


def test_liuyan_db_upgrade_brings_an_old_database_to_head(db: Database, db_url: str, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    upgrade(db.engine, FIRST)
    fill_first_schema(db)
    config = tmp_path / "liuyan.toml"
    config.write_text(
        f'[telegram]\ntoken = "1:x"\n[database]\nurl = "{db_url}"\n[api]\ntoken = "t"\n'
        f'[leaders]\nchat_id = -1\n[desk]\nchat_id = -2\n'
        f'[[regions]]\ncode = "{LANZHOU}"\nname = "兰州市"\nchat_id = {LANZHOU_CHAT}\n', encoding="utf-8")
    assert cli(["db", "upgrade", "--config", str(config)]) == 0
    assert "up to date" in capsys.readouterr().out
    assert current_revision(db.engine) == head_revision()
    assert_first_data_kept(db)


def test_two_processes_starting_at_once_upgrade_once(db_url: str) -> None:
    databases = [Database(db_url), Database(db_url)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def start(database: Database) -> None:
        try:
            barrier.wait()
            database.create_schema()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(d,)) for d in databases]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert not errors, errors
        assert current_revision(databases[0].engine) == head_revision()
    finally:
        for d in databases:
            d.dispose()


def test_the_revisions_create_what_the_models_describe(db: Database) -> None:
    """Upgraded to head, the database matches the models. A table that no revision creates yet is
    reported as a warning (the service creates it directly meanwhile); any other difference — a
    column, a type, an index — fails: write a revision with ``python -m storage.migrations.new``."""
    import bot.workflow  # noqa: F401  (table modules registered by the workflow's parts)
    import scheduler.sweep

    scheduler.sweep.parts()
    metadata = load_models()
    upgrade(db.engine, "heads")  # the revisions alone, without the direct creation of new tables
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, metadata)
    new_tables = [d[1].name for d in diffs if isinstance(d, tuple) and d[0] == "add_table"]
    new_table_indexes = [d for d in diffs if isinstance(d, tuple) and d[0] == "add_index"
                         and d[1].table.name in new_tables]
    others = [d for d in diffs if not (isinstance(d, tuple) and d[0] == "add_table") and d not in new_table_indexes]
    if new_tables:
        warnings.warn(f"no revision creates table(s) {', '.join(new_tables)} yet: "
                      "python -m storage.migrations.new \"...\"", stacklevel=1)
    assert not others, f"models and revisions differ; write a revision: {others}"
    assert SQLModel.metadata is metadata


def test_the_newest_file_names_the_head_revision() -> None:
    """The start-up fast path reads the head from the files' names: they must agree with alembic."""
    from storage.migrations import head_revision, newest_revision

    assert newest_revision() == head_revision()


def test_a_restart_on_a_current_database_does_not_load_alembic(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'current.db'}"
    Database(url).create_schema()  # the first start: migrated by alembic
    probe = (f"import sys; from storage.db import Database; db = Database({url!r}); db.create_schema(); "
             "print('alembic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
