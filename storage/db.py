"""Engine, sessions and the bridge from the event loop to the (synchronous) database.

The service is one asyncio loop; database work runs in worker threads via :meth:`Database.run`, one
session per unit of work. SQLite gets WAL, a busy timeout and ``BEGIN IMMEDIATE`` so concurrent
writers queue on the database lock instead of failing with "database is locked" half-way through a
transaction; PostgreSQL needs none of this.

Outages: a connection that fails (PostgreSQL stopped or unreachable, a SQLite file whose volume is
gone) becomes :class:`DatabaseUnavailable`, which the intake API answers with 503 and the delivery
worker waits out. Nothing is cached across an outage: PostgreSQL's pool pings a connection before
use and SQLite opens the file for each unit of work (cheap, and it notices a vanished file), so the
first unit of work after the database is back simply succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import hashlib
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, create_engine

from storage import models  # noqa: F401  (registers the tables on SQLModel.metadata)
from storage.urls import normalise_url, redact_url

T = TypeVar("T")


class DatabaseUnavailable(Exception):
    """The database cannot be reached right now (the API answers 503, the worker waits)."""


def _use_wal(cur: Any) -> None:
    """WAL once per database file (it persists). Switching needs the file to itself and SQLite does
    not wait for that with the busy timeout, so two processes opening a new file at once retry."""
    import sqlite3
    import time

    deadline = time.monotonic() + 30
    while True:
        try:
            if str(cur.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def make_engine(url: str, *, echo: bool = False) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        memory = ":memory:" in url or url.rstrip("/") in ("sqlite:", "sqlite:/")
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            **({"poolclass": StaticPool} if memory else {"pool_size": 8, "max_overflow": 8}),
        )
        database_file = None if memory else engine.url.database

        if database_file:
            @event.listens_for(engine, "checkout")
            def _sqlite_file_still_there(_conn: Any, _record: Any, _proxy: Any) -> None:
                """Pooled connections keep a deleted or moved file open; noticing that it is gone
                lets the outage surface (as DatabaseUnavailable) instead of writing into a ghost.
                Opening a connection per unit of work would notice too, but costs ~20 ms each."""
                if not os.path.exists(database_file):
                    raise DisconnectionError(f"database file {database_file} is gone")

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=30000")
            if ":memory:" not in url:
                _use_wal(cur)
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            # a read (Database.read) needs no write lock: in WAL mode it sees the last commit and
            # blocks no writer; every other unit of work may write, so it takes the lock up front
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10,
                         connect_args={"connect_timeout": 10} if "+psycopg" in url else {})


READ_ONLY = "liuyan_read_only"


class WriteLock:
    """The turn to write to one SQLite file: a lock for this process's threads, then an ``flock``
    on a file beside the database for the other processes (``liuyan deliver``, ``liuyan sweep``, a
    second service).

    Why not leave it to SQLite: a writer that finds the database locked sleeps in steps of up to
    100 ms however soon the lock is free, and one process's threads, taking the lock back to back,
    can starve another process for seconds. Both locks here wake the next writer the moment the
    last one commits. The kernel drops the ``flock`` when a process dies, even by SIGKILL."""

    def __init__(self, path: str | None) -> None:
        self._threads = threading.RLock()
        self._path = f"{os.path.abspath(path)}.write.lock" if path and path != ":memory:" else None
        self._local = threading.local()
        self._fd: int | None = None

    def __enter__(self) -> WriteLock:
        self._threads.acquire()
        depth = getattr(self._local, "depth", 0)
        self._local.depth = depth + 1
        if depth == 0 and self._path is not None:
            try:
                if self._fd is None:
                    self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
                fcntl.flock(self._fd, fcntl.LOCK_EX)
            except OSError:  # the folder is gone (an outage): SQLite reports it, more clearly
                self._close()
        return self

    def __exit__(self, *exc: object) -> None:
        self._local.depth -= 1
        try:
            if self._local.depth == 0 and self._fd is not None:
                try:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                except OSError:
                    self._close()
        finally:
            self._threads.release()

    def _close(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            except OSError:
                pass
            self._fd = None


_WRITE_LOCKS: dict[str, WriteLock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _sqlite_write_lock(path: str | None) -> WriteLock:
    """One lock per database file in this process (two Database objects on one file share it)."""
    key = os.path.abspath(path) if path and path != ":memory:" else f"memory:{id(object())}"
    with _WRITE_LOCKS_GUARD:
        lock = _WRITE_LOCKS.get(key)
        if lock is None:
            lock = _WRITE_LOCKS[key] = WriteLock(path)
        return lock


class DatabaseStartError(Exception):
    """The database cannot be opened or brought to the current schema at start-up.

    ``transient`` when the server does not answer (it may be starting: a supervisor should retry);
    otherwise the URL, credentials, file or schema are wrong and retrying cannot help.
    ``line`` is the one line an operator reads; it names the config key and the fix.
    """

    def __init__(self, url: str, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.reason, self.transient = reason, transient
        where = redact_url(url)
        fix = ("is the database server running and reachable?" if transient
               else "check the URL, the user's rights and that the database exists")
        self.line = f"database error: database.url ({where}): {reason} — {fix}"
        self.exit_status = 1 if transient else 2


def open_database(url: str) -> Database:
    """A :class:`Database` with its schema created or upgraded, or :class:`DatabaseStartError`."""
    try:
        db = Database(url)
    except Exception as exc:
        raise DatabaseStartError(url, _reason(exc), transient=False) from exc
    try:
        db.create_schema()
    except (OperationalError, DBAPIError) as exc:
        db.dispose()
        raise DatabaseStartError(url, _reason(exc), transient=_is_unreachable(exc)) from exc
    return db


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    return (str(orig or exc).strip().splitlines() or [type(exc).__name__])[0]


def _is_unreachable(exc: DBAPIError) -> bool:
    msg = str(exc.orig or exc).lower()
    return any(n in msg for n in ("connection refused", "timeout expired", "timed out", "no route to host",
                                  "the database system is starting up", "could not translate host name"))


class Database:
    """One engine, sessions per unit of work, and ``await db.run(fn, ...)`` for the event loop."""

    def __init__(self, url: str, *, threads: int = 8) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)
        self.is_sqlite = self.url.startswith("sqlite")
        self._write_lock = _sqlite_write_lock(self.engine.url.database) if self.is_sqlite else None
        self._read_engine = self.engine.execution_options(**{READ_ONLY: True})
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="liuyan-db")

    def create_schema(self) -> None:
        """Create or upgrade the schema (Alembic when available, else create_all for new tables)."""
        from storage.migrations import upgrade

        upgrade(self.engine)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on any error.

        On SQLite every transaction is a write transaction (``BEGIN IMMEDIATE``) and SQLite lets
        one writer in at a time: writers take turns on a :class:`WriteLock` first."""
        with self._write_lock or contextlib.nullcontext(), Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextlib.contextmanager
    def read_session(self) -> Iterator[Session]:
        """A session for reading only: on SQLite it neither waits for nor holds the write lock,
        so a reader polling the outbox (the delivery worker, several times a second) never holds
        up a writer. Anything it writes is rolled back."""
        with Session(self._read_engine, expire_on_commit=False) as session:
            try:
                yield session
            finally:
                session.expunge_all()  # what was read stays readable after the transaction ends
                session.rollback()

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(session, *args)`` in one transaction (synchronously)."""
        with self.session() as session:
            return fn(session, *args, **kwargs)

    def call_read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(session, *args)`` in a read-only transaction (see :meth:`read_session`)."""
        with self.read_session() as session:
            return fn(session, *args, **kwargs)

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """:meth:`run` for a function that only reads."""
        return await self._in_thread(self.call_read, fn, *args, **kwargs)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(session, *args)`` in one transaction on a worker thread.

        Connection failures become :class:`DatabaseUnavailable` so callers can answer 503 or wait.
        """
        return await self._in_thread(self.call, fn, *args, **kwargs)

    async def _in_thread(self, call: Callable[..., T], fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                self._executor, functools.partial(call, fn, *args, **kwargs)
            )
        except (OperationalError, DBAPIError) as exc:
            if _is_connection_error(exc):
                raise DatabaseUnavailable(str(exc.orig or exc).splitlines()[0]) from exc
            raise

    async def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a plain function (no session) on the database threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    def try_sole_lock(self, name: str) -> SoleLock | None:
        """Try to become the only holder of ``name`` on this database, for as long as the process
        lives (a file lock beside a SQLite file, a session advisory lock on PostgreSQL). The
        kernel or the server lets go when the process dies, even by SIGKILL, so holding it proves
        no other live process holds it. None when another process does."""
        if self.is_sqlite:
            path = self.engine.url.database
            if not path or path == ":memory:":
                return SoleLock(lambda: None)
            import fcntl

            try:
                fh = open(f"{path}.{name}.lock", "a+b")
            except OSError:
                return None
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                fh.close()
                return None
            return SoleLock(fh.close)
        key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=7).digest(), "big")
        conn = self.engine.connect()
        try:
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            conn.commit()
        except Exception:
            conn.close()
            return None
        if not got:
            conn.close()
            return None

        def release() -> None:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
            except Exception:
                pass
            conn.close()

        return SoleLock(release)

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def aping(self) -> bool:
        return await self.run_sync(self.ping)

    def dispose(self) -> None:
        self.engine.dispose()
        self._executor.shutdown(wait=False, cancel_futures=True)


class SoleLock:
    """Held until :meth:`release` (or the process ends)."""

    def __init__(self, release: Callable[[], None]) -> None:
        self._release: Callable[[], None] | None = release

    def release(self) -> None:
        if self._release is not None:
            self._release()
            self._release = None


def _is_connection_error(exc: DBAPIError) -> bool:
    if getattr(exc, "connection_invalidated", False):
        return True
    msg = str(exc.orig or exc).lower()
    needles = (
        "connection refused",
        "could not connect",
        "server closed the connection",
        "terminating connection",
        "connection is closed",
        "connection failed",
        "unable to open database",
        "no such host",
        "the database system is",
        "disk i/o error",
        "connection timeout expired",
        "connection timed out",
        "ssl syscall error",
        "no route to host",
        "name or service not known",
        "consuming input failed",
        "sending query failed",
    )
    return any(n in msg for n in needles)


def drop_all(engine: Engine) -> None:
    """Tests only: remove every table, known to the models or not (the PostgreSQL test database is
    shared between runs, and a test may have left tables of an older schema)."""
    from sqlalchemy import MetaData

    SQLModel.metadata.drop_all(engine)
    existing = MetaData()
    existing.reflect(engine)
    existing.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
