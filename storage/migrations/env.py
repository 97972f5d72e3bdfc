"""Alembic's environment: run by ``storage.migrations.upgrade`` (with an open connection in
``config.attributes["connection"]``) and by ``python -m storage.migrations.new`` (autogenerate)."""

from __future__ import annotations

from alembic import context

from storage.migrations import include_object, load_models, render_item

config = context.config
target_metadata = load_models()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        render_item=render_item,
        include_object=include_object,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from storage.db import make_engine

    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():  # pragma: no cover - offline SQL scripts are not used
    raise SystemExit("liuyan's migrations run online only")
run_migrations_online()
