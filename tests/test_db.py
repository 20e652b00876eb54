"""PostgreSQL's pooled connections: pinged when idle, not on every checkout (``portfolio.db._ping_if_idle``)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, exc, text

from portfolio.db import make_engine

pytestmark = pytest.mark.postgres


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(url: str, pid: int) -> None:
    """End the server process behind one pooled connection, as a database restart or a dropped link would."""
    admin = make_engine(url)
    with admin.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one() is True
    admin.dispose()


def test_an_idle_connection_is_pinged_and_replaced_when_the_server_dropped_it(postgres_url: str) -> None:
    engine = make_engine(postgres_url, ping_after_idle_s=0.0)  # every checkout is "idle": always pinged
    dropped = _backend_pid(engine)
    _terminate(postgres_url, dropped)
    with engine.connect() as connection:  # the pooled connection is dead: the ping finds out, a fresh one answers
        assert connection.execute(text("SELECT 1")).scalar_one() == 1
    assert _backend_pid(engine) != dropped
    engine.dispose()


def test_a_connection_used_moments_ago_is_not_pinged(postgres_url: str) -> None:
    engine = make_engine(postgres_url, ping_after_idle_s=3600.0)
    pid = _backend_pid(engine)
    pings: list[int] = []
    original = engine.dialect.do_ping

    def counting_ping(dbapi_connection: object) -> bool:
        pings.append(1)
        return original(dbapi_connection)

    engine.dialect.do_ping = counting_ping  # type: ignore[method-assign]
    for _ in range(3):
        assert _backend_pid(engine) == pid  # the same pooled connection, handed out without a round trip first
    assert pings == []
    engine.dialect.do_ping = original  # type: ignore[method-assign]
    engine.dispose()


def test_a_connection_dropped_moments_after_use_fails_once_then_the_pool_reconnects(postgres_url: str) -> None:
    """The price of not pinging recently used connections: one failed statement, then every connection is new."""
    engine = make_engine(postgres_url, ping_after_idle_s=3600.0)
    dropped = _backend_pid(engine)
    _terminate(postgres_url, dropped)
    with pytest.raises(exc.DBAPIError) as raised, engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    assert raised.value.connection_invalidated
    assert _backend_pid(engine) != dropped
    engine.dispose()
