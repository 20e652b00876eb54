"""Consumption trackers: create, validate and delete them (the page's form and its server-side checks).

A tracker watches one fuel (never gas + power added together) of "All sites", a portfolio group or one
site, over a local calendar period (see :mod:`portfolio.analytics.trackers`), against an amount in kWh or a
percentage above the forecast models' expected consumption. Its progress is
:mod:`portfolio.services.tracker_status`; the pipeline's evaluation, the ledger, warnings and corrections are
:mod:`portfolio.services.tracker_evaluation`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, Viewer, viewer_for, visible_site_ids
from portfolio.analytics.trackers import PERIODS
from portfolio.models import Fuel, Tracker
from portfolio.queries import notifications as notification_queries
from portfolio.queries import trackers as tracker_queries
from portfolio.services import audit
from portfolio.services.groups import ALL_SITES, GroupError, viewable_group
from portfolio.services.tracker_evaluation import evaluate_all
from portfolio.services.tracker_status import (
    SCOPE_KINDS,
    EvaluationCache,
    TrackerError,
    TrackerStatus,
    compute_status,
    data_day_for,
    scope_site_ids,
)

__all__ = [
    "READ_ONLY_MESSAGE",
    "TrackerError",
    "TrackerStatus",
    "compute_status",
    "create_tracker",
    "data_day_for",
    "evaluate_all",
    "remove_tracker",
    "submit_tracker",
]

TARGET_KINDS = ("kwh", "percent")
MAX_NAME_LENGTH = 100
MAX_TARGET_KWH = 1e9
MAX_PERCENT = 1000.0
READ_ONLY_MESSAGE = (
    "Account managers have read-only access to customers' data: they cannot create or change "
    "trackers. Ask the customer or their broker to set one up."
)


# Creating and changing ----------------------------------------------------------------------------------------


def _clean_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise TrackerError("a tracker needs a name")
    cleaned = re.sub(r"\s+", " ", name.strip())
    if len(cleaned) > MAX_NAME_LENGTH:
        raise TrackerError(f"a tracker name can have at most {MAX_NAME_LENGTH} characters")
    return cleaned


def _number(value: object) -> float:
    """The amount as a number; an empty field (a browser sends nothing for "-" or "e") is named as such."""
    text = "" if value is None else str(value).strip()
    if not text:
        raise TrackerError("enter an amount: the amount must be more than 0")
    try:
        number = float(text)
    except ValueError:
        raise TrackerError(f"the amount must be a number, not {text[:40]!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise TrackerError("the amount must be a number")
    return number


def create_tracker(
    session: Session,
    viewer: Viewer,
    *,
    name: object,
    scope_kind: object,
    scope_id: object,
    fuel: object,
    period: object,
    target_kind: object,
    target_value: object,
) -> Tracker:
    """Validate everything server-side (a request may carry anything) and add the viewer's tracker."""
    if viewer.read_only:
        raise AccessDenied(READ_ONLY_MESSAGE)
    cleaned = _clean_name(name)
    if scope_kind not in SCOPE_KINDS:
        raise TrackerError("choose All sites, a portfolio group or a single site")
    if fuel not in {f.value for f in Fuel}:
        raise TrackerError("choose power or gas (a tracker never adds the two)")
    if period not in PERIODS:
        raise TrackerError(f"period must be one of {', '.join(PERIODS)}")
    if target_kind not in TARGET_KINDS:
        raise TrackerError("the amount is either kWh or a percentage above the expected consumption")
    value = _number(target_value)
    if target_kind == "kwh" and value <= 0:
        raise TrackerError("the amount must be more than 0")
    if target_kind == "kwh" and value > MAX_TARGET_KWH:
        raise TrackerError(f"the amount can be at most {MAX_TARGET_KWH:,.0f} kWh")
    if target_kind == "percent" and not -100 < value <= MAX_PERCENT:
        raise TrackerError(f"the percentage must be between -100 and {MAX_PERCENT:g}")
    numeric_scope: int | None = None
    if scope_kind != "all":
        if scope_id in (None, "", ALL_SITES):
            raise TrackerError("choose a group" if scope_kind == "group" else "choose a site")
        try:
            numeric_scope = int(str(scope_id))
        except ValueError:
            raise AccessDenied(f"{str(scope_id)[:40]!r} is not a {scope_kind} id") from None
        if scope_kind == "group":
            viewable_group(session, viewer, numeric_scope)
    site_ids = scope_site_ids(session, viewer, str(scope_kind), numeric_scope)
    sites = tracker_queries.load_sites_brief(session, site_ids)
    if not (sites["fuel"] == fuel).any():
        raise TrackerError(f"there is no {fuel} site in this selection to track")
    if tracker_queries.tracker_name_taken(session, viewer.user_id, cleaned):
        raise TrackerError(f"you already have a tracker called {cleaned!r}")
    tracker = Tracker(
        owner_id=viewer.user_id,
        name=cleaned,
        scope_kind=str(scope_kind),
        scope_id=numeric_scope,
        fuel=Fuel(str(fuel)),
        period=str(period),
        target_kind=str(target_kind),
        target_value=value,
        is_active=True,
    )
    session.add(tracker)
    session.flush()
    audit.record_on_behalf(session, viewer, "tracker_created", site_ids, {"tracker": cleaned, "fuel": str(fuel)})
    return tracker


def owned_tracker(session: Session, viewer: Viewer, tracker_id: object) -> Tracker:
    """The viewer's own tracker; never reveals whether someone else's exists."""
    try:
        tracker = tracker_queries.load_tracker(session, int(str(tracker_id)))
    except ValueError:
        tracker = None
    if tracker is None or tracker.owner_id != viewer.user_id:
        raise AccessDenied("that tracker does not exist or is not yours")
    return tracker


def delete_tracker(session: Session, viewer: Viewer, tracker_id: object) -> None:
    if viewer.read_only:
        raise AccessDenied(READ_ONLY_MESSAGE)
    session.delete(owned_tracker(session, viewer, tracker_id))
    session.flush()


def submit_tracker(session: Session, viewer: Viewer, **fields: Any) -> Tracker:
    """Create a tracker from the page's form and commit; a refused one is rolled back and its error raised."""
    try:
        tracker = create_tracker(session, viewer, **fields)
    except (TrackerError, AccessDenied, GroupError):
        session.rollback()
        raise
    session.commit()
    return tracker


def remove_tracker(session: Session, viewer: Viewer, tracker_id: object) -> None:
    """Delete the viewer's own tracker and commit; a refusal is rolled back and raised."""
    try:
        delete_tracker(session, viewer, tracker_id)
    except AccessDenied:
        session.rollback()
        raise
    session.commit()


# The page's list ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrackerCard:
    """What the page shows of one tracker: its status, its ledger this period, who owns it, what may be done."""

    tracker_id: int
    name: str
    status: TrackerStatus | None
    problem: str | None  # why there is no status (access gone)
    alerted: bool
    ledger: pd.DataFrame
    owner_email: str | None  # shown to account managers (their customers' trackers)
    can_edit: bool


def list_tracker_cards(session: Session, viewer: Viewer, today: dt.date) -> list[TrackerCard]:
    """The viewer's own trackers; for an account manager (read-only) their customers' trackers instead.

    A customer's tracker is evaluated as its owner sees it, and shown to the manager only when the manager
    may see every site it covers.
    """
    data_day = data_day_for(today)
    cache = EvaluationCache()
    if viewer.read_only:
        trackers = tracker_queries.load_trackers_of_organisations(session, sorted(viewer.organisation_ids or ()))
        visible = visible_site_ids(session, viewer)
    else:
        trackers = tracker_queries.load_user_trackers(session, viewer.user_id)
        visible = None
    alerted = {
        (a.tracker_id, a.period_start)
        for a in tracker_queries.load_alerts(session, [t.id for t in trackers])
        if a.kind == "exceeded"
    }
    cards: list[TrackerCard] = []
    for tracker in trackers:
        owner = notification_queries.load_user(session, tracker.owner_id)
        as_viewer = viewer if visible is None else (viewer_for(session, owner) if owner is not None else None)
        status: TrackerStatus | None = None
        problem: str | None = None
        try:
            if as_viewer is None:
                raise AccessDenied("its owner no longer exists")
            if (
                visible is not None
                and not set(scope_site_ids(session, as_viewer, tracker.scope_kind, tracker.scope_id)) <= visible
            ):
                continue
            status = compute_status(session, tracker, as_viewer, data_day, cache)
        except AccessDenied:
            problem = (
                "You no longer have access to the group or site this tracker covers: it is skipped. "
                "Delete it or ask for access again."
            )
        cards.append(
            TrackerCard(
                tracker_id=tracker.id,
                name=tracker.name,
                status=status,
                problem=problem,
                alerted=status is not None and (tracker.id, status.period_start) in alerted,
                ledger=tracker_queries.load_ledger(session, tracker.id, status.period_start)
                if status is not None
                else pd.DataFrame(),
                owner_email=owner.email if visible is not None and owner is not None else None,
                can_edit=not viewer.read_only,
            )
        )
    return cards
