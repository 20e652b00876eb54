"""User accounts: creation with argon2 password hashes, and password checks."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from portfolio.models import GranteeKind, Organisation, Right, Role, User
from portfolio.queries.accounts import load_user_by_email
from portfolio.queries.consent import insert_grant
from portfolio.queries.sessions import delete_user_sessions

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 10


class UserError(ValueError):
    """A user that cannot be created as asked; the message says why."""


def _hasher() -> PasswordHasher:
    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def normalise_email(email: str) -> str:
    """Emails are unique ignoring case and surrounding spaces, so people can type them as they like."""
    return email.strip().lower()


def check_password(user: User, password: str) -> bool:
    try:
        return _hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def find_user(session: Session, email: str) -> User | None:
    return load_user_by_email(session, normalise_email(email))


def create_user(
    session: Session,
    email: str,
    role: Role | str,
    password: str,
    organisation: Organisation | None = None,
    linked_organisations: Sequence[Organisation] = (),
    display_name: str | None = None,
) -> User:
    """Add a user; customers belong to one organisation, brokers and account managers link to several."""
    address = normalise_email(email)
    if not _EMAIL.match(address):
        raise UserError(f"{email!r} is not an email address")
    try:
        role = Role(role)
    except ValueError:
        raise UserError(f"unknown role {role!r}; expected one of {', '.join(r.value for r in Role)}") from None
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if find_user(session, address) is not None:
        raise UserError(f"a user with email {address} already exists")
    if role is Role.CUSTOMER and organisation is None:
        raise UserError("a customer belongs to an organisation: give --org ACCOUNT")
    user = User(
        email=address,
        password_hash=hash_password(password),
        role=role,
        organisation=organisation if role is Role.CUSTOMER else None,
        display_name=display_name,
    )
    session.add(user)
    session.flush()
    if role in (Role.BROKER, Role.ACCOUNT_MANAGER):
        _link_by_grants(session, user, list(linked_organisations) or ([organisation] if organisation else []))
    return user


def change_password(session: Session, user: User, new_password: str) -> int:
    """Set a new password and end every session of the user (the caller commits); returns the sessions ended.

    Whoever held a copy of a session cookie loses it: after a password change only the new password signs in.
    """
    if len(new_password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = hash_password(new_password)
    session.flush()
    return delete_user_sessions(session, [user.id])


def set_active(session: Session, user: User, active: bool) -> int:
    """Activate or deactivate an account; deactivating ends all its sessions (the caller commits)."""
    user.is_active = active
    session.flush()
    return 0 if active else delete_user_sessions(session, [user.id])


def end_sessions(session: Session, user: User) -> int:
    """Sign the user out of every browser at once (the caller commits); returns the sessions ended."""
    return delete_user_sessions(session, [user.id])


def _link_by_grants(session: Session, user: User, organisations: Sequence[Organisation]) -> None:
    """An administrator's link of a broker (manage) or account manager (read) to customers is a standing grant."""
    broker = Role(user.role) is Role.BROKER
    now = dt.datetime.now(dt.UTC)
    for organisation in organisations:
        insert_grant(
            session,
            organisation_id=organisation.id,
            grantee_kind=GranteeKind.BROKER if broker else GranteeKind.ACCOUNT_MANAGER,
            grantee_user_id=user.id,
            rights=Right.MANAGE if broker else Right.READ,
            valid_from=now,
        )
