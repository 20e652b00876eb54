"""Results kept for the next request, whichever worker serves it: read when computed before from the same data.

The key is a digest of the result's kind, its inputs and the usage data's version (``queries/data_version.py``), so a
result is read only while nothing it was computed from has changed; a change commits a new version and the next
request computes afresh. Nothing here is per process: every gunicorn worker reads what any other kept.

While the daily run writes, every file it imports moves the version on, so a result kept then is read by few requests
if any. A web request then asks for the result kept at the version the run began with
(:func:`data_now`, the ``as_before`` of :func:`kept_or_computed`): the whole of the last complete data,
read at the cost of a kept result instead of computed on cores the import is using; what was not kept then is computed
from the data as it is, and not kept. The run's own steps never ask for it: they compute from the data they wrote.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from portfolio.queries.computed_results import (
    delete_kind_before,
    delete_results_before,
    load_result,
    result_key,
    store_result,
)
from portfolio.queries.data_version import load_usage_version
from portfolio.queries.pipeline import load_version_and_running_run

log = logging.getLogger(__name__)
T = TypeVar("T")
DAILY_RUN_LONGEST = dt.timedelta(hours=2)
"""A daily run still marked running after this long has died: results are kept again."""


@dataclass(frozen=True)
class BeforeTheRun:
    """The data as the running daily run found it: when the run began [UTC], the usage data's version then and the
    highest site id then (either None: not recorded, by a run begun before they were). The run's imports create
    sites for new meters; the results kept before it were computed without them, so they are looked for with the
    sites up to ``last_site_id`` (``services/graphs_sites.sites_before_the_run``)."""

    began: dt.datetime
    version: int | None
    last_site_id: int | None


@dataclass(frozen=True)
class DataNow:
    """The usage data's version as this transaction sees it, and :class:`BeforeTheRun` while a daily run writes."""

    version: int
    before: BeforeTheRun | None


def data_now(session: Session, now: dt.datetime) -> DataNow:
    """The data's version and, once a running daily run has written (the version moved on since it began, or it did
    not record that), the data as the run found it; read in one round trip."""
    version, running = load_version_and_running_run(session, now - DAILY_RUN_LONGEST)
    if running is None or running.usage_version_at_start == version:
        return DataNow(version, None)
    return DataNow(
        version, BeforeTheRun(running.started_at, running.usage_version_at_start, running.last_site_id_at_start)
    )


def kept_or_computed(
    session: Session,
    kind: str,
    inputs: object,
    compute: Callable[[], T],
    encode: Callable[[T], str],
    decode: Callable[[str], T | None],
    now: dt.datetime,
    forget_before: dt.datetime | None = None,
    *,
    as_before: int | None = None,
    inputs_before: object | None = None,
    version: int | None = None,
) -> T:
    """The result kept for ``inputs`` at the current data version, or ``compute()``'s, then kept (and committed).

    ``decode`` returns None for a payload it cannot read: the result is then computed afresh, never guessed. A result
    that cannot be kept (the database busy or read-only) is still returned. ``forget_before``: results of this kind
    kept before then are deleted as this one is stored (a kind whose inputs include the time of day would otherwise
    pile up until the data's next version). ``as_before``: the version a running daily run began with
    (:attr:`BeforeTheRun.version`): the result kept at it, else ``compute()``'s, not kept (see the module);
    ``inputs_before``: the inputs as they were then, when they differ (without the sites the run has created since).
    ``version``: the data's version as this transaction read it (:func:`data_now`), so it is not read again.
    """
    if as_before is not None:
        found = kept_at(session, kind, as_before, inputs if inputs_before is None else inputs_before, decode)
        return found if found is not None else compute()
    version = load_usage_version(session) if version is None else version
    key = result_key(kind, version, inputs)
    payload = load_result(session, key)
    if payload is not None:
        found = decode(payload)
        if found is not None:
            return found
        log.warning("a kept %s could not be read; computing it afresh", kind)
    value = compute()
    try:
        if forget_before is not None:
            delete_kind_before(session, kind, forget_before)
        store_result(session, key, kind, version, encode(value), now)
        session.commit()
    except SQLAlchemyError as error:
        session.rollback()
        log.warning("could not keep a %s (%s); it is computed again next time", kind, error)
    return value


def kept_at(session: Session, kind: str, version: int, inputs: object, decode: Callable[[str], T | None]) -> T | None:
    """The result kept for ``inputs`` at data version ``version`` (not necessarily the current one), or None."""
    payload = load_result(session, result_key(kind, version, inputs))
    return None if payload is None else decode(payload)


def prune_results(session: Session, now: dt.datetime) -> int:
    """Forget results computed from older data than the current version (no request reads them again), but, while a
    daily run writes, not those of the data it began with: requests read them until it ends (its own graphs step
    prunes, and the next run's takes them)."""
    version, running = load_version_and_running_run(session, now - DAILY_RUN_LONGEST)
    if running is not None and running.usage_version_at_start is not None:
        version = min(version, running.usage_version_at_start)
    return delete_results_before(session, version)
