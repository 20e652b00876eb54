"""User creation rules and password checks."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from portfolio.access import viewer_for
from portfolio.models import Organisation, Right, Role
from portfolio.services.accounts import UserError, check_password, create_user, find_user


def test_create_and_check_password(session: Session) -> None:
    org = Organisation(name="Acme", account_number="A1")
    session.add(org)
    user = create_user(session, "  Jo@Example.COM ", "customer", "a long secret!", organisation=org)
    assert user.email == "jo@example.com"
    assert user.password_hash.startswith("$argon2")
    assert "a long secret!" not in user.password_hash
    assert check_password(user, "a long secret!")
    assert not check_password(user, "a long secret")
    assert find_user(session, "JO@example.com") is user


@pytest.mark.parametrize(
    ("email", "role", "password", "message"),
    [
        ("not-an-email", "admin", "long enough pw", "not an email"),
        ("a@b.example", "overlord", "long enough pw", "unknown role"),
        ("a@b.example", "admin", "short", "at least"),
        ("a@b.example", "customer", "long enough pw", "organisation"),
    ],
)
def test_invalid_users_are_refused(session: Session, email: str, role: str, password: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        create_user(session, email, role, password)


def test_email_is_unique_ignoring_case(session: Session) -> None:
    create_user(session, "ops@example.com", Role.ADMIN, "long enough pw")
    with pytest.raises(UserError, match="already exists"):
        create_user(session, "OPS@example.com", Role.ADMIN, "long enough pw")


def test_broker_links_to_several_organisations(session: Session) -> None:
    orgs = [Organisation(name=f"Org {i}", account_number=f"O{i}") for i in range(3)]
    session.add_all(orgs)
    broker = create_user(session, "b@example.com", Role.BROKER, "long enough pw", linked_organisations=orgs)
    viewer = viewer_for(session, broker)
    assert viewer.organisation_ids == {o.id for o in orgs}
    assert viewer.whole_organisation_ids(right=Right.MANAGE) == {o.id for o in orgs} and len(viewer.grant_ids) == 3
    assert broker.organisation is None


def test_account_manager_links_are_read_grants(session: Session) -> None:
    org = Organisation(name="Org", account_number="O9")
    session.add(org)
    manager = create_user(session, "am@example.com", Role.ACCOUNT_MANAGER, "long enough pw", linked_organisations=[org])
    viewer = viewer_for(session, manager)
    assert viewer.organisation_ids == {org.id} and viewer.read_only
    assert viewer.whole_organisation_ids(right=Right.MANAGE) == set() and len(viewer.grant_ids) == 1
