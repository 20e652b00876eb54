"""The customer-list import: idempotent, all-or-nothing, invitations once, brokers by grant, contacts prompt.

Runs on SQLite and on PostgreSQL (the ``session`` fixture is parametrised over both; the PostgreSQL run is
marked ``postgres``).
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portfolio.access import viewer_for
from portfolio.config import Settings, load_settings
from portfolio.ingest.customers import CustomerListError
from portfolio.models import (
    AuditEntry,
    ContactSource,
    Enrolment,
    Grant,
    GranteeKind,
    Organisation,
    OrganisationContact,
    OutboxEmail,
    Role,
    User,
)
from portfolio.services import customers
from tests.world import add_user

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
HEADER = (
    "Account Number,Organisation Name,Micro Business,Billing Portal User,Contact Name,Contact Email,Contact Type,Broker"
)
LIST = f"""{HEADER}
A-100,Alder Cafe,Yes,Yes,Ann Alder,ann@alder.example,Primary,broker@example.com
A-100,Alder Cafe,Yes,No,Accounts,accounts@alder.example,Billing,broker@example.com
A-100,Alder Cafe,Yes,No,Switchboard,info@alder.example,General,broker@example.com
B-200,Beech Hotels Ltd,No,Yes,Bob Beech,bob@beech.example,Primary,Bright Brokers
C-300,Cedar Garage,yes,Yes,Carl Cedar,,Primary,
D-400,Dogwood Deli,No,No,,,,
"""


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({}, instance_path=tmp_path, database_url="sqlite://", secret_key="test-secret")


@pytest.fixture
def brokers(session: Session) -> dict[str, User]:
    firm = Organisation(name="Bright Brokers", account_number="BRK-1")
    session.add(firm)
    session.flush()
    solo = add_user(session, "broker@example.com", Role.BROKER)
    staff = add_user(session, "desk@bright.example", Role.BROKER, organisation=firm)
    session.commit()
    return {"solo": solo, "staff": staff}


def run(session: Session, settings: Settings, text: str, name: str = "customers.csv") -> customers.CustomerImportReport:
    return customers.import_customer_list(session, name, text.encode(), settings=settings, now=NOW)


def counts(session: Session) -> tuple[int, ...]:
    return tuple(
        int(session.scalar(select(func.count()).select_from(model)) or 0)
        for model in (Organisation, Enrolment, OrganisationContact, User, Grant, OutboxEmail)
    )


def test_import_creates_organisations_contacts_users_and_invites(
    session: Session, settings: Settings, brokers: dict[str, User]
) -> None:
    report = run(session, settings, LIST)
    assert (report.created, report.changed, report.unchanged) == (4, 0, 0)
    assert report.invited == 2  # Ann and Bob; Carl is a portal user without an email
    assert report.contact_details_needed == 2  # Cedar (no email) and Dogwood (no contact)
    summary = report.as_json()
    assert {"created", "changed", "unchanged", "invited", "contact_details_needed"} <= set(summary)
    alder = session.scalars(select(Organisation).where(Organisation.account_number == "A-100")).one()
    contacts = session.scalars(select(OrganisationContact).where(OrganisationContact.organisation_id == alder.id)).all()
    assert sorted(c.kind.value for c in contacts) == ["billing", "general", "primary"]
    assert all(c.source is ContactSource.IMPORT for c in contacts)
    ann = session.scalars(select(User).where(User.email == "ann@alder.example")).one()
    assert ann.role is Role.CUSTOMER and ann.organisation_id == alder.id
    emails = session.scalars(select(OutboxEmail).order_by(OutboxEmail.to_address)).all()
    invitations = [e for e in emails if "/account/set-password?token=" in e.body]
    assert [e.to_address for e in invitations] == ["ann@alder.example", "bob@beech.example"]
    grants = session.scalars(select(Grant).where(Grant.grantee_kind == GranteeKind.BROKER)).all()
    by_org = {g.organisation_id: g for g in grants}
    assert by_org[alder.id].grantee_user_id == brokers["solo"].id
    beech = session.scalars(select(Organisation).where(Organisation.account_number == "B-200")).one()
    assert by_org[beech.id].grantee_organisation_id == brokers["staff"].organisation_id
    broker_view = viewer_for(session, brokers["staff"], NOW + dt.timedelta(minutes=1))
    assert beech.id in (broker_view.organisation_ids or set())


def test_reimport_is_idempotent_and_never_invites_again(
    session: Session, settings: Settings, brokers: dict[str, User]
) -> None:
    run(session, settings, LIST)
    before = counts(session)
    report = run(session, settings, LIST)
    assert (report.created, report.changed, report.unchanged, report.invited) == (0, 0, 4, 0)
    assert counts(session) == before


def test_reimport_changes_only_what_changed(session: Session, settings: Settings, brokers: dict[str, User]) -> None:
    run(session, settings, LIST)
    edited = LIST.replace("Beech Hotels Ltd", "Beech Hotels Group").replace(
        "C-300,Cedar Garage,yes,Yes,Carl Cedar,,Primary,",
        "C-300,Cedar Garage,yes,Yes,Carl Cedar,carl@cedar.example,Primary,",
    )
    report = run(session, settings, edited)
    assert (report.created, report.changed, report.unchanged) == (0, 2, 2)
    assert report.invited == 1 and report.contact_details_needed == 1
    statuses = {o["account_number"]: o["status"] for o in report.organisations}
    assert statuses == {"A-100": "unchanged", "B-200": "changed", "C-300": "changed", "D-400": "unchanged"}


def test_changing_the_broker_moves_the_grant(session: Session, settings: Settings, brokers: dict[str, User]) -> None:
    run(session, settings, LIST)
    run(session, settings, LIST.replace(",broker@example.com\n", ",Bright Brokers\n"))
    alder = session.scalars(select(Organisation).where(Organisation.account_number == "A-100")).one()
    grants = session.scalars(select(Grant).where(Grant.organisation_id == alder.id)).all()
    active = [g for g in grants if g.revoked_at is None]
    assert [g.grantee_organisation_id for g in active] == [brokers["staff"].organisation_id]
    assert any(g.grantee_user_id == brokers["solo"].id and g.revoked_at is not None for g in grants)


BAD_LISTS = {
    "missing column": ("Account Number,Organisation Name,Contact Name\nA-1,Alder,Ann\n", "line 1: missing column"),
    "conflicting duplicate": (
        f"{HEADER}\nA-1,Alder,No,No,Ann,ann@a.example,Primary,\nA-1,Alder,Yes,No,Al,al@a.example,Billing,\n",
        "line 3: account 'A-1' has micro business",
    ),
    "malformed email": (f"{HEADER}\nA-1,Alder,No,Yes,Ann,ann(at)a.example,Primary,\n", "line 2: 'ann(at)a.example'"),
    "unknown broker": (f"{HEADER}\nA-1,Alder,No,No,Ann,ann@a.example,Primary,Nobody & Co\n", "line 2: unknown broker"),
    "bad flag": (f"{HEADER}\nA-1,Alder,maybe,No,Ann,ann@a.example,Primary,\n", "line 2: micro business must be"),
    "bad contact type": (f"{HEADER}\nA-1,Alder,No,No,Ann,ann@a.example,Boss,\n", "line 2: contact type"),
}


@pytest.mark.parametrize("case", sorted(BAD_LISTS))
def test_bad_lists_are_refused_with_the_line_and_change_nothing(
    session: Session, settings: Settings, brokers: dict[str, User], case: str
) -> None:
    run(session, settings, LIST)
    before = counts(session)
    audits = session.scalar(select(func.count()).select_from(AuditEntry))
    text, expected = BAD_LISTS[case]
    with pytest.raises(CustomerListError) as refused:
        run(session, settings, text + "D-400,Dogwood Deli Renamed,No,No,,,,\n")
    assert expected in str(refused.value)
    assert counts(session) == before
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == audits
    assert (
        session.scalars(select(Organisation.name).where(Organisation.account_number == "D-400")).one() == "Dogwood Deli"
    )


def test_a_portal_email_of_another_organisations_user_is_refused(
    session: Session, settings: Settings, brokers: dict[str, User]
) -> None:
    with pytest.raises(CustomerListError, match="line 2: broker@example.com already has an account"):
        run(session, settings, f"{HEADER}\nA-1,Alder,No,Yes,Ann,broker@example.com,Primary,\n")
    assert (
        session.scalar(select(func.count()).select_from(Organisation).where(Organisation.account_number == "A-1")) == 0
    )


def test_xlsx_lists_import_like_csv(session: Session, settings: Settings, brokers: dict[str, User]) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for line in LIST.strip().splitlines():
        sheet.append(line.split(","))
    buffer = io.BytesIO()
    book.save(buffer)
    report = customers.import_customer_list(session, "customers.xlsx", buffer.getvalue(), settings=settings, now=NOW)
    assert (report.created, report.invited) == (4, 2)
    assert run(session, settings, LIST).unchanged == 4  # the same list as CSV changes nothing


def test_contact_details_prompt_and_admin_list(session: Session, settings: Settings, brokers: dict[str, User]) -> None:
    run(session, settings, LIST)
    cedar = session.scalars(select(Organisation).where(Organisation.account_number == "C-300")).one()
    carl = add_user(session, "carl@cedar.example", Role.CUSTOMER, organisation=cedar)
    session.commit()
    assert customers.needs_contact_details(session, carl)
    viewer = viewer_for(session, carl, NOW)
    with pytest.raises(customers.ContactDetailsError, match="not an email address"):
        customers.save_contact_details(session, viewer, primary_name="Carl", primary_email="carl at cedar")
    with pytest.raises(customers.ContactDetailsError, match="primary contact's name"):
        customers.save_contact_details(session, viewer, primary_name="", primary_email="carl@cedar.example")
    assert customers.needs_contact_details(session, carl)
    customers.save_contact_details(session, viewer, primary_name="Carl Cedar", primary_email="Carl@Cedar.example")
    assert not customers.needs_contact_details(session, carl)
    admin = add_user(session, "admin@example.com", Role.ADMIN)
    session.commit()
    rows = {r.account_number: r for r in customers.organisation_rows(session, viewer_for(session, admin, NOW))}
    assert rows["C-300"].state == "enrolled"
    assert rows["A-100"].state == "invited" and rows["A-100"].micro_business
    assert rows["D-400"].state == "contact details needed"
    assert rows["B-200"].broker == "bright brokers"
    assert "General: Switchboard <info@alder.example>" in rows["A-100"].contacts
    again = run(session, settings, LIST)  # the customer's own contact survives a re-import
    assert again.contact_details_needed == 1 and not customers.needs_contact_details(session, carl)


def test_only_admins_import_or_list(session: Session, settings: Settings, brokers: dict[str, User]) -> None:
    from portfolio.access import AccessDenied

    viewer = viewer_for(session, brokers["solo"], NOW)
    with pytest.raises(AccessDenied):
        customers.import_customer_file(session, viewer, "c.csv", LIST.encode(), settings=settings)
    with pytest.raises(AccessDenied):
        customers.organisation_rows(session, viewer)
