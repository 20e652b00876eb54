"""Engine and session factory for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def driver_connection(session: Session) -> Any:
    """The DB-API connection under ``session`` (sqlite3 or psycopg), for the bulk paths that bypass the ORM.

    Typed ``Any`` because its methods differ by driver; raises if the session's connection is already closed.
    """
    raw = session.connection().connection.driver_connection
    if raw is None:
        raise RuntimeError("the session's database connection is closed")
    return raw


def _sqrt(value: float | None) -> float | None:
    """SQL ``sqrt`` where SQLite lacks it (NULL and negatives give NULL, as in SQLite's own)."""
    return math.sqrt(value) if value is not None and value >= 0 else None


def make_engine(database_url: str) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout so several workers can share it."""
    url = database_url
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            try:  # SQLite's math functions are a compile-time option: Debian has them, some builds do not
                cursor.execute("SELECT sqrt(4.0)")
            except sqlite3.OperationalError:
                dbapi_connection.create_function("sqrt", 1, _sqrt, deterministic=True)
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back everything on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
