"""Consent use cases: give and revoke grants, and the "Data sharing" overview of who can see an organisation's data.

Every function checks the policy (:mod:`portfolio.access`) first, refuses bad input with a :class:`ConsentError`
naming the problem before anything is written, audits what it changed about an organisation's data, and owns
its transaction (commits on success, rolls back on any error). Ids outside the viewer's reach are refused with
the same message as ids that do not exist.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from portfolio.access import (
    AccessDenied,
    DataType,
    Right,
    Viewer,
    can_manage_consent,
)
from portfolio.models import Grant, GranteeKind, Role, User
from portfolio.queries import consent as consent_queries
from portfolio.services import audit

LOCAL_ZONE = ZoneInfo("Europe/London")
EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
MAX_RECIPIENTS = 20


class ConsentError(ValueError):
    """A grant or share that cannot be made as asked; the message says what to fix."""


@contextmanager
def unit_of_work(session: Session) -> Iterator[Session]:
    """The use case's transaction: commit when it returns, roll back everything when it raises."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def parse_id(value: object, what: str) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise AccessDenied(f"no {what} {value!r}") from None
    if not 0 < number < 2**63:
        raise AccessDenied(f"no {what} {value!r}")
    return number


def parse_emails(text: object) -> list[str]:
    """Addresses separated by commas, semicolons, spaces or lines; every one must be an email address."""
    if not isinstance(text, str | list | tuple):
        raise ConsentError("give the email address of at least one person")
    parts = text if isinstance(text, list | tuple) else re.split(r"[\s,;]+", text)
    emails = [str(p).strip().lower() for p in parts if str(p).strip()]
    if not emails:
        raise ConsentError("give the email address of at least one person")
    invalid = [e for e in emails if not EMAIL.match(e)]
    if invalid:
        raise ConsentError(f"{', '.join(repr(e) for e in invalid)} is not an email address")
    unique = list(dict.fromkeys(emails))
    if len(unique) > MAX_RECIPIENTS:
        raise ConsentError(f"share with at most {MAX_RECIPIENTS} people at once (you gave {len(unique)})")
    return unique


def parse_date(value: object, field: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        raise ConsentError(f"{field} {value!r} is not a date (YYYY-MM-DD)") from None


def parse_until(value: object, now: dt.datetime) -> dt.datetime | None:
    """An optional last local day: access ends at the following local midnight; it must be in the future."""
    if value in (None, ""):
        return None
    day = parse_date(value, "until")
    until = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), LOCAL_ZONE).astimezone(dt.UTC)
    if until <= now:
        raise ConsentError(f"'until' {day.isoformat()} is in the past")
    return until


# Grants ----------------------------------------------------------------------------------------------------------


def give_grant(
    session: Session,
    viewer: Viewer,
    *,
    grantee_email: object,
    grantee_kind: object = GranteeKind.PERSON,
    organisation_id: object | None = None,
    site_ids: Sequence[object] | None = None,
    data_types: Sequence[object] = tuple(DataType),
    rights: object = Right.READ,
    valid_until: object = None,
    ip: str | None = None,
    now: dt.datetime | None = None,
) -> Grant:
    """An organisation's own person lets someone outside it see (brokers: manage) all or chosen sites' data."""
    now = now or dt.datetime.now(dt.UTC)
    organisation = (
        viewer.own_organisation_id if organisation_id in (None, "") else parse_id(organisation_id, "organisation")
    )
    if organisation is None or not can_manage_consent(viewer, organisation):
        raise AccessDenied(f"no organisation {organisation_id!r}")
    try:
        kind = GranteeKind(grantee_kind)
        right = Right(rights)
        kinds = [DataType(d) for d in data_types]
    except ValueError as error:
        raise ConsentError(str(error)) from None
    if kind is GranteeKind.APPLICATION:
        raise ConsentError("third-party applications cannot be authorised yet")
    if not kinds:
        raise ConsentError("choose at least one kind of data to share")
    if right is Right.MANAGE and kind is not GranteeKind.BROKER:
        raise ConsentError("only a broker can be given the right to manage")
    (email,) = parse_emails([grantee_email]) if isinstance(grantee_email, str) else parse_emails(grantee_email)[:1]
    grantee = consent_queries.load_users_by_email(session, [email]).get(email)
    _check_grantee(grantee, kind, organisation)
    chosen = _organisation_sites(session, organisation, site_ids)
    with unit_of_work(session):
        grant = consent_queries.insert_grant(
            session,
            organisation_id=organisation,
            grantee_kind=kind,
            grantee_user_id=grantee.id if grantee else None,
            grantee_email=None if grantee else email,
            site_ids=chosen,
            data_types=kinds,
            rights=right,
            valid_from=now,
            valid_until=parse_until(valid_until, now),
            granted_by_id=viewer.user_id,
        )
        audit.record(
            session,
            "grant_created",
            user_id=viewer.user_id,
            organisation_id=organisation,
            detail={"grant": grant.id, "grantee": email, "kind": kind.value, "rights": right.value},
            ip=ip,
            now=now,
        )
    return grant


def _check_grantee(grantee: User | None, kind: GranteeKind, organisation_id: int) -> None:
    if kind is GranteeKind.BROKER and (grantee is None or grantee.role is not Role.BROKER):
        raise ConsentError("that email is not a broker's account; add them as a named person instead")
    if kind is GranteeKind.ACCOUNT_MANAGER and (grantee is None or grantee.role is not Role.ACCOUNT_MANAGER):
        raise ConsentError("that email is not an account manager's account")
    if grantee is not None and grantee.role is Role.CUSTOMER and grantee.organisation_id == organisation_id:
        raise ConsentError(f"{grantee.email} is already in your organisation")


def _organisation_sites(session: Session, organisation_id: int, site_ids: Sequence[object] | None) -> list[int] | None:
    if site_ids is None:
        return None
    ids = [parse_id(s, "site") for s in site_ids]
    if not ids:
        raise ConsentError("choose at least one site, or all sites")
    owners = consent_queries.load_site_organisations(session, ids)
    foreign = sorted(s for s in ids if owners.get(s) != organisation_id)
    if foreign:
        raise AccessDenied(f"no site(s) {', '.join(map(str, foreign))} in your organisation")
    return sorted(set(ids))


def revoke_grant(
    session: Session, viewer: Viewer, grant_id: object, ip: str | None = None, now: dt.datetime | None = None
) -> bool:
    """Revoke at once (the grantee's next request is refused); True when it changed, False if already revoked."""
    now = now or dt.datetime.now(dt.UTC)
    grant = consent_queries.load_grant(session, parse_id(grant_id, "grant"))
    if grant is None or not can_manage_consent(viewer, grant.organisation_id):
        raise AccessDenied(f"no grant {grant_id!r}")
    with unit_of_work(session):
        changed = consent_queries.revoke_grants(session, [grant.id], now, viewer.user_id) > 0
        if changed:
            audit.record(
                session,
                "grant_revoked",
                user_id=viewer.user_id,
                organisation_id=grant.organisation_id,
                detail={"grant": grant.id, "shared_view": grant.shared_view_id},
                ip=ip,
                now=now,
            )
    return changed


# The "Data sharing" page -----------------------------------------------------------------------------------------

DATA_LABELS = {
    DataType.INTERVAL_USAGE: "interval usage",
    DataType.DAILY_TOTALS: "daily totals",
    DataType.SITE_DETAILS: "site and account details",
}
KIND_LABELS = {
    GranteeKind.BROKER: "Broker",
    GranteeKind.ACCOUNT_MANAGER: "Account manager",
    GranteeKind.PERSON: "Named person",
    GranteeKind.APPLICATION: "Application",
}


@dataclass(frozen=True)
class GrantRow:
    """One line of the consent page: who, over what, with which rights, when, last access, and its state."""

    id: int
    kind: str
    grantee: str
    scope: str
    data: str
    rights: str
    valid_from: dt.datetime
    valid_until: dt.datetime | None
    last_access: dt.datetime | None
    status: str  # "active", "scheduled", "expired" or "revoked"
    revoked: str  # "when by whom" for revoked grants, else ""
    shared_view: str  # the shared view's name when the grant came from a share, else ""


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; everything stored is UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _status(grant: Grant, now: dt.datetime) -> str:
    if grant.revoked_at is not None:
        return "revoked"
    valid_from, valid_until = _utc(grant.valid_from), _utc(grant.valid_until)
    if valid_from is not None and valid_from > now:
        return "scheduled"
    if valid_until is not None and valid_until <= now:
        return "expired"
    return "active"


def _grantee_label(grant: Grant) -> str:
    if grant.grantee_user is not None:
        return grant.grantee_user.email
    if grant.grantee_organisation is not None:
        return f"{grant.grantee_organisation.name} (firm)"
    if grant.grantee_email:
        return f"{grant.grantee_email} (invited)"
    return f"application {grant.application_id}"


def consent_rows(
    session: Session, viewer: Viewer, organisation_id: object | None = None, now: dt.datetime | None = None
) -> list[GrantRow]:
    """Every grant the organisation gave, newest first: current ones and past ones (the history)."""
    now = now or dt.datetime.now(dt.UTC)
    organisation = (
        viewer.own_organisation_id if organisation_id in (None, "") else parse_id(organisation_id, "organisation")
    )
    if organisation is None or not can_manage_consent(viewer, organisation):
        raise AccessDenied(f"no organisation {organisation_id!r}")
    grants = consent_queries.load_organisation_grants(session, organisation)
    last_access = consent_queries.load_last_access(session, organisation)
    view_names = {v.id: v.name for v in consent_queries.load_views_of_organisation(session, organisation)}
    rows = []
    for grant in grants:
        names = sorted(s.name for s in grant.sites if s.organisation_id == organisation)
        scope = "All sites" if grant.all_sites else f"{len(names)} site{'s' * (len(names) != 1)}: {', '.join(names)}"
        revoked = ""
        if grant.revoked_at is not None:
            by = grant.revoked_by.email if grant.revoked_by else "unknown"
            revoked = f"{_utc(grant.revoked_at):%Y-%m-%d %H:%M} UTC by {by}"
        rows.append(
            GrantRow(
                id=grant.id,
                kind=KIND_LABELS[GranteeKind(grant.grantee_kind)],
                grantee=_grantee_label(grant),
                scope=scope,
                data=", ".join(DATA_LABELS[d] for d in DataType if d in grant.data_types),
                rights=Right(grant.rights).value,
                valid_from=_utc(grant.valid_from) or now,
                valid_until=_utc(grant.valid_until),
                last_access=_utc(last_access.get(grant.grantee_user_id)) if grant.grantee_user_id else None,
                status=_status(grant, now),
                revoked=revoked,
                shared_view=view_names.get(grant.shared_view_id or 0, ""),
            )
        )
    return rows
