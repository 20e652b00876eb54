"""The customers' side of the customer list: enrolment state for the admin list, and the contact-details prompt.

An organisation on the list without a usable contact (a primary or billing contact with an email) is "contact
details needed"; its users are asked for them before anything else (:func:`needs_contact_details`). The import
itself is :mod:`portfolio.services.customers`, which re-exports these names.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, Viewer, can_manage_consent
from portfolio.ingest.customers import EMAIL
from portfolio.models import ContactKind, ContactSource, Enrolment, OrganisationContact, Role, User
from portfolio.queries import consent as consent_queries
from portfolio.queries import enrolment as queries
from portfolio.services import audit

INVITED_PASSWORD_HASH = "!invited"  # no password verifies against it: set through the invitation link


class ContactDetailsError(ValueError):
    """Contact details that cannot be stored; the message says what to fix."""


def usable_contact(contact: OrganisationContact) -> bool:
    """A named (primary or billing) contact with an email: someone the supplier can actually write to."""
    return bool(contact.email) and ContactKind(contact.kind) is not ContactKind.GENERAL


# The admin list -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrganisationRow:
    id: int
    account_number: str
    name: str
    state: str  # enrolled, invited, not invited, contact details needed, opted out, or not on the customer list
    micro_business: bool
    broker: str
    contacts: str
    users: int


def _contact_text(contact: OrganisationContact) -> str:
    kind = ContactKind(contact.kind).value.title()
    who = contact.name or "(no name)"
    return f"{kind}: {who} <{contact.email}>" if contact.email else f"{kind}: {who} (no email)"


def enrolment_state(enrolment: Enrolment | None, contacts: list[OrganisationContact], users: list[User]) -> str:
    if enrolment is not None and enrolment.opted_out_at is not None:
        return "opted out"
    if not any(usable_contact(c) for c in contacts):
        return "contact details needed"
    if any(u.password_hash != INVITED_PASSWORD_HASH for u in users):
        return "enrolled"
    return "invited" if users else "not invited"


def organisation_rows(session: Session, viewer: Viewer) -> list[OrganisationRow]:
    """Every organisation with its enrolment state, contacts, micro-business flag and broker (admins only)."""
    if not viewer.is_admin:
        raise AccessDenied("only administrators see the organisations list")
    organisations = queries.load_admin_organisations(session)
    ids = [o.id for o in organisations]
    enrolments = queries.load_enrolments(session, ids)
    contacts = queries.load_contacts(session, ids)
    users = queries.load_customer_users(session, ids)
    rows = []
    for organisation in organisations:
        enrolment = enrolments.get(organisation.id)
        people = contacts.get(organisation.id, [])
        members = users.get(organisation.id, [])
        rows.append(
            OrganisationRow(
                id=organisation.id,
                account_number=organisation.account_number,
                name=organisation.name,
                state=enrolment_state(enrolment, people, members) if enrolment else "not on the customer list",
                micro_business=bool(enrolment and enrolment.micro_business),
                broker=(enrolment.elected_broker or "") if enrolment else "",
                contacts="; ".join(_contact_text(c) for c in people),
                users=len(members),
            )
        )
    return rows


# The contact-details prompt -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactDetails:
    organisation: str
    general: tuple[str, ...]  # shown, not editable
    editable: tuple[OrganisationContact, ...]  # the customer's own contacts so far


def needs_contact_details(session: Session, user: User) -> bool:
    """True for a customer of an organisation on the customer list that has no usable contact yet."""
    if Role(user.role) is not Role.CUSTOMER or user.organisation_id is None:
        return False
    if queries.load_enrolment(session, user.organisation_id) is None:
        return False
    return not any(
        usable_contact(c) for c in queries.load_contacts(session, [user.organisation_id]).get(user.organisation_id, [])
    )


def _own_organisation(viewer: Viewer) -> int:
    organisation = viewer.own_organisation_id
    if organisation is None or not can_manage_consent(viewer, organisation):
        raise AccessDenied("only a customer's own people give its contact details")
    return organisation


def contact_details(session: Session, viewer: Viewer) -> ContactDetails:
    organisation_id = _own_organisation(viewer)
    organisation = consent_queries.load_organisation(session, organisation_id)
    contacts = queries.load_contacts(session, [organisation_id]).get(organisation_id, [])
    return ContactDetails(
        organisation=organisation.name if organisation else "",
        general=tuple(_contact_text(c) for c in contacts if ContactKind(c.kind) is ContactKind.GENERAL),
        editable=tuple(c for c in contacts if ContactSource(c.source) is ContactSource.CUSTOMER),
    )


def _clean(value: object, what: str, limit: int, *, required: bool) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if required and not text:
        raise ContactDetailsError(f"give the {what}")
    if len(text) > limit:
        raise ContactDetailsError(f"the {what} is longer than {limit} characters")
    return text


def save_contact_details(
    session: Session,
    viewer: Viewer,
    *,
    primary_name: object,
    primary_email: object,
    billing_name: object = "",
    billing_email: object = "",
    now: dt.datetime | None = None,
    ip: str | None = None,
) -> None:
    """Store the customer's primary (required) and billing (optional) contacts, replacing ones they gave before."""
    now = now or dt.datetime.now(dt.UTC)
    organisation_id = _own_organisation(viewer)
    if viewer.read_only:
        raise AccessDenied("you have read-only access")
    wanted = []
    for kind, name, email, required in (
        (ContactKind.PRIMARY, primary_name, primary_email, True),
        (ContactKind.BILLING, billing_name, billing_email, False),
    ):
        label = kind.value
        person = _clean(name, f"{label} contact's name", 200, required=required)
        address = _clean(email, f"{label} contact's email", 320, required=required).lower()
        if address and not EMAIL.match(address):
            raise ContactDetailsError(f"{address!r} is not an email address")
        if bool(person) != bool(address):
            raise ContactDetailsError(f"give both the {label} contact's name and email, or neither")
        if person:
            wanted.append((kind, person, address))
    try:
        existing = queries.load_contacts(session, [organisation_id]).get(organisation_id, [])
        queries.delete_contacts(session, [c.id for c in existing if ContactSource(c.source) is ContactSource.CUSTOMER])
        session.add_all(
            OrganisationContact(
                organisation_id=organisation_id,
                name=person,
                email=address,
                kind=kind,
                portal_user=False,
                source=ContactSource.CUSTOMER,
            )
            for kind, person, address in wanted
        )
        audit.record(
            session,
            "contact_details_given",
            user_id=viewer.user_id,
            organisation_id=organisation_id,
            detail={"contacts": [k.value for k, _, _ in wanted]},
            ip=ip,
            now=now,
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
