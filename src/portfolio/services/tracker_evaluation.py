"""Evaluating trackers: the daily run, data arriving during the day, the ledger, warnings and corrections.

Each evaluation of a tracker's period is kept in ``tracker_evaluations`` (the ledger) when anything changed
since the last one. From the evaluation follow at most these messages per tracker and period, each written
once (the ``tracker_alerts`` row, unique on tracker, period and kind, is written in the same transaction as
the in-app notice and the outbox email, so a rerun finds it and sends nothing):

- "warning": the lower end of the projection's 90 % band is above the amount (on course to exceed);
- "warning_off": after a warning, the projection itself fell back under the amount;
- "exceeded": consumption so far is above the amount;
- "restated": after "exceeded", the period's figures changed (estimates replaced by actual readings, late
  data) and it is under the amount after all: the earlier message is corrected by email and in the app.

The owner's access is re-checked every time; when it is gone the tracker is skipped and the owner told once
per period. Data arriving during the day (inbox, upload, ``portfolio import``) re-evaluates the trackers
whose sites and periods it touched (:func:`evaluate_touched`), closed periods included. The ledger and the
messages are in :mod:`portfolio.services.tracker_evaluation_ledger`, re-exported here.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import AccessDenied, Viewer, viewer_for
from portfolio.analytics.trackers import compute_period_bounds
from portfolio.config import Settings
from portfolio.db import transaction
from portfolio.models import Tracker, User
from portfolio.queries import notifications as notification_queries
from portfolio.queries import trackers as tracker_queries
from portfolio.services import notifications
from portfolio.services.tracker_evaluation_ledger import Known, due_events, record_evaluation, send_event, write_alert
from portfolio.services.tracker_status import (
    EvaluationCache,
    compute_status,
    data_day_for,
    scope_members,
    scope_site_ids,
    tracker_fuel,
)
from portfolio.timekeeping import UK_TIME_ZONE, local_today

log = logging.getLogger(__name__)

SiteDays = Mapping[int, Iterable[dt.date]]
BATCH_SIZE = 500
"""Trackers written per transaction in the daily run (a failed batch is retried tracker by tracker)."""


@dataclass
class EvaluationReport:
    evaluated: int = 0
    exceeded: int = 0
    warned: int = 0
    notified: int = 0
    restated: int = 0
    skipped: int = 0
    errors: list[dict[str, object]] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "evaluated": self.evaluated,
            "exceeded": self.exceeded,
            "warned": self.warned,
            "notified": self.notified,
            "restated": self.restated,
            "skipped": self.skipped,
            "errors": self.errors,
        }


def _owner_viewer(
    session: Session, tracker: Tracker, cache: EvaluationCache, known: Known | None = None
) -> tuple[User | None, Viewer | None]:
    owner = (
        known.owners.get(tracker.owner_id)
        if known is not None
        else notification_queries.load_user(session, tracker.owner_id)
    )
    if owner is None or not owner.is_active:
        return owner, None
    viewer = cache.viewers.get(owner.id)
    if viewer is None:
        viewer = cache.viewers[owner.id] = viewer_for(session, owner)
    return owner, viewer


def evaluate_period(
    session: Session,
    tracker: Tracker,
    settings: Settings,
    data_day: dt.date,
    now: dt.datetime,
    *,
    cache: EvaluationCache | None = None,
    reason: str = "daily",
    known: Known | None = None,
) -> list[str]:
    """Evaluate the tracker's period containing ``data_day`` as its owner; keep it and send what is due.

    Returns the outcome: a list holding "skipped", or the state ("under", "warning", "exceeded") followed by
    the events sent now. ``known``: what the tracker's batch read up front (else it is read here).
    """
    cache = cache if cache is not None else EvaluationCache()
    bounds = compute_period_bounds(tracker.period, data_day, UK_TIME_ZONE)
    owner, viewer = _owner_viewer(session, tracker, cache, known)
    if owner is None or viewer is None:
        tracker.last_evaluated_at = now
        tracker.last_result = {"error": "the owner's account is not active", "data_day": data_day.isoformat()}
        return ["skipped"]
    try:
        status = compute_status(session, tracker, viewer, data_day, cache)
    except AccessDenied as error:
        tracker.last_evaluated_at = now
        tracker.last_result = {
            "error": f"skipped: you no longer have access ({error})",
            "data_day": data_day.isoformat(),
        }
        if write_alert(session, tracker, bounds.start, "skipped", now, known=known):
            notifications.add_in_app(
                session,
                owner.id,
                key=f"tracker:{tracker.id}:{bounds.start.isoformat()}:skipped",
                title=f"Tracker “{tracker.name}” was skipped",
                body="You no longer have access to the group or site it tracks, so it was not evaluated. "
                "Delete it or ask for access again.",
                link="/trackers",
                now=now,
            )
        return ["skipped"]
    if tracker.last_result is None or str(tracker.last_result.get("period_start", "")) <= bounds.start.isoformat():
        tracker.last_evaluated_at = now
        tracker.last_result = status.as_json()
    if status.error:
        return ["skipped"]
    record_evaluation(session, status, now, reason, known)
    sent = (
        set(known.alerts.get((tracker.id, status.period_start), ()))
        if known is not None
        else tracker_queries.load_alert_kinds(session, tracker.id, status.period_start)
    )
    done = [e for e in due_events(status, sent) if send_event(session, owner, tracker, status, e, settings, now, known)]
    return [status.state, *done]


def touched_data_days(
    session: Session,
    tracker: Tracker,
    viewer: Viewer,
    touched: SiteDays,
    data_day: dt.date,
    cache: EvaluationCache | None = None,
) -> list[dt.date]:
    """The data day of each of the tracker's periods holding a touched day of one of its sites, up to
    ``data_day``: the period's last day when it is over, else ``data_day``."""
    if not touched:
        return []
    if cache is not None:  # the tracker's sites of its fuel, resolved once per run per owner and scope
        members = set(scope_members(session, viewer, tracker, cache)) & set(touched)
        days = {d for s in members for d in touched[s] if d <= data_day}
        ends = {compute_period_bounds(tracker.period, d, UK_TIME_ZONE).end for d in days}
        return sorted(min(end, data_day) for end in ends)
    site_ids = set(scope_site_ids(session, viewer, tracker.scope_kind, tracker.scope_id)) & set(touched)
    if not site_ids:
        return []
    sites = tracker_queries.load_sites_brief(session, sorted(site_ids))
    fuel = tracker_fuel(tracker)
    days = {d for s in sites.loc[sites["fuel"] == fuel, "site_id"] for d in touched[int(s)] if d <= data_day}
    ends = {compute_period_bounds(tracker.period, d, UK_TIME_ZONE).end for d in days}
    return sorted(min(end, data_day) for end in ends)


def _tally(report: EvaluationReport, outcome: list[str]) -> None:
    report.evaluated += 1
    report.skipped += outcome[0] == "skipped"
    report.exceeded += outcome[0] == "exceeded"
    report.warned += "warning" in outcome[1:]
    report.restated += "restated" in outcome[1:]
    report.notified += len(outcome) - 1 if outcome[0] != "skipped" else 0


def evaluate_all(
    factory: sessionmaker[Session],
    settings: Settings,
    data_day: dt.date,
    now: dt.datetime | None = None,
    *,
    touched: SiteDays | None = None,
    only_touched: bool = False,
    reason: str = "daily",
    batch_size: int = BATCH_SIZE,
) -> EvaluationReport:
    """Evaluate every active tracker's current period, and the periods ``touched`` by new data.

    Trackers are written in batches of ``batch_size``, one transaction each; when a batch fails it is rolled
    back and each of its trackers evaluated again in its own transaction: one failure is reported, the rest
    go on. Owners' access is resolved once per run (a grant revoked during a run counts from the next one);
    trackers of the same sites, fuel and period share their figures.

    ``only_touched``: evaluate only the periods holding touched days (data arriving during the day).
    """
    now = now or dt.datetime.now(dt.UTC)
    report = EvaluationReport()
    cache = EvaluationCache()
    with factory() as session:
        tracker_ids = tracker_queries.load_active_tracker_ids(session)
    for first in range(0, len(tracker_ids), max(batch_size, 1)):
        batch = tracker_ids[first : first + max(batch_size, 1)]
        args = (settings, data_day, now, cache, touched, only_touched, reason)
        try:
            with transaction(factory) as session:
                outcomes = _evaluate_batch(session, batch, *args, preload=True)
        except Exception:  # noqa: BLE001 - the batch is retried tracker by tracker below
            log.warning("a batch of %d trackers failed; evaluating each alone", len(batch), exc_info=True)
            outcomes = {}
            for tracker_id in batch:
                try:
                    with transaction(factory) as session:
                        outcomes.update(_evaluate_batch(session, [tracker_id], *args, preload=False))
                except Exception as error:  # noqa: BLE001 - reported per tracker, the others go on
                    log.exception("evaluating tracker %s failed", tracker_id)
                    report.errors.append({"tracker_id": tracker_id, "error": f"{type(error).__name__}: {error}"})
        for tracker_id in batch:
            for outcome in outcomes.get(tracker_id, []):
                _tally(report, outcome)
    return report


def _evaluate_batch(
    session: Session,
    tracker_ids: list[int],
    settings: Settings,
    data_day: dt.date,
    now: dt.datetime,
    cache: EvaluationCache,
    touched: SiteDays | None,
    only_touched: bool,
    reason: str,
    *,
    preload: bool,
) -> dict[int, list[list[str]]]:
    """Evaluate these trackers' periods in ``session``; their outcomes by tracker id.

    ``preload``: read owners, latest ledger entries and alerts of the whole batch up front (a few queries)
    instead of per tracker.
    """
    trackers = tracker_queries.load_trackers(session, tracker_ids)
    owners = tracker_queries.load_users(session, {t.owner_id for t in trackers})
    known = Known(owners=owners, latest={}, alerts={})
    days_of: dict[int, list[dt.date]] = {}
    for tracker in trackers:
        days: list[dt.date] = [] if only_touched else [data_day]
        if touched:
            _, viewer = _owner_viewer(session, tracker, cache, known)
            if viewer is not None:
                try:
                    days += touched_data_days(session, tracker, viewer, touched, data_day, cache)
                except AccessDenied:
                    pass
        days_of[tracker.id] = sorted(set(days))
    if preload:
        keys = {(t.id, compute_period_bounds(t.period, d, UK_TIME_ZONE).start) for t in trackers for d in days_of[t.id]}
        known.latest = tracker_queries.load_latest_evaluations(session, keys)
        known.alerts = tracker_queries.load_alert_kinds_of(session, keys)
    return {
        tracker.id: [
            evaluate_period(
                session,
                tracker,
                settings,
                day,
                now,
                cache=cache,
                reason=reason,
                known=known if preload else None,
            )
            for day in days_of[tracker.id]
        ]
        for tracker in trackers
    }


def evaluate_touched(
    factory: sessionmaker[Session], settings: Settings, touched: SiteDays, now: dt.datetime | None = None
) -> EvaluationReport:
    """Re-evaluate the trackers and periods that data loaded during the day touched (up to yesterday)."""
    now = now or dt.datetime.now(dt.UTC)
    data_day = data_day_for(local_today(now))
    return evaluate_all(factory, settings, data_day, now, touched=touched, only_touched=True, reason="import")
