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
whose sites and periods it touched (:func:`evaluate_touched`), closed periods included.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import AccessDenied, Viewer, viewer_for
from portfolio.analytics.trackers import compute_period_bounds
from portfolio.config import Settings
from portfolio.db import transaction
from portfolio.models import Tracker, TrackerAlert, TrackerEvaluation, User
from portfolio.queries import notifications as notification_queries
from portfolio.queries import trackers as tracker_queries
from portfolio.services import notifications
from portfolio.services import tracker_messages as messages
from portfolio.services.tracker_status import (
    EvaluationCache,
    TrackerStatus,
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


@dataclass
class Known:
    """What a batch of trackers read up front, in a few queries, instead of per tracker: their owners, the
    latest ledger entry and the alerts already written of each (tracker, period start) it evaluates.

    Kept current as the batch writes; valid for that batch's transaction only.
    """

    owners: dict[int, User]
    latest: dict[tuple[int, dt.date], tracker_queries.LedgerEntry]
    alerts: dict[tuple[int, dt.date], set[str]]


def _alert(
    session: Session,
    tracker: Tracker,
    period_start: dt.date,
    kind: str,
    now: dt.datetime,
    status: TrackerStatus | None = None,
    known: Known | None = None,
) -> bool:
    """Write the tracker's alert of this period and kind; False when it was written before.

    With ``known``, the alerts read for the batch say whether it was (a concurrent writer then trips the
    unique constraint at commit, and the batch is retried tracker by tracker).
    """
    if known is not None:
        sent = known.alerts.setdefault((tracker.id, period_start), set())
        if kind in sent:
            return False
        sent.add(kind)
    elif tracker_queries.alert_exists(session, tracker.id, period_start, kind):
        return False
    session.add(
        TrackerAlert(
            tracker_id=tracker.id,
            period_start=period_start,
            kind=kind,
            consumption_kwh=status.consumption_kwh if status else None,
            target_kwh=status.target_kwh if status else None,
            created_at=now,
        )
    )
    if known is None:
        session.flush()
    return True


def _same(a: float | None, b: float | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b, abs_tol=0.05))


def record_evaluation(
    session: Session, status: TrackerStatus, now: dt.datetime, reason: str, known: Known | None = None
) -> bool:
    """Add the evaluation to the ledger unless it says what the period's latest entry says; True if added."""
    key = (status.tracker_id, status.period_start)
    latest: TrackerEvaluation | tracker_queries.LedgerEntry | None = (
        known.latest.get(key)
        if known is not None
        else tracker_queries.load_latest_evaluation(session, status.tracker_id, status.period_start)
    )
    if (
        latest is not None
        and latest.data_day == status.data_day
        and latest.state == status.state
        and latest.sites_reporting == status.sites_reporting_period
        and all(
            _same(x, y)
            for x, y in (
                (latest.consumption_kwh, status.consumption_kwh),
                (latest.target_kwh, status.target_kwh),
                (latest.projection_kwh, status.projection_kwh),
                (latest.projection_lower_kwh, status.projection_lower_kwh),
            )
        )
    ):
        return False
    session.add(
        TrackerEvaluation(
            tracker_id=status.tracker_id,
            period_start=status.period_start,
            period_end=status.period_end,
            data_day=status.data_day,
            evaluated_at=now,
            consumption_kwh=status.consumption_kwh,
            target_kwh=status.target_kwh,
            sites_reporting=status.sites_reporting_period,
            sites_total=status.sites_total,
            projection_kwh=status.projection_kwh,
            projection_lower_kwh=status.projection_lower_kwh,
            projection_upper_kwh=status.projection_upper_kwh,
            state=status.state,
            reason=reason[:12],
        )
    )
    if known is None:
        session.flush()
        return True
    known.latest[key] = tracker_queries.LedgerEntry(
        status.data_day,
        status.state,
        status.sites_reporting_period,
        status.consumption_kwh,
        status.target_kwh,
        status.projection_kwh,
        status.projection_lower_kwh,
    )
    return True


def due_events(status: TrackerStatus, sent: set[str]) -> list[str]:
    """The messages this status calls for, given the kinds already sent for its period."""
    events: list[str] = []
    if status.state == "exceeded" and "exceeded" not in sent:
        events.append("exceeded")
    if status.state != "exceeded" and "exceeded" in sent and "restated" not in sent:
        events.append("restated")
    if status.state == "warning" and not status.complete and not sent & {"warning", "exceeded"}:
        events.append("warning")
    if (
        status.state == "under"
        and "warning" in sent
        and not sent & {"warning_off", "exceeded"}
        and status.projection_kwh is not None
        and status.target_kwh is not None
        and status.projection_kwh <= status.target_kwh
    ):
        events.append("warning_off")
    return events


_TEXTS = {
    "exceeded": (messages.exceeded_notice, messages.exceeded_email),
    "warning": (messages.warning_notice, messages.warning_email),
    "warning_off": (messages.warning_off_notice, messages.warning_off_email),
    "restated": (messages.restated_notice, messages.restated_email),
}


def _send(
    session: Session,
    owner: User,
    tracker: Tracker,
    status: TrackerStatus,
    event: str,
    settings: Settings,
    now: dt.datetime,
    known: Known | None = None,
) -> bool:
    if not _alert(session, tracker, status.period_start, event, now, status, known):
        return False
    notice, email = _TEXTS[event]
    title, body = notice(status)
    subject, email_body = email(status, settings)
    notifications.notify(
        session,
        owner,
        key=f"tracker:{tracker.id}:{status.period_start.isoformat()}:{event}",
        title=title,
        body=body,
        link=status.graph_path if event != "restated" else f"/trackers#tracker-{tracker.id}",
        email_subject=subject,
        email_body=email_body,
        now=now,
    )
    return True


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
        if _alert(session, tracker, bounds.start, "skipped", now, known=known):
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
    done = [e for e in due_events(status, sent) if _send(session, owner, tracker, status, e, settings, now, known)]
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
