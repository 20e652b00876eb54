"""The daily run as a web request sees it: the data's version and the run still writing, read in one round trip."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session, sessionmaker

from portfolio.db import transaction
from portfolio.models import PipelineRun, RunStatus
from portfolio.queries.data_version import load_usage_version, mark_usage_changed
from portfolio.queries.pipeline import RunningRun, load_running_run, load_version_and_running_run

NOW = dt.datetime(2026, 11, 25, 6, 10, tzinfo=dt.UTC)
SINCE = NOW - dt.timedelta(hours=2)


def _both(factory: sessionmaker[Session]) -> tuple[tuple[int, RunningRun | None], tuple[int, RunningRun | None]]:
    """The one-query answer, and the two queries it replaces."""
    with factory() as session:
        return load_version_and_running_run(session, SINCE), (
            load_usage_version(session),
            load_running_run(session, SINCE),
        )


def _run(factory: sessionmaker[Session], started_at: dt.datetime, status: RunStatus, **recorded: int) -> None:
    with transaction(factory) as session:
        session.add(PipelineRun(run_date=started_at.date(), status=status, started_at=started_at, steps=[], **recorded))


def test_the_version_and_the_running_run_are_read_together_as_apart(session_factory: sessionmaker[Session]) -> None:
    one, apart = _both(session_factory)
    assert one == apart == (0, None)  # no change ever committed, no run

    with transaction(session_factory) as session:
        mark_usage_changed(session)
    _run(session_factory, NOW - dt.timedelta(hours=5), RunStatus.RUNNING)  # died: older than SINCE
    _run(session_factory, NOW - dt.timedelta(minutes=30), RunStatus.OK)  # ended
    one, apart = _both(session_factory)
    assert one == apart == (1, None)

    _run(session_factory, NOW - dt.timedelta(minutes=20), RunStatus.RUNNING, usage_version_at_start=1)
    _run(
        session_factory,
        NOW - dt.timedelta(minutes=5),
        RunStatus.RUNNING,
        usage_version_at_start=1,
        last_site_id_at_start=7,
    )
    with transaction(session_factory) as session:
        mark_usage_changed(session)  # the run wrote
    one, apart = _both(session_factory)
    assert one == apart == (2, RunningRun(NOW - dt.timedelta(minutes=5), 1, 7))  # the latest running run
