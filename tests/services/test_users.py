"""The admin's users page and the user's own account: admin only, audited, sessions ended where they must be."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import AccessDenied, viewer_for
from portfolio.config import Settings, load_settings
from portfolio.models import AuditEntry, Organisation, OutboxEmail, Role, User
from portfolio.queries.sessions import count_user_sessions, insert_session
from portfolio.services import account_tokens, profile, users
from portfolio.services.accounts import UserError, check_password, create_user
from portfolio.services.notifications import channels_for

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
PASSWORD = "correct horse battery"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({}, instance_path=tmp_path, database_url="unused", secret_key="x")


@pytest.fixture
def people(session_factory: sessionmaker[Session]) -> dict[str, int]:
    with session_factory.begin() as session:
        acme = Organisation(name="Acme Foods", account_number="ACME-001")
        session.add(acme)
        session.flush()
        buyer = create_user(session, "buyer@acme.example", Role.CUSTOMER, PASSWORD, organisation=acme)
        admin = create_user(session, "admin@portfolio.example", Role.ADMIN, PASSWORD)
        return {"buyer": buyer.id, "admin": admin.id}


def _viewer(session: Session, user_id: int):  # noqa: ANN202 - a Viewer
    return viewer_for(session, session.get(User, user_id), NOW)


def _sessions(session_factory: sessionmaker[Session], user_id: int, count: int = 2) -> None:
    with session_factory.begin() as session:
        for n in range(count):
            insert_session(
                session,
                id_hash=hashlib.sha256(f"{user_id}-{n}".encode()).hexdigest(),
                user_id=user_id,
                created_ts=1,
                now_ts=1,
                client_hash="c",
                privilege_hash="p",
                ip=None,
            )


def _actions(session: Session) -> list[str]:
    return [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_only_admins_list_invite_and_change_users(
    session_factory: sessionmaker[Session], settings: Settings, people: dict[str, int]
) -> None:
    with session_factory() as session:
        customer = _viewer(session, people["buyer"])
        with pytest.raises(AccessDenied):
            users.list_users(session, customer, NOW)
        with pytest.raises(AccessDenied):
            users.invite_user(
                session,
                customer,
                email="x@acme.example",
                role="customer",
                organisation_account="ACME-001",
                settings=settings,
                now=NOW,
                ip=None,
            )
        with pytest.raises(AccessDenied):
            users.set_user_active(session, customer, people["admin"], False, ip=None)
        with pytest.raises(AccessDenied):
            users.change_role(session, customer, people["buyer"], "admin", ip=None)
        assert session.scalars(select(User).where(User.email == "x@acme.example")).all() == []


def test_an_invitation_creates_the_account_emails_the_link_and_shows_its_state(
    session_factory: sessionmaker[Session], settings: Settings, people: dict[str, int]
) -> None:
    with session_factory() as session:
        admin = _viewer(session, people["admin"])
        outbox_id = users.invite_user(
            session,
            admin,
            email=" New@Acme.example ",
            role="customer",
            organisation_account="ACME-001",
            display_name="Nia New",
            settings=settings,
            now=NOW,
            ip="192.0.2.1",
        )
        email = session.get(OutboxEmail, outbox_id)
        assert (
            email is not None
            and email.to_address == "new@acme.example"
            and "/account/set-password?token=" in email.body
        )
        rows = {row.email: row for row in users.list_users(session, admin, NOW)}
        assert rows["new@acme.example"].invitation.startswith("pending until 2026-12-08 09:00")
        assert rows["new@acme.example"].organisation == "Acme Foods (ACME-001)" and rows["new@acme.example"].can_resend
        assert rows["buyer@acme.example"].invitation == "" and not rows["buyer@acme.example"].can_resend
        later = {row.email: row for row in users.list_users(session, admin, NOW + dt.timedelta(days=8))}
        assert later["new@acme.example"].invitation == "expired" and later["new@acme.example"].can_resend
        users.resend_invitation(
            session, admin, rows["new@acme.example"].id, settings=settings, now=NOW + dt.timedelta(days=8), ip=None
        )
        assert _actions(session) == ["user_invited", "invitation_resent"]
        # The raw token is only in the email: read it from there.
        body = session.scalars(select(OutboxEmail.body).order_by(OutboxEmail.id.desc())).first() or ""
        token = body.split("token=")[1].split()[0]
        account_tokens.redeem(session, token, "a brand new passphrase", now=NOW + dt.timedelta(days=8), ip=None)
        rows = {row.email: row for row in users.list_users(session, admin, NOW + dt.timedelta(days=8))}
        assert rows["new@acme.example"].invitation == "accepted" and not rows["new@acme.example"].can_resend
        with pytest.raises(UserError, match="already set a password"):
            users.resend_invitation(session, admin, rows["new@acme.example"].id, settings=settings, now=NOW, ip=None)


@pytest.mark.parametrize(
    ("email", "role", "account", "problem"),
    [
        ("not-an-email", "customer", "ACME-001", "not an email"),
        ("buyer@acme.example", "customer", "ACME-001", "already exists"),
        ("c@acme.example", "customer", "", "belongs to an organisation"),
        ("c@acme.example", "overlord", "ACME-001", "Unknown role"),
        ("c@acme.example", "customer", "NOPE-9", "No organisation"),
    ],
)
def test_a_bad_invitation_says_why_and_changes_nothing(
    session_factory: sessionmaker[Session],
    settings: Settings,
    people: dict[str, int],
    email: str,
    role: str,
    account: str,
    problem: str,
) -> None:
    with session_factory() as session:
        with pytest.raises(UserError, match=problem):
            users.invite_user(
                session,
                _viewer(session, people["admin"]),
                email=email,
                role=role,
                organisation_account=account,
                settings=settings,
                now=NOW,
                ip=None,
            )
        session.rollback()
        assert session.scalars(select(OutboxEmail)).all() == [] and _actions(session) == []


def test_deactivation_ends_sessions_at_once_and_admins_cannot_lock_themselves_out(
    session_factory: sessionmaker[Session], people: dict[str, int]
) -> None:
    _sessions(session_factory, people["buyer"], 3)
    with session_factory() as session:
        admin = _viewer(session, people["admin"])
        assert users.set_user_active(session, admin, people["buyer"], False, ip="192.0.2.1") == 3
        assert count_user_sessions(session, people["buyer"]) == 0
        assert not session.get(User, people["buyer"]).is_active
        users.set_user_active(session, admin, str(people["buyer"]), True, ip=None)
        assert session.get(User, people["buyer"]).is_active
        for bad in (people["admin"], "x", "-1", 10**30):
            with pytest.raises(UserError):
                users.set_user_active(session, admin, bad, False, ip=None)
        with pytest.raises(UserError):
            users.change_role(session, admin, people["admin"], "customer", ip=None)
        assert _actions(session) == ["user_deactivated", "user_reactivated"]


def test_role_changes_are_audited_and_customers_keep_an_organisation(
    session_factory: sessionmaker[Session], people: dict[str, int]
) -> None:
    with session_factory() as session:
        admin = _viewer(session, people["admin"])
        users.change_role(session, admin, people["buyer"], "broker", ip=None)
        assert session.get(User, people["buyer"]).role == Role.BROKER
        users.change_role(session, admin, people["buyer"], "customer", ip=None)  # keeps Acme
        lone = create_user(session, "ops@portfolio.example", Role.ADMIN, PASSWORD)
        session.commit()
        with pytest.raises(UserError, match="organisation"):
            users.change_role(session, admin, lone.id, "customer", ip=None)
        session.rollback()
        users.change_role(session, admin, lone.id, "customer", organisation_account="ACME-001", ip=None)
        [first, *_] = session.scalars(select(AuditEntry).where(AuditEntry.action == "user_role_changed")).all()
        assert first.detail["from"] == "customer" and first.detail["to"] == "broker"


def test_profile_and_password_change_of_ones_own_account(
    session_factory: sessionmaker[Session], people: dict[str, int]
) -> None:
    _sessions(session_factory, people["buyer"], 2)
    with session_factory() as session:
        saved = profile.update_profile(
            session, people["buyer"], display_name="  Bea   Buyer ", email=False, in_app=True, ip=None
        )
        assert saved.display_name == "Bea Buyer" and channels_for(session, people["buyer"]).email is False
        with pytest.raises(UserError):
            profile.update_profile(session, people["buyer"], display_name="a\x07b", email=True, in_app=True, ip=None)
        session.rollback()
        with pytest.raises(profile.WrongPassword):
            profile.change_own_password(
                session,
                people["buyer"],
                current="wrong one!",
                new="a new passphrase",
                confirm="a new passphrase",
                now=NOW,
                ip=None,
            )
        session.rollback()
        assert count_user_sessions(session, people["buyer"]) == 2
        with pytest.raises(UserError, match="at least 10"):
            profile.change_own_password(
                session, people["buyer"], current=PASSWORD, new="short", confirm="short", now=NOW, ip=None
            )
        session.rollback()
        user = profile.change_own_password(
            session,
            people["buyer"],
            current=PASSWORD,
            new="a new passphrase",
            confirm="a new passphrase",
            now=NOW,
            ip=None,
        )
        assert check_password(user, "a new passphrase") and count_user_sessions(session, people["buyer"]) == 0
        assert _actions(session) == ["profile_changed", "password_changed"]
