"""The SQL of enrolment: organisations by account, their enrolment row and contacts, brokers, opted-out readings.

Nothing here decides anything or commits: :mod:`portfolio.services.customers` and
:mod:`portfolio.services.opt_out` own the rules and the transactions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from portfolio.access import active_grant_condition
from portfolio.models import (
    UNASSIGNED_ACCOUNT,
    Enrolment,
    Grant,
    GranteeKind,
    MeterType,
    Organisation,
    OrganisationContact,
    Reading,
    Role,
    Site,
    User,
)
from portfolio.queries.data_version import mark_usage_changed

INTERVAL_MAX_SECONDS = 3600  # half-hourly and hourly readings: what an opted-out organisation keeps none of


def load_organisations_by_account(session: Session, accounts: Sequence[str]) -> dict[str, Organisation]:
    wanted = sorted(set(accounts))
    found: dict[str, Organisation] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(
            (o.account_number, o)
            for o in session.scalars(select(Organisation).where(Organisation.account_number.in_(chunk)))
        )
    return found


def load_enrolments(session: Session, organisation_ids: Iterable[int] | None = None) -> dict[int, Enrolment]:
    statement = select(Enrolment)
    if organisation_ids is not None:
        statement = statement.where(Enrolment.organisation_id.in_(sorted(set(organisation_ids))))
    return {e.organisation_id: e for e in session.scalars(statement)}


def load_enrolment(session: Session, organisation_id: int) -> Enrolment | None:
    return session.get(Enrolment, organisation_id)


def load_contacts(
    session: Session, organisation_ids: Iterable[int] | None = None
) -> dict[int, list[OrganisationContact]]:
    """Contacts per organisation, in a stable order (kind, then id)."""
    statement = select(OrganisationContact).order_by(
        OrganisationContact.organisation_id, OrganisationContact.kind, OrganisationContact.id
    )
    if organisation_ids is not None:
        statement = statement.where(OrganisationContact.organisation_id.in_(sorted(set(organisation_ids))))
    by_organisation: dict[int, list[OrganisationContact]] = {}
    for contact in session.scalars(statement):
        by_organisation.setdefault(contact.organisation_id, []).append(contact)
    return by_organisation


def delete_contacts(session: Session, contact_ids: Sequence[int]) -> None:
    if contact_ids:
        session.execute(delete(OrganisationContact).where(OrganisationContact.id.in_(sorted(contact_ids))))


def load_users_by_email(session: Session, emails: Iterable[str]) -> dict[str, User]:
    wanted = sorted({e.lower() for e in emails})
    found: dict[str, User] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found.update(
            (u.email.lower(), u) for u in session.scalars(select(User).where(func.lower(User.email).in_(chunk)))
        )
    return found


def load_customer_users(session: Session, organisation_ids: Iterable[int]) -> dict[int, list[User]]:
    """Active customer users per organisation."""
    ids = sorted(set(organisation_ids))
    if not ids:
        return {}
    statement = (
        select(User)
        .where(User.organisation_id.in_(ids), User.role == Role.CUSTOMER, User.is_active.is_(True))
        .order_by(User.id)
    )
    by_organisation: dict[int, list[User]] = {}
    for user in session.scalars(statement):
        by_organisation.setdefault(int(user.organisation_id or 0), []).append(user)
    return by_organisation


def load_broker_firms(session: Session, names: Iterable[str]) -> dict[str, Organisation]:
    """Organisations (lower-cased name -> organisation) with at least one broker user: the broker firms."""
    wanted = sorted({n.lower() for n in names})
    if not wanted:
        return {}
    firms = (
        select(Organisation)
        .where(func.lower(Organisation.name).in_(wanted))
        .where(Organisation.id.in_(select(User.organisation_id).where(User.role == Role.BROKER)))
    )
    return {o.name.lower(): o for o in session.scalars(firms)}


def load_active_broker_grants(session: Session, organisation_id: int, now: dt.datetime) -> list[Grant]:
    statement = select(Grant).where(
        Grant.organisation_id == organisation_id,
        Grant.grantee_kind == GranteeKind.BROKER,
        Grant.shared_view_id.is_(None),
        active_grant_condition(now),
    )
    return list(session.scalars(statement.order_by(Grant.id)))


def load_interval_meter_organisation_ids(session: Session, organisation_ids: Iterable[int]) -> set[int]:
    """Organisations among ``organisation_ids`` with at least one AMR or smart meter (the opt-out applies to those)."""
    ids = sorted(set(organisation_ids))
    if not ids:
        return set()
    statement = (
        select(Site.organisation_id)
        .where(Site.organisation_id.in_(ids), Site.meter_type.in_([MeterType.AMR, MeterType.SMART]))
        .distinct()
    )
    return set(session.scalars(statement))


def load_organisation_site_ids(session: Session, organisation_id: int) -> list[int]:
    return list(session.scalars(select(Site.id).where(Site.organisation_id == organisation_id).order_by(Site.id)))


def load_interval_span(session: Session, site_id: int) -> tuple[int, int] | None:
    """[first start, last end) of a site's half-hourly and hourly readings [UTC epoch s], None when it has none."""
    row = session.execute(
        select(func.min(Reading.start_ts), func.max(Reading.start_ts + Reading.interval_seconds)).where(
            Reading.site_id == site_id, Reading.interval_seconds <= INTERVAL_MAX_SECONDS
        )
    ).one()
    return None if row[0] is None else (int(row[0]), int(row[1]))


def delete_interval_readings(session: Session, site_id: int) -> int:
    """Delete a site's half-hourly and hourly readings (longer ones, such as monthly reads, stay); return the count."""
    mark_usage_changed(session)
    result = session.execute(
        delete(Reading)
        .where(Reading.site_id == site_id, Reading.interval_seconds <= INTERVAL_MAX_SECONDS)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def load_admin_organisations(session: Session) -> list[Organisation]:
    """Every organisation but the Unassigned queue, by name."""
    statement = (
        select(Organisation).where(Organisation.account_number != UNASSIGNED_ACCOUNT).order_by(Organisation.name)
    )
    return list(session.scalars(statement))
