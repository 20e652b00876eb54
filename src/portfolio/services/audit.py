"""The audit log: what to record (logins, exports, grants, shares, revocations, refusals, "viewed by") and who
may read it back (admins: everything; a customer: the entries about their own organisation's data).

Entries about an organisation's data carry its id, so "who has seen my data" is one indexed query. A person
from outside the organisation who looks at its data gets one "viewed_by" entry per organisation and local day
(UK), whose ``last_at`` moves with each later look: a daily summary, not one row per request.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable
from typing import Any, cast
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, Viewer
from portfolio.models import Role
from portfolio.queries import audit as audit_queries
from portfolio.queries.consent import load_site_organisations

AUDIT_ZONE = ZoneInfo("Europe/London")
VIEWED_BY = "viewed_by"
REFUSED = "access_refused"
CSV_COLUMNS = ["at_utc", "last_at_utc", "action", "user", "organisation", "detail", "ip"]


class AuditError(ValueError):
    """An audit filter that cannot be applied; the message says what to fix."""


def record(
    session: Session,
    action: str,
    *,
    user_id: int | None,
    organisation_id: int | None = None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Add one entry to the caller's unit of work (it commits with the change it records)."""
    audit_queries.insert_entry(
        session,
        action,
        at=now or dt.datetime.now(dt.UTC),
        user_id=user_id,
        organisation_id=organisation_id,
        detail=detail,
        ip=ip,
    )


def record_now(
    session: Session,
    action: str,
    *,
    user_id: int | None,
    organisation_id: int | None = None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Add one entry in its own transaction, so it stands whatever happens to the request (refusals, logins)."""
    session.rollback()
    record(session, action, user_id=user_id, organisation_id=organisation_id, detail=detail, ip=ip, now=now)
    session.commit()


def record_refusal(
    session: Session, viewer: Viewer | None, what: str, requested: object, ip: str | None = None
) -> None:
    """Audit a refused request (a crafted id, a revoked grant): who asked for what; nothing else changes."""
    record_now(
        session,
        REFUSED,
        user_id=viewer.user_id if viewer else None,
        detail={"what": what, "requested": str(requested)[:500]},
        ip=ip,
    )


def record_viewed(
    session: Session,
    viewer: Viewer,
    site_ids: Iterable[int],
    now: dt.datetime | None = None,
    via: str = "",
    *,
    organisation_ids: Iterable[int] | None = None,
) -> int:
    """Note that ``viewer`` looked at these sites' data: one "viewed_by" entry per outside organisation and day.

    Call after access was granted, in the request's transaction; returns how many new daily entries it added.
    Members of the organisation are not "outside"; admins and grantees are. ``organisation_ids``: the sites'
    organisations, when the caller read them with the sites in this transaction (a round trip fewer per request).
    """
    now = now or dt.datetime.now(dt.UTC)
    day = now.astimezone(AUDIT_ZONE).date().isoformat()
    if organisation_ids is None:
        organisation_ids = load_site_organisations(session, site_ids).values()
    organisations = sorted(set(organisation_ids))
    keys = {o: f"{VIEWED_BY}:{o}:{viewer.user_id}:{day}" for o in organisations if not viewer.is_member_of(o)}
    # Later looks the same day: one UPDATE for every organisation (a broker's graph may span a thousand).
    known = audit_queries.move_last_at(session, list(keys.values()), now)
    added = 0
    for organisation_id, key in keys.items():
        if key in known:
            continue
        added += audit_queries.touch_daily_entry(
            session,
            key,
            VIEWED_BY,
            at=now,
            user_id=viewer.user_id,
            organisation_id=organisation_id,
            detail={"day": day, "role": viewer.role.value, "via": via},
        )
    return added


def record_on_behalf(
    session: Session,
    viewer: Viewer,
    action: str,
    site_ids: Iterable[int],
    detail: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Audit a change made by someone outside the sites' organisations: "broker X for client Y", one entry per client.

    Brokers act on their clients' behalf; each client organisation gets its own entry (user = the broker,
    organisation = the client), so it reads on that customer's audit page. Anyone else adds nothing here: members
    act on their own sites, admins' actions are admin actions, and a person granted read access who looks or
    exports is in the daily "viewed_by" entries.
    Returns the number of entries added, in the caller's unit of work.
    """
    if viewer.role is not Role.BROKER:
        return 0
    organisations = sorted(set(load_site_organisations(session, site_ids).values()))
    clients = [o for o in organisations if not viewer.is_member_of(o)]
    for organisation_id in clients:
        record(
            session,
            action,
            user_id=viewer.user_id,
            organisation_id=organisation_id,
            detail={
                **(detail or {}),
                "on_behalf_of_client": organisation_id,
                "by": viewer.email,
                "role": viewer.role.value,
            },
            now=now,
        )
    return len(clients)


def _audit_scope(viewer: Viewer, organisation_id: object | None) -> int | None:
    """Which organisation's entries the viewer may read: admins any (None: all), customers their own only."""
    if viewer.is_admin:
        if organisation_id in (None, "", "all"):
            return None
        try:
            return int(str(organisation_id))
        except ValueError:
            raise AuditError(f"{organisation_id!r} is not an organisation id") from None
    if viewer.own_organisation_id is None:
        raise AccessDenied("only an organisation's own people and admins read its audit log")
    if organisation_id not in (None, "", "all") and str(organisation_id) != str(viewer.own_organisation_id):
        raise AccessDenied("only an organisation's own people and admins read its audit log")
    return viewer.own_organisation_id


def _day_start(value: object, field: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        day = dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise AuditError(f"{field} {value!r} is not a date (YYYY-MM-DD)") from None
    return dt.datetime.combine(day, dt.time(), AUDIT_ZONE)


def load_audit(
    session: Session,
    viewer: Viewer,
    *,
    organisation_id: object | None = None,
    action: object | None = None,
    date_from: object | None = None,
    date_to: object | None = None,
    user_email: object | None = None,
    limit: int = 5000,
) -> pd.DataFrame:
    """The entries ``viewer`` may read, filtered; ``date_to`` is inclusive (local days)."""
    scope = _audit_scope(viewer, organisation_id)
    since = _day_start(date_from, "from")
    until = _day_start(date_to, "to")
    if until is not None:
        until = dt.datetime.combine(until.date() + dt.timedelta(days=1), dt.time(), AUDIT_ZONE)
    if since is not None and until is not None and since >= until:
        raise AuditError("the 'from' date must not be after the 'to' date")
    actions = [str(action)] if action not in (None, "", "all") else []
    return audit_queries.load_entries(
        session,
        organisation_id=scope,
        actions=actions,
        since=since,
        until=until,
        user_email=str(user_email) if user_email else None,
        limit=limit,
    )


def audit_actions(session: Session, viewer: Viewer) -> list[str]:
    return audit_queries.load_actions(session, _audit_scope(viewer, None))


def who_has_seen(session: Session, viewer: Viewer, date_from: object = None, date_to: object = None) -> pd.DataFrame:
    """ "Who has seen my data": the daily viewed-by entries about the viewer's organisation."""
    return load_audit(session, viewer, action=VIEWED_BY, date_from=date_from, date_to=date_to)


def audit_csv(entries: pd.DataFrame) -> str:
    """The entries as CSV (UTC ISO times; detail as JSON), for the audit page's download."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in entries.itertuples(index=False):
        writer.writerow(
            [
                _iso(row.at),
                _iso(row.last_at),
                row.action,
                row.user or "",
                row.organisation or "",
                json.dumps(row.detail or {}, sort_keys=True, default=str),
                row.ip or "",
            ]
        )
    return buffer.getvalue()


def _iso(value: object) -> str:
    if value is None or value is pd.NaT or (isinstance(value, float) and pd.isna(value)):
        return ""
    return pd.Timestamp(cast(Any, value)).tz_convert("UTC").isoformat()
