"""Schema creation and upgrades.

``upgrade(engine)`` is called on every start. It creates missing tables; schema changes that alter
existing tables go through Alembic revisions in ``versions/`` once the first release has shipped.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from storage import models  # noqa: F401


def upgrade(engine: Engine) -> None:
    SQLModel.metadata.create_all(engine)
