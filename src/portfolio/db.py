"""Engine and session factory for SQLite (embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
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


PING_AFTER_IDLE_S = 5.0
"""[s] a pooled PostgreSQL connection unused this long is pinged before it is handed out (see :func:`_ping_if_idle`)."""
_RETURNED_AT = "portfolio_returned_at"


def make_engine(database_url: str, *, ping_after_idle_s: float = PING_AFTER_IDLE_S) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout so several workers can share it;
    PostgreSQL's pooled connections are pinged after ``ping_after_idle_s`` [s] unused (:func:`_ping_if_idle`)."""
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
    engine = create_engine(url)
    _ping_if_idle(engine, ping_after_idle_s)
    return engine


def _ping_if_idle(engine: Engine, after_s: float) -> None:
    """Check a pooled connection with a round trip before handing it out, if it has been unused ``after_s`` [s].

    A connection the database restarted under, or that a firewall or pooler dropped while idle, is then replaced
    before a request uses it (the pool throws it away on :class:`~sqlalchemy.exc.DisconnectionError` and tries a
    fresh one). SQLAlchemy's own ``pool_pre_ping`` pings on every checkout: a web request checks out once or twice,
    so that was one round trip in ten to fifteen, each a wait for the database's process to get a core when the
    machine is busy (issue 20's load). A connection used in the last ``after_s`` seconds is taken as alive; if the
    server went away in that moment, the statement fails, the pool drops every connection made before then, and the
    next request reconnects.
    """

    @event.listens_for(engine, "connect")
    def _connected(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED_AT)
        if returned is not None and time.monotonic() - returned < after_s:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # noqa: BLE001 - any failure to answer means: do not hand this one out
            raise exc.DisconnectionError(f"a pooled connection did not answer a ping: {error}") from error
        if not alive:
            raise exc.DisconnectionError("a pooled connection did not answer a ping")
        record.info[_RETURNED_AT] = time.monotonic()


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
