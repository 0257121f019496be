"""Engines and sessions for the app database (SQLite for the dev stack, PostgreSQL in production).

Nothing here runs at import time: commands build an engine from ``Settings`` when they start.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlmodel import Session

__all__ = ["SQLITE_BUSY_TIMEOUT_MS", "make_engine", "session_scope"]

SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a SQLite connection waits for a competing writer before failing."""


def make_engine(url: str) -> Engine:
    """Build an engine for ``url``.

    For SQLite the parent directory of the database file is created, connections may be used
    from the worker's activity threads, the journal is switched to WAL with a busy timeout, and
    transactions are begun by SQLAlchemy with ``BEGIN IMMEDIATE`` so that savepoints work and two
    writers queue instead of failing on a stale snapshot. Other databases get ``pool_pre_ping``.

    Args:
        url: A SQLAlchemy database URL, e.g. ``sqlite:///.careflow/careflow.db`` or
            ``postgresql+psycopg://user@host/db``.

    Returns:
        A new engine; the caller owns it and should ``dispose()`` it when done.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    """Configure a new SQLite connection: WAL, busy timeout, foreign keys, manual transactions."""
    # Let SQLAlchemy emit BEGIN itself (the pysqlite savepoint recipe).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    """Start every SQLite transaction as a writer so concurrent writers wait in turn."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits when the block succeeds and rolls back when it raises.

    Objects stay readable after the block (``expire_on_commit=False``).

    Args:
        engine: The engine to bind the session to.

    Yields:
        The open session.
    """
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
