"""Evaluating trackers: the ledger, and the messages an evaluation calls for, each written once.

An evaluation is kept in ``tracker_evaluations`` (the ledger) only when it says something the period's latest
entry does not (figures compared to 0.05 kWh). Each message (warning, warning_off, exceeded, restated, skipped)
is a ``tracker_alerts`` row, unique on tracker, period and kind, written in the same transaction as the in-app
notice and the outbox email, so a rerun finds it and sends nothing. The run itself is
:mod:`portfolio.services.tracker_evaluation`, which re-exports these names.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy.orm import Session

from portfolio.config import Settings
from portfolio.models import Tracker, TrackerAlert, TrackerEvaluation, User
from portfolio.queries import trackers as tracker_queries
from portfolio.services import notifications
from portfolio.services import tracker_messages as messages
from portfolio.services.tracker_status import TrackerStatus


@dataclass
class Known:
    """What a batch of trackers read up front, in a few queries, instead of per tracker: their owners, the
    latest ledger entry and the alerts already written of each (tracker, period start) it evaluates.

    Kept current as the batch writes; valid for that batch's transaction only.
    """

    owners: dict[int, User]
    latest: dict[tuple[int, dt.date], tracker_queries.LedgerEntry]
    alerts: dict[tuple[int, dt.date], set[str]]


def write_alert(
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


def send_event(
    session: Session,
    owner: User,
    tracker: Tracker,
    status: TrackerStatus,
    event: str,
    settings: Settings,
    now: dt.datetime,
    known: Known | None = None,
) -> bool:
    if not write_alert(session, tracker, status.period_start, event, now, status, known):
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
