"""The signed-in user's own account: display name, notification channels, password, and signing out everywhere."""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from sqlalchemy.orm import Session

from portfolio.models import User
from portfolio.queries import account_tokens as token_queries
from portfolio.queries.auth import load_active_user
from portfolio.queries.sessions import delete_user_sessions
from portfolio.services import audit
from portfolio.services.account_tokens import check_new_password
from portfolio.services.accounts import UserError, check_password, hash_password
from portfolio.services.notifications import Channels, channels_for, save_channels

MAX_NAME_LENGTH = 200


class WrongPassword(UserError):
    """The current password given to change it is wrong (counted like a failed sign-in)."""


@dataclass(frozen=True)
class Profile:
    email: str
    display_name: str
    role: str
    channels: Channels


def _user(session: Session, user_id: int) -> User:
    user = load_active_user(session, user_id)
    if user is None:
        raise UserError("This account is no longer active.")
    return user


def load_profile(session: Session, user_id: int) -> Profile:
    user = _user(session, user_id)
    role = getattr(user.role, "value", str(user.role))
    return Profile(user.email, user.display_name or "", role, channels_for(session, user.id))


def clean_display_name(value: str) -> str | None:
    """A name people can read: trimmed, no control characters, at most ``MAX_NAME_LENGTH``; blank means none."""
    name = " ".join(value.split())
    if any(unicodedata.category(character).startswith("C") for character in name):
        raise UserError("The name must not contain control characters.")
    if len(name) > MAX_NAME_LENGTH:
        raise UserError(f"The name must have at most {MAX_NAME_LENGTH} characters.")
    return name or None


def update_profile(
    session: Session, user_id: int, *, display_name: str, email: bool, in_app: bool, ip: str | None
) -> Profile:
    """Save the name and the notification channels, audit, commit."""
    user = _user(session, user_id)
    user.display_name = clean_display_name(display_name)
    channels = save_channels(session, user.id, email=email, in_app=in_app)
    audit.record(
        session,
        "profile_changed",
        user_id=user.id,
        organisation_id=user.organisation_id,
        detail={"email_notifications": email, "in_app_notifications": in_app},
        ip=ip,
    )
    session.commit()
    role = getattr(user.role, "value", str(user.role))
    return Profile(user.email, user.display_name or "", role, channels)


def change_own_password(
    session: Session,
    user_id: int,
    *,
    current: str,
    new: str,
    confirm: str,
    now: dt.datetime,
    ip: str | None,
) -> User:
    """Check the current password, set the new one, end every session and live link of the user, audit, commit.

    The caller starts a fresh session for the browser that asked, so only the other sessions stay ended.
    Raises ``UserError`` (nothing changes) when the current password is wrong or the new one breaks the rules.
    """
    user = _user(session, user_id)
    if not check_password(user, current):
        raise WrongPassword("The current password is wrong.")
    check_new_password(new, confirm)
    user.password_hash = hash_password(new)
    token_queries.end_live_tokens(session, user.id, now.astimezone(dt.UTC))
    ended = delete_user_sessions(session, [user.id])
    audit.record(
        session,
        "password_changed",
        user_id=user.id,
        organisation_id=user.organisation_id,
        detail={"sessions_ended": ended},
        ip=ip,
        now=now,
    )
    session.commit()
    return user


def sign_out_everywhere(session: Session, user_id: int, *, ip: str | None) -> int:
    """End every session of the user, audit, commit; returns how many ended."""
    ended = delete_user_sessions(session, [user_id])
    user = session.get(User, user_id)
    audit.record(
        session,
        "signed_out_everywhere",
        user_id=user_id,
        organisation_id=user.organisation_id if user is not None else None,
        detail={"sessions_ended": ended},
        ip=ip,
    )
    session.commit()
    return ended
