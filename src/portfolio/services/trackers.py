"""Consumption trackers: create and validate them, compute their progress, and evaluate them in the pipeline.

A tracker watches one fuel (never gas + power added together) of "All sites", a portfolio group or one
site, over a local calendar period (see :mod:`portfolio.analytics.trackers`). Consumption comes from the
daily roll-up up to the *data day* (the last whole local day whose readings have arrived: yesterday);
sites that have not reported are counted as missing ("2 of 3 sites reported"), never as zero.

The requested amount is either kWh, or a percentage above the expected consumption of the period from
the stored forecast models (:func:`portfolio.services.expected.predict_expected`, per local day, summed over the
period). Sites without a model cannot have an expected consumption: in percent mode the threshold and the
consumption compared with it cover only the modelled sites, and the status says so.

Evaluation (the pipeline) re-checks the owner's access every time; when access is gone the tracker is
skipped and the owner told once per period. Crossing the amount notifies once per tracker and period: the
``tracker_alerts`` row (unique on tracker, period, kind) is written in the same transaction as the
in-app notification and the outbox email, so a second run finds it and sends nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlencode

import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import AccessDenied, DataType, Viewer, require_sites, viewer_for
from portfolio.analytics.trackers import (
    PERIODS,
    PeriodBounds,
    compute_period_bounds,
    compute_progress,
    compute_projection,
    detect_crossing,
)
from portfolio.config import Settings
from portfolio.db import transaction
from portfolio.models import Fuel, Tracker, TrackerAlert
from portfolio.queries import notifications as notification_queries
from portfolio.queries import trackers as tracker_queries
from portfolio.services import notifications
from portfolio.services.expected import predict_expected
from portfolio.services.groups import ALL_SITES, GroupError, group_site_ids, viewable_group
from portfolio.timekeeping import UK_TIME_ZONE

log = logging.getLogger(__name__)

TARGET_KINDS = ("kwh", "percent")
SCOPE_KINDS = ("all", "group", "site")
MAX_NAME_LENGTH = 100
MAX_TARGET_KWH = 1e9
MAX_PERCENT = 1000.0
READ_ONLY_MESSAGE = (
    "Account managers have read-only access to customers' data: they cannot create or change "
    "trackers. Ask the customer or their broker to set one up."
)
GRAPH_PATH = "/graphs"


class TrackerError(ValueError):
    """A tracker that cannot be created or changed as asked; the message says what to fix."""


@dataclass(frozen=True)
class TrackerStatus:
    """A tracker's position in its current period, as the page shows it and the email tells it."""

    tracker_id: int
    name: str
    scope_label: str
    fuel: str
    period: str
    period_label: str
    period_start: dt.date
    period_end: dt.date
    data_day: dt.date
    target_kind: str
    target_value: float
    target_kwh: float | None = None
    consumption_kwh: float | None = None
    progress: float | None = None
    projection_kwh: float | None = None
    projection_method: str = "none"
    sites_total: int = 0
    sites_reporting_period: int = 0
    sites_reporting_day: int = 0
    modelled_sites: int = 0
    exceeded: bool = False
    excess_kwh: float | None = None
    excess_pct: float | None = None
    notes: tuple[str, ...] = ()
    error: str | None = None
    graph_path: str = GRAPH_PATH

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("period_start", "period_end", "data_day"):
            data[key] = data[key].isoformat()
        data["notes"] = list(self.notes)
        return data

    @property
    def reporting_text(self) -> str:
        return (
            f"{self.sites_reporting_day} of {self.sites_total} sites reported for {self.data_day:%a %-d %b}"
            f" ({self.sites_reporting_period} of {self.sites_total} have data this period)"
        )


@dataclass
class EvaluationReport:
    evaluated: int = 0
    exceeded: int = 0
    notified: int = 0
    skipped: int = 0
    errors: list[dict[str, object]] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "evaluated": self.evaluated,
            "exceeded": self.exceeded,
            "notified": self.notified,
            "skipped": self.skipped,
            "errors": self.errors,
        }


# Creating and changing ----------------------------------------------------------------------------------------


def _clean_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise TrackerError("a tracker needs a name")
    cleaned = re.sub(r"\s+", " ", name.strip())
    if len(cleaned) > MAX_NAME_LENGTH:
        raise TrackerError(f"a tracker name can have at most {MAX_NAME_LENGTH} characters")
    return cleaned


def _number(value: object) -> float:
    try:
        number = float(str(value).strip())
    except ValueError:
        raise TrackerError(f"the amount must be a number, not {str(value)[:40]!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise TrackerError("the amount must be a number")
    return number


def scope_site_ids(session: Session, viewer: Viewer, scope_kind: str, scope_id: int | None) -> list[int]:
    """The sites a tracker covers, as the viewer may see them today; raises AccessDenied when refused."""
    if scope_kind == "all":
        return group_site_ids(session, viewer, ALL_SITES, DataType.DAILY_TOTALS)
    if scope_kind == "group":
        return group_site_ids(session, viewer, scope_id, DataType.DAILY_TOTALS)
    if scope_kind == "site":
        return require_sites(session, viewer, [scope_id], DataType.DAILY_TOTALS)
    raise TrackerError(f"scope must be one of {', '.join(SCOPE_KINDS)}")


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
    if target_kind == "kwh" and not 0 < value <= MAX_TARGET_KWH:
        raise TrackerError("the amount in kWh must be above 0")
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


# Progress -----------------------------------------------------------------------------------------------------


def data_day_for(run_date: dt.date) -> dt.date:
    """The last whole local day whose readings a run on ``run_date`` has: the day before."""
    return run_date - dt.timedelta(days=1)


def scope_label(session: Session, tracker: Tracker) -> str:
    if tracker.scope_kind == "all":
        return "All sites"
    if tracker.scope_kind == "group":
        return f"group “{tracker_queries.load_group_name(session, int(tracker.scope_id or 0)) or 'deleted group'}”"
    sites = tracker_queries.load_sites_brief(session, [int(tracker.scope_id or 0)])
    return f"site “{sites['name'].iloc[0]}”" if len(sites) else "a site that no longer exists"


def graph_path(tracker: Tracker, bounds: PeriodBounds, data_day: dt.date) -> str:
    """The graph page of the period so far, with the same URL parameters as /portfolio (plus site)."""
    params = {
        "group": str(tracker.scope_id) if tracker.scope_kind == "group" else ALL_SITES,
        "from": bounds.start.isoformat(),
        "to": max(bounds.start, min(bounds.end, data_day)).isoformat(),
        "fuel": _fuel(tracker),
    }
    if tracker.scope_kind == "site":
        params["site"] = str(tracker.scope_id)
    return f"{GRAPH_PATH}?{urlencode(params)}"


def _fuel(tracker: Tracker) -> str:
    return getattr(tracker.fuel, "value", str(tracker.fuel))


def _expected_by_day(session: Session, site_ids: list[int], lo_ts: int, hi_ts: int) -> dict[int, pd.Series]:
    """Expected kWh per site and local day over [lo_ts, hi_ts), for sites with a usable model."""
    if hi_ts <= lo_ts or not site_ids:
        return {}
    result: dict[int, pd.Series] = {}
    for site_id, frame in predict_expected(session, site_ids, lo_ts, hi_ts, per_local_day=True).items():
        if frame.empty:
            continue
        days = pd.DatetimeIndex(frame.index).tz_convert(UK_TIME_ZONE).date
        result[site_id] = pd.Series(frame["expected_kwh"].to_numpy(dtype=float), index=days)
    return result


def compute_status(session: Session, tracker: Tracker, viewer: Viewer, data_day: dt.date) -> TrackerStatus:
    """Consumption so far, the amount, progress and projection of the period containing ``data_day``.

    Raises AccessDenied when the viewer may no longer see the tracker's group or site.
    """
    bounds = compute_period_bounds(tracker.period, data_day, UK_TIME_ZONE)
    fuel = _fuel(tracker)
    site_ids = scope_site_ids(session, viewer, tracker.scope_kind, tracker.scope_id)
    sites = tracker_queries.load_sites_brief(session, site_ids)
    members = [int(s) for s in sites.loc[sites["fuel"] == fuel, "site_id"]]
    base: dict[str, Any] = dict(
        tracker_id=tracker.id,
        name=tracker.name,
        scope_label=scope_label(session, tracker),
        fuel=fuel,
        period=tracker.period,
        period_label=bounds.label(),
        period_start=bounds.start,
        period_end=bounds.end,
        data_day=data_day,
        target_kind=tracker.target_kind,
        target_value=float(tracker.target_value),
        graph_path=graph_path(tracker, bounds, data_day),
        sites_total=len(members),
    )
    if not members:
        return TrackerStatus(**base, error=f"there is no {fuel} site left in this selection that you may see")
    last = min(bounds.end, data_day)
    usage = tracker_queries.load_daily_usage(session, members, bounds.start, last)
    so_far = usage.groupby("site_id")["energy_kwh"].sum() if len(usage) else pd.Series(dtype=float)
    so_far.index = so_far.index.astype(int)
    reporting_day = int(usage.loc[usage["local_date"] == data_day, "site_id"].nunique()) if len(usage) else 0
    notes: list[str] = []
    days_elapsed = max((last - bounds.start).days + 1, 0)
    days_remaining = max((bounds.end - data_day).days, 0)
    remaining_lo = max(bounds.start_ts, int(pd.Timestamp(data_day + dt.timedelta(days=1), tz=UK_TIME_ZONE).timestamp()))
    remaining = _expected_by_day(session, members, remaining_lo, bounds.end_ts) if days_remaining else {}
    remaining_sum = pd.Series({s: float(v.sum()) for s, v in remaining.items()}, dtype=float)

    if tracker.target_kind == "percent":
        expected = _expected_by_day(session, members, bounds.start_ts, bounds.end_ts)
        modelled = sorted(expected)
        if not modelled:
            return TrackerStatus(
                **base,
                error="none of these sites has a forecast model yet, so there is no expected "
                "consumption to compare with",
                sites_reporting_period=int(so_far.size),
                sites_reporting_day=reporting_day,
            )
        days_covered = min(len(v) for v in expected.values())
        if days_covered < bounds.days:
            notes.append(
                f"expected consumption is known for {days_covered} of {bounds.days} days of the period "
                "(no temperature forecast for the rest); the amount covers those days only"
            )
        if len(modelled) < len(members):
            notes.append(
                f"the amount covers the {len(modelled)} of {len(members)} sites that have a forecast model; "
                f"{len(members) - len(modelled)} sites without a model are not counted"
            )
        target = (1 + tracker.target_value / 100.0) * float(sum(v.sum() for v in expected.values()))
        so_far_scope = so_far[so_far.index.isin(modelled)]
        remaining_scope = remaining_sum[remaining_sum.index.isin(modelled)]
    else:
        modelled = sorted(remaining)
        target = float(tracker.target_value)
        so_far_scope, remaining_scope = so_far, remaining_sum
    consumption = float(so_far_scope.sum()) if len(so_far_scope) else None
    if consumption is None:
        notes.append("no site has reported any data for this period yet")
    missing_day = len(members) - reporting_day
    if missing_day and data_day >= bounds.start:
        notes.append(
            f"{missing_day} of {len(members)} sites have not reported for {data_day:%a %-d %b}: "
            "their consumption is missing, not zero"
        )
    projection = compute_projection(so_far_scope, remaining_scope, days_elapsed, days_remaining)
    crossing = detect_crossing(consumption, target)
    return TrackerStatus(
        **base,
        target_kwh=target,
        consumption_kwh=consumption,
        progress=compute_progress(consumption, target),
        projection_kwh=projection.kwh,
        projection_method=projection.method,
        sites_reporting_period=int(so_far.size),
        sites_reporting_day=reporting_day,
        modelled_sites=len(modelled),
        exceeded=crossing is not None,
        excess_kwh=crossing.excess_kwh if crossing else None,
        excess_pct=crossing.excess_pct if crossing else None,
        notes=tuple(notes),
    )


# Evaluation (the pipeline) ------------------------------------------------------------------------------------


def _kwh(value: float | None) -> str:
    return "unknown" if value is None else f"{value:,.0f} kWh" if abs(value) >= 100 else f"{value:,.1f} kWh"


def amount_text(status: TrackerStatus) -> str:
    if status.target_kind == "percent":
        sign = "+" if status.target_value >= 0 else "−"
        return f"expected consumption {sign}{abs(status.target_value):g} % = {_kwh(status.target_kwh)}"
    return _kwh(status.target_kwh)


def email_text(status: TrackerStatus, settings: Settings) -> tuple[str, str]:
    """Subject and body of the "tracker exceeded" email: which tracker, by how much, and where to look."""
    base = settings.base_url.rstrip("/")
    subject = (
        f"Tracker “{status.name}” exceeded by {_kwh(status.excess_kwh)} ({status.excess_pct:.1f} %)"
        if status.excess_kwh is not None
        else f"Tracker “{status.name}” exceeded"
    )
    lines = [
        f"Your consumption tracker “{status.name}” has gone over its requested amount.",
        "",
        f"Tracker:            {status.name}",
        f"Covers:             {status.scope_label}, {status.fuel}",
        f"Period:             {status.period_label} (local time, {UK_TIME_ZONE})",
        f"Requested amount:   {amount_text(status)}",
        f"Consumption so far: {_kwh(status.consumption_kwh)} (up to and including {status.data_day:%a %-d %b %Y})",
        f"Over by:            {_kwh(status.excess_kwh)} ({status.excess_pct:.1f} %)"
        if status.excess_pct is not None
        else "",
        f"Sites reporting:    {status.reporting_text}",
        f"Projection:         {_kwh(status.projection_kwh)} by the end of the period ({status.projection_method})",
    ]
    lines += [f"Note: {note}" for note in status.notes]
    lines += [
        "",
        f"See the graph of this period: {base}{status.graph_path}",
        f"Trackers and notification settings: {base}/trackers",
        "",
        "You get one message per tracker and period.",
    ]
    return subject, "\n".join(line for line in lines if line is not None)


def _alert(
    session: Session,
    tracker: Tracker,
    status_start: dt.date,
    kind: str,
    now: dt.datetime,
    consumption: float | None = None,
    target: float | None = None,
) -> bool:
    """Write the tracker's alert of this period and kind; False when it was written by an earlier run."""
    if tracker_queries.alert_exists(session, tracker.id, status_start, kind):
        return False
    session.add(
        TrackerAlert(
            tracker_id=tracker.id,
            period_start=status_start,
            kind=kind,
            consumption_kwh=consumption,
            target_kwh=target,
            created_at=now,
        )
    )
    session.flush()
    return True


def evaluate_tracker(
    session: Session, tracker: Tracker, settings: Settings, data_day: dt.date, now: dt.datetime
) -> str:
    """Evaluate one tracker as its owner and notify on a first crossing; returns "ok", "exceeded", "notified" or "skipped"."""
    owner = notification_queries.load_user(session, tracker.owner_id)
    bounds = compute_period_bounds(tracker.period, data_day, UK_TIME_ZONE)
    if owner is None or not owner.is_active:
        tracker.last_evaluated_at = now
        tracker.last_result = {"error": "the owner's account is not active", "data_day": data_day.isoformat()}
        return "skipped"
    viewer = viewer_for(session, owner)
    try:
        status = compute_status(session, tracker, viewer, data_day)
    except AccessDenied as error:
        tracker.last_evaluated_at = now
        tracker.last_result = {
            "error": f"skipped: you no longer have access ({error})",
            "data_day": data_day.isoformat(),
        }
        if _alert(session, tracker, bounds.start, "skipped", now):
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
        return "skipped"
    tracker.last_evaluated_at = now
    tracker.last_result = status.as_json()
    if status.error:
        return "skipped"
    if not status.exceeded:
        return "ok"
    if not _alert(session, tracker, status.period_start, "exceeded", now, status.consumption_kwh, status.target_kwh):
        return "exceeded"
    subject, body = email_text(status, settings)
    title = f"“{status.name}” is over its amount by {_kwh(status.excess_kwh)} ({status.excess_pct:.1f} %)"
    summary = (
        f"{status.period_label}: {_kwh(status.consumption_kwh)} of {_kwh(status.target_kwh)} {status.fuel}. "
        f"{status.reporting_text}."
    )
    notifications.notify(
        session,
        owner,
        key=f"tracker:{tracker.id}:{status.period_start.isoformat()}:exceeded",
        title=title,
        body=summary,
        link=status.graph_path,
        email_subject=subject,
        email_body=body,
        now=now,
    )
    return "notified"


def evaluate_all(
    factory: sessionmaker[Session], settings: Settings, data_day: dt.date, now: dt.datetime | None = None
) -> EvaluationReport:
    """Evaluate every active tracker, each in its own transaction: one failure is reported, the rest go on."""
    now = now or dt.datetime.now(dt.UTC)
    report = EvaluationReport()
    with factory() as session:
        tracker_ids = [t.id for t in tracker_queries.load_active_trackers(session)]
    for tracker_id in tracker_ids:
        try:
            with transaction(factory) as session:
                tracker = tracker_queries.load_tracker(session, tracker_id)
                if tracker is None:
                    continue
                outcome = evaluate_tracker(session, tracker, settings, data_day, now)
        except Exception as error:  # noqa: BLE001 - reported per tracker, the others go on
            log.exception("evaluating tracker %s failed", tracker_id)
            report.errors.append({"tracker_id": tracker_id, "error": f"{type(error).__name__}: {error}"})
            continue
        report.evaluated += 1
        report.skipped += outcome == "skipped"
        report.exceeded += outcome in ("exceeded", "notified")
        report.notified += outcome == "notified"
    return report
