"""The customer list: import it (organisations, contacts, elected brokers, portal users), list enrolment, and the
contact-details prompt.

:func:`import_customer_list` is idempotent and all-or-nothing: the file is checked whole (columns, values,
conflicting duplicates, brokers, users) before anything is written, then applied in one transaction that changes
only what differs. Billing-portal contacts with an email become customer users, invited once (a re-import never
invites again). An organisation on the list without a usable contact (a primary or billing contact with an email)
is "contact details needed"; its users are asked for them before anything else (:func:`needs_contact_details`).
The enrolment list and the contact-details prompt live in :mod:`portfolio.services.customers_contacts` and are
re-exported here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, Viewer
from portfolio.config import Settings
from portfolio.ingest.customers import (
    AccountRecord,
    ContactRecord,
    CustomerList,
    CustomerListError,
    parse_customer_list,
)
from portfolio.models import (
    ContactKind,
    ContactSource,
    Enrolment,
    GranteeKind,
    Organisation,
    OrganisationContact,
    Right,
    Role,
    User,
)
from portfolio.queries import consent as consent_queries
from portfolio.queries import enrolment as queries
from portfolio.services import audit
from portfolio.services.account_tokens import send_invitation
from portfolio.services.customers_contacts import (
    INVITED_PASSWORD_HASH,
    ContactDetails,
    ContactDetailsError,
    OrganisationRow,
    contact_details,
    enrolment_state,
    needs_contact_details,
    organisation_rows,
    save_contact_details,
    usable_contact,
)
from portfolio.services.opt_out import send_due_notices

__all__ = [
    "INVITED_PASSWORD_HASH",
    "ContactDetails",
    "ContactDetailsError",
    "CustomerImportReport",
    "CustomerListError",
    "OrganisationRow",
    "contact_details",
    "enrolment_state",
    "import_customer_file",
    "import_customer_list",
    "needs_contact_details",
    "organisation_rows",
    "save_contact_details",
    "usable_contact",
]


@dataclass
class CustomerImportReport:
    """What a customer list changed; ``organisations`` has one entry per account: created, changed or unchanged."""

    created: int = 0
    changed: int = 0
    unchanged: int = 0
    invited: int = 0
    contact_details_needed: int = 0
    notices_sent: int = 0
    broker_grants: int = 0
    organisations: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "invited": self.invited,
            "contact_details_needed": self.contact_details_needed,
            "notices_sent": self.notices_sent,
            "broker_grants": self.broker_grants,
            "organisations": self.organisations,
        }


# The import ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Broker:
    """An elected broker resolved: one broker's account, or a broker firm (every broker whose organisation it is)."""

    user_id: int | None = None
    firm_id: int | None = None


def _resolve_brokers(session: Session, names: set[str]) -> dict[str, _Broker]:
    emails = {n for n in names if "@" in n}
    users = queries.load_users_by_email(session, emails)
    firms = queries.load_broker_firms(session, names - emails)
    found = {e: _Broker(user_id=u.id) for e, u in users.items() if Role(u.role) is Role.BROKER}
    found.update((n, _Broker(firm_id=o.id)) for n, o in firms.items())
    return found


def _check(session: Session, customers: CustomerList) -> tuple[dict[str, Organisation], dict[str, _Broker]]:
    """Everything the database must agree with, checked before any write; raises with every problem's line."""
    problems: list[str] = []
    organisations = queries.load_organisations_by_account(session, [a.account_number for a in customers.accounts])
    wanted = {a.broker for a in customers.accounts if a.broker}
    brokers = _resolve_brokers(session, wanted) if customers.has_broker else {}
    for account in customers.accounts:
        if account.broker and customers.has_broker and account.broker not in brokers:
            problems.append(
                f"line {account.line}: unknown broker {account.broker!r}: no broker account has that email and no "
                "broker firm has that name (add the broker first)"
            )
    portal = [(a, c) for a in customers.accounts for c in a.contacts if c.portal_user and c.email]
    users = queries.load_users_by_email(session, [c.email for _, c in portal if c.email])
    for account, contact in portal:
        user = users.get(contact.email or "")
        if user is None:
            continue
        organisation = organisations.get(account.account_number)
        if Role(user.role) is not Role.CUSTOMER or organisation is None or user.organisation_id != organisation.id:
            problems.append(
                f"line {contact.line}: {contact.email} already has an account that is not a customer user of "
                f"account {account.account_number!r}"
            )
    if problems:
        raise CustomerListError(problems)
    return organisations, brokers


def _contact_key(name: str, email: str | None, kind: str, portal: bool) -> tuple[str, str, str, bool]:
    return (name, email or "", kind, bool(portal))


def _sync_contacts(
    session: Session, organisation_id: int, existing: list[OrganisationContact], wanted: tuple[ContactRecord, ...]
) -> bool:
    """Make the organisation's imported contacts the list's; customers' own contacts stay. True when they changed."""
    imported = [c for c in existing if ContactSource(c.source) is ContactSource.IMPORT]
    have = sorted(_contact_key(c.name, c.email, ContactKind(c.kind).value, c.portal_user) for c in imported)
    want = sorted(_contact_key(c.name, c.email, c.kind, c.portal_user) for c in wanted)
    if have == want:
        return False
    queries.delete_contacts(session, [c.id for c in imported])
    session.add_all(
        OrganisationContact(
            organisation_id=organisation_id,
            name=c.name,
            email=c.email,
            kind=ContactKind(c.kind),
            portal_user=c.portal_user,
            source=ContactSource.IMPORT,
        )
        for c in wanted
    )
    return True


def _elect_broker(
    session: Session,
    organisation_id: int,
    old: str | None,
    new: str | None,
    brokers: dict[str, _Broker],
    *,
    actor_id: int | None,
    now: dt.datetime,
) -> int:
    """Move the standing broker grant from the old elected broker to the new one; returns grants created."""
    grants = queries.load_active_broker_grants(session, organisation_id, now)
    previous = _resolve_brokers(session, {old}).get(old) if old else None
    target = brokers.get(new) if new else None

    def names(grant_user: int | None, grant_firm: int | None, broker: _Broker | None) -> bool:
        return broker is not None and (
            (broker.user_id is not None and grant_user == broker.user_id)
            or (broker.firm_id is not None and grant_firm == broker.firm_id)
        )

    stale = [
        g.id
        for g in grants
        if names(g.grantee_user_id, g.grantee_organisation_id, previous)
        and not names(g.grantee_user_id, g.grantee_organisation_id, target)
    ]
    if consent_queries.revoke_grants(session, stale, now, actor_id):
        for grant_id in stale:
            audit.record(
                session,
                "grant_revoked",
                user_id=actor_id,
                organisation_id=organisation_id,
                detail={"grant": grant_id, "via": "customer list"},
                now=now,
            )
    if target is None or any(names(g.grantee_user_id, g.grantee_organisation_id, target) for g in grants):
        return 0
    grant = consent_queries.insert_grant(
        session,
        organisation_id=organisation_id,
        grantee_kind=GranteeKind.BROKER,
        grantee_user_id=target.user_id,
        grantee_organisation_id=target.firm_id,
        rights=Right.MANAGE,
        valid_from=now,
        granted_by_id=actor_id,
    )
    audit.record(
        session,
        "grant_created",
        user_id=actor_id,
        organisation_id=organisation_id,
        detail={"grant": grant.id, "grantee": new, "kind": GranteeKind.BROKER.value, "via": "customer list"},
        now=now,
    )
    return 1


def _apply_account(
    session: Session,
    record: AccountRecord,
    organisation: Organisation | None,
    enrolment: Enrolment | None,
    contacts: list[OrganisationContact],
    users: dict[str, User],
    brokers: dict[str, _Broker],
    has_broker: bool,
    report: CustomerImportReport,
    *,
    settings: Settings,
    actor_id: int | None,
    now: dt.datetime,
) -> Organisation:
    changes: list[str] = []
    created = organisation is None
    if organisation is None:
        organisation = Organisation(name=record.name, account_number=record.account_number)
        session.add(organisation)
        session.flush()
    elif organisation.name != record.name:
        organisation.name = record.name
        changes.append("name")
    if enrolment is None:
        enrolment = Enrolment(
            organisation_id=organisation.id, micro_business=record.micro_business, created_at=now, updated_at=now
        )
        session.add(enrolment)
        changes.append("enrolled")
    elif bool(enrolment.micro_business) != record.micro_business:
        enrolment.micro_business = record.micro_business
        changes.append("micro_business")
    if has_broker and enrolment.elected_broker != record.broker:
        report.broker_grants += _elect_broker(
            session, organisation.id, enrolment.elected_broker, record.broker, brokers, actor_id=actor_id, now=now
        )
        enrolment.elected_broker = record.broker
        changes.append("broker")
    if _sync_contacts(session, organisation.id, contacts, record.contacts):
        changes.append("contacts")
    for contact in record.contacts:
        if not (contact.portal_user and contact.email) or contact.email in users:
            continue
        user = User(
            email=contact.email,
            password_hash=INVITED_PASSWORD_HASH,
            role=Role.CUSTOMER,
            organisation_id=organisation.id,
            display_name=contact.name or None,
            is_active=True,
        )
        session.add(user)
        session.flush()
        users[contact.email] = user
        send_invitation(session, user, settings=settings, now=now)
        report.invited += 1
        changes.append(f"invited {contact.email}")
    if changes and not created:
        enrolment.updated_at = now
    status = "created" if created else ("changed" if changes else "unchanged")
    setattr(report, status, getattr(report, status) + 1)
    report.organisations.append({"account_number": record.account_number, "status": status})
    if created or changes:
        audit.record(
            session,
            "customer_enrolled" if created else "customer_updated",
            user_id=actor_id,
            organisation_id=organisation.id,
            detail={"account": record.account_number, "changes": changes[:50]},
            now=now,
        )
    return organisation


def import_customer_list(
    session: Session,
    filename: str,
    data: bytes,
    *,
    settings: Settings,
    now: dt.datetime | None = None,
    actor_id: int | None = None,
) -> CustomerImportReport:
    """Check the whole list, then apply it in one transaction (commit); raises CustomerListError / ImportFormatError.

    A refused list changes nothing. Micro-business organisations with AMR or smart meters and users get their
    half-hourly opt-out notice in the same transaction.
    """
    now = now or dt.datetime.now(dt.UTC)
    customers = parse_customer_list(filename, data)
    report = CustomerImportReport()
    try:
        organisations, brokers = _check(session, customers)
        known_ids = [o.id for o in organisations.values()]
        enrolments = queries.load_enrolments(session, known_ids)
        contacts = queries.load_contacts(session, known_ids)
        emails = [c.email for a in customers.accounts for c in a.contacts if c.email]
        users = queries.load_users_by_email(session, emails)
        ids = []
        for record in customers.accounts:
            existing = organisations.get(record.account_number)
            organisation = _apply_account(
                session,
                record,
                existing,
                enrolments.get(existing.id) if existing else None,
                contacts.get(existing.id, []) if existing else [],
                users,
                brokers,
                customers.has_broker,
                report,
                settings=settings,
                actor_id=actor_id,
                now=now,
            )
            ids.append(organisation.id)
        session.flush()
        after = queries.load_contacts(session, ids)
        report.contact_details_needed = sum(1 for i in ids if not any(usable_contact(c) for c in after.get(i, [])))
        report.notices_sent = send_due_notices(session, settings, now, ids)
        audit.record(
            session,
            "customer_list_imported",
            user_id=actor_id,
            detail={k: v for k, v in report.as_json().items() if k != "organisations"} | {"file": filename[:200]},
            now=now,
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return report


def import_customer_file(
    session: Session, viewer: Viewer, filename: str, data: bytes, *, settings: Settings
) -> CustomerImportReport:
    """The admin page's upload: admins only."""
    if not viewer.is_admin:
        raise AccessDenied("only administrators import the customer list")
    return import_customer_list(session, filename, data, settings=settings, actor_id=viewer.user_id)
