"""Schema creation and upgrades, through Alembic.

``upgrade(engine)`` runs on every start (``AppContext.create``) and for ``liuyan db upgrade``: it brings
any database to the newest revision in ``versions/``, keeping its rows —

* an empty database gets every table from the revisions;
* a database made before Alembic arrived (by ``create_all``) is upgraded in place: revision scripts
  use :mod:`storage.migrations.safe_op`, whose ``create_table``/``create_index`` skip what exists;
* a database at an older revision runs the revisions after it.

Two processes starting at once on one PostgreSQL database take turns (an advisory lock); on SQLite
``BEGIN IMMEDIATE`` does the same.

Adding a revision after changing a table in ``storage/`` (one command; it autogenerates against a
scratch database at head, see :mod:`storage.migrations.new`)::

    python -m storage.migrations.new "add the reports table"

Then read the new file in ``versions/`` (autogenerate misses renames and server defaults) and run
``pytest tests/test_migrations.py``, which fails while the models and the revisions disagree.

Tables live in modules of the ``storage`` package (``storage/models.py``, ``storage/reminders.py``,
...): :func:`load_models` imports them all. A table that no revision creates yet is still made by
:func:`upgrade` (with a warning naming it), so work in progress runs; column changes to existing
tables need a revision.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
ADVISORY_LOCK_ID = 0x6C697579616E  # "liuyan"
_NOT_MODEL_MODULES = {"db", "migrations"}
_IN_PROCESS = threading.Lock()  # Alembic's script loading is not made for two threads at once


def load_models() -> MetaData:
    """Import every table module of the ``storage`` package; returns the metadata they fill."""
    import storage

    importlib.import_module("storage.models")
    for info in pkgutil.iter_modules(storage.__path__):
        if info.name not in _NOT_MODEL_MODULES and not info.name.startswith("_"):
            importlib.import_module(f"storage.{info.name}")
    return SQLModel.metadata


def alembic_config(url: str | None = None) -> Any:
    """Alembic's Config built in code (no alembic.ini to ship or find)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no revisions in storage/migrations/versions"
    return head


def known_revisions() -> frozenset[str]:
    """Every revision this code ships: a database at one of them is upgraded on the next start."""
    from alembic.script import ScriptDirectory

    return frozenset(rev.revision for rev in ScriptDirectory.from_config(alembic_config()).walk_revisions())


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision`` (default the newest), keeping its data."""
    if revision == "head" and at_head(engine):
        return  # the usual restart: alembic (some 11 MB resident) is not even loaded
    from alembic import command

    load_models()
    cfg = alembic_config()
    with _IN_PROCESS, engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # two processes starting at once on one database: the second waits here, then finds
            # the schema at head (the lock ends with the transaction)
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_ID})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        if revision == "head":
            _create_unversioned_tables(conn)  # under the same lock


def newest_revision() -> str:
    """The newest revision shipped, read from the files' names (``0009_….py`` is revision 0009:
    ``python -m storage.migrations.new`` names them so), without loading alembic."""
    numbers = sorted(p.name[:4] for p in (HERE / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))
    return numbers[-1]


def at_head(engine: Engine) -> bool:
    """Whether the database is at the newest revision and has every table the models describe."""
    from sqlalchemy.exc import DBAPIError

    try:
        with engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            if version != newest_revision():
                return False
            existing = set(inspect(conn).get_table_names())
    except DBAPIError:  # no alembic_version table yet: a new database
        return False
    load_models()
    return all(name in existing for name in SQLModel.metadata.tables)


def _create_unversioned_tables(conn: Connection) -> None:
    """Tables of the models that no revision has created yet (work in progress)."""
    existing = set(inspect(conn).get_table_names())
    missing = [t for name, t in SQLModel.metadata.tables.items() if name not in existing]
    if missing:
        log.warning("no migration creates table(s) %s yet; created directly. Add a revision: "
                    "python -m storage.migrations.new \"...\"", ", ".join(t.name for t in missing))
        SQLModel.metadata.create_all(conn, tables=missing)


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Revisions are frozen: write plain SQLAlchemy types, not the models' own classes."""
    if type_ == "type":
        from sqlmodel.sql.sqltypes import AutoString

        from storage.models import UTCDateTime

        if isinstance(obj, UTCDateTime):
            return "sa.DateTime()"
        if isinstance(obj, AutoString):
            return f"sa.String(length={obj.length!r})" if obj.length else "sa.String()"
    return False


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Never generate a DROP for a table the models do not know (another tool's, or a leftover)."""
    if type_ == "table" and reflected and compare_to is None:
        return False
    return True


__all__ = ["upgrade", "load_models", "alembic_config", "head_revision", "current_revision", "known_revisions"]
