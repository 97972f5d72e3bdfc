"""Database URLs: which ones the service accepts, and the form SQLAlchemy is given.

Kept apart from :mod:`storage.db` so that reading a config (which checks its ``database.url``
with :func:`normalise_url`) does not import SQLAlchemy.
"""

from __future__ import annotations

import re

__all__ = ["normalise_url", "redact_url"]


def normalise_url(url: str) -> str:
    """The SQLAlchemy URL for ``url``; ValueError (password hidden) for one the service cannot use.

    SQLite URLs stay as written (a relative path is relative to the current directory).
    PostgreSQL URLs point at psycopg 3, the installed driver: SQLAlchemy reads a plain
    ``postgresql://`` as psycopg2, which is not installed, and rejects ``postgres://`` (the form
    Heroku-style hosts hand out); both are rewritten so they just work.
    """
    if url.startswith("sqlite://"):
        return url
    scheme, sep, rest = url.partition("://")
    if sep:
        if scheme in ("postgresql", "postgres"):
            return f"postgresql+psycopg://{rest}"
        if scheme == "postgresql+psycopg":
            return url
        if scheme.startswith("postgresql+"):
            raise ValueError(
                f"driver {scheme.partition('+')[2]!r} is not installed; use postgresql:// "
                "or postgresql+psycopg://"
            )
    raise ValueError(f"must start with sqlite:// or postgresql://, got {redact_url(url)!r}")


def redact_url(url: str) -> str:
    """Hide a password in a URL before it goes into an error message (and so into logs)."""
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)
