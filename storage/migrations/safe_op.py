"""``op`` for revision scripts: Alembic's, except that creating a table or index that is already
there is a quiet no-op.

Why: databases made before Alembic arrived were built by ``create_all`` and already hold some of the
tables a revision creates; and while helpers add tables faster than revisions are written,
:func:`storage.migrations.upgrade` creates tables that no revision knows yet. With this ``op`` every
revision upgrades such a database in place, keeping its rows, without stamping guesses.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op as _op

log = logging.getLogger(__name__)


class _SafeOp:
    def __getattr__(self, name: str) -> Any:
        return getattr(_op, name)

    def create_table(self, name: str, *columns: Any, **kw: Any) -> Any:
        if sa.inspect(_op.get_bind()).has_table(name, schema=kw.get("schema")):
            log.info("migration: table %s already exists; kept as it is", name)
            return None
        return _op.create_table(name, *columns, **kw)

    def create_index(self, index_name: str, table_name: str, columns: Any, **kw: Any) -> Any:
        inspector = sa.inspect(_op.get_bind())
        if any(ix.get("name") == index_name for ix in inspector.get_indexes(table_name, schema=kw.get("schema"))):
            return None
        return _op.create_index(index_name, table_name, columns, **kw)


    @contextlib.contextmanager
    def batch_alter_table(self, table_name: str, **kw: Any) -> Iterator[Any]:
        with _op.batch_alter_table(table_name, **kw) as batch:
            yield _SafeBatch(batch, table_name, kw.get("schema"))


class _SafeBatch:
    """A batch operation whose ``create_index`` skips an index that exists."""

    def __init__(self, batch: Any, table_name: str, schema: str | None) -> None:
        self._batch, self._table, self._schema = batch, table_name, schema

    def __getattr__(self, name: str) -> Any:
        return getattr(self._batch, name)

    def create_index(self, index_name: str, columns: Any, **kw: Any) -> Any:
        inspector = sa.inspect(_op.get_bind())
        if any(ix.get("name") == index_name for ix in inspector.get_indexes(self._table, schema=self._schema)):
            return None
        return self._batch.create_index(index_name, columns, **kw)


op = _SafeOp()
