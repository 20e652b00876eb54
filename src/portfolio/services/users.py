"""The admin's users page: list, invite, change role, deactivate or reactivate, resend an invitation.

Every action checks :func:`portfolio.access.require_admin`, is audited, and commits. An admin cannot change
their own role or deactivate themselves (nobody locks the last admin out by a slip).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, Viewer, require_admin
from portfolio.config import Settings
from portfolio.models import Organisation, Role, TokenPurpose, User
from portfolio.queries import account_tokens as token_queries
from portfolio.queries.sites import load_organisation_by_account
from portfolio.queries.users import load_organisation_choices, load_users
from portfolio.services import audit
from portfolio.services.account_tokens import outbox_id_for, send_invitation
from portfolio.services.accounts import UserError, create_user, set_active

ROLE_LABELS = {"customer": "Customer", "broker": "Broker", "account_manager": "Account manager", "admin": "Admin"}


@dataclass(frozen=True)
class UserRow:
    id: int
    email: str
    display_name: str
    role: str
    organisation: str
    active: bool
    invitation: str  # "", "pending until …", "expired", "accepted"
    can_resend: bool


def _role(value: object) -> Role:
    try:
        return Role(str(value))
    except ValueError:
        raise UserError(f"Unknown role {str(value)[:40]!r}.") from None


def _organisation(session: Session, account: str | None) -> Organisation | None:
    account = (account or "").strip()
    if not account:
        return None
    organisation = load_organisation_by_account(session, account[:64])
    if organisation is None:
        raise UserError(f"No organisation has account number {account[:64]!r}.")
    return organisation


def _target(session: Session, viewer: Viewer, user_id: object) -> User:
    try:
        wanted = int(str(user_id))
    except ValueError:
        raise UserError("No such user.") from None
    user = session.get(User, wanted) if 0 < wanted < 2**31 else None
    if user is None:
        raise UserError("No such user.")
    if user.id == viewer.user_id:
        raise UserError("You cannot change your own role or deactivate yourself.")
    return user


def _invitation_label(state: token_queries.InvitationState | None) -> tuple[str, bool]:
    if state is None or not state.invited:
        return "", False
    if state.accepted:
        return "accepted", False
    if state.live_until is not None:
        return f"pending until {state.live_until:%Y-%m-%d %H:%M} UTC", True
    return "expired", True


def list_users(session: Session, viewer: Viewer, now: dt.datetime) -> list[UserRow]:
    require_admin(viewer, "the users page")
    states = token_queries.load_invitation_states(session, now.astimezone(dt.UTC))
    rows = []
    for user, organisation in load_users(session):
        label, can_resend = _invitation_label(states.get(user.id))
        rows.append(
            UserRow(
                id=user.id,
                email=user.email,
                display_name=user.display_name or "",
                role=getattr(user.role, "value", str(user.role)),
                organisation=f"{organisation.name} ({organisation.account_number})" if organisation else "",
                active=bool(user.is_active),
                invitation=label,
                can_resend=can_resend and bool(user.is_active),
            )
        )
    return rows


def organisation_choices(session: Session, viewer: Viewer) -> list[tuple[str, str]]:
    require_admin(viewer, "the users page")
    return load_organisation_choices(session)


def invite_user(
    session: Session,
    viewer: Viewer,
    *,
    email: str,
    role: str,
    organisation_account: str | None,
    display_name: str | None = None,
    settings: Settings,
    now: dt.datetime,
    ip: str | None,
) -> int | None:
    """Create the account (no usable password until the link sets one), send the invitation, audit, commit.

    Returns the outbox id to send after the response.
    """
    require_admin(viewer, "invitations")
    organisation = _organisation(session, organisation_account)
    # A random password nobody knows: the account signs in only once the invitation link has set one.
    user = create_user(
        session,
        email[:320],
        _role(role),
        secrets.token_urlsafe(32),
        organisation=organisation,
        display_name=(display_name or "").strip()[:200] or None,
    )
    send_invitation(session, user, settings=settings, now=now)
    token = token_queries.latest_token(session, user.id, TokenPurpose.INVITATION)
    audit.record(
        session,
        "user_invited",
        user_id=viewer.user_id,
        organisation_id=user.organisation_id,
        detail={"invited": user.email, "invited_id": user.id, "role": _role(role).value},
        ip=ip,
        now=now,
    )
    session.commit()
    return outbox_id_for(session, token.id) if token is not None else None


def resend_invitation(
    session: Session, viewer: Viewer, user_id: object, *, settings: Settings, now: dt.datetime, ip: str | None
) -> int | None:
    """Send a new invitation link (the old one stops working) unless the user already set a password."""
    require_admin(viewer, "invitations")
    user = _target(session, viewer, user_id)
    state = token_queries.load_invitation_states(session, now.astimezone(dt.UTC), [user.id]).get(user.id)
    if state is not None and state.accepted:
        raise UserError(f"{user.email} has already set a password; they can reset it from the sign-in page.")
    if not user.is_active:
        raise UserError(f"{user.email} is deactivated: reactivate the account first.")
    send_invitation(session, user, settings=settings, now=now)
    token = token_queries.latest_token(session, user.id, TokenPurpose.INVITATION)
    audit.record(
        session,
        "invitation_resent",
        user_id=viewer.user_id,
        organisation_id=user.organisation_id,
        detail={"invited": user.email, "invited_id": user.id},
        ip=ip,
        now=now,
    )
    session.commit()
    return outbox_id_for(session, token.id) if token is not None else None


def change_role(
    session: Session,
    viewer: Viewer,
    user_id: object,
    role: object,
    *,
    organisation_account: str | None = None,
    ip: str | None,
) -> User:
    """Give the user another role; a customer needs an organisation (kept, or named by account number)."""
    require_admin(viewer, "role changes")
    user = _target(session, viewer, user_id)
    new_role = _role(role)
    organisation = _organisation(session, organisation_account)
    if organisation is not None:
        user.organisation = organisation
    if new_role is Role.CUSTOMER and user.organisation_id is None and organisation is None:
        raise UserError("A customer belongs to an organisation: give its account number.")
    old = getattr(user.role, "value", str(user.role))
    user.role = new_role
    session.flush()
    audit.record(
        session,
        "user_role_changed",
        user_id=viewer.user_id,
        organisation_id=user.organisation_id,
        detail={"target": user.email, "target_id": user.id, "from": old, "to": new_role.value},
        ip=ip,
    )
    session.commit()
    return user


def set_user_active(session: Session, viewer: Viewer, user_id: object, active: bool, *, ip: str | None) -> int:
    """Deactivate (ending every session at once) or reactivate an account; returns the sessions ended."""
    require_admin(viewer, "deactivation")
    user = _target(session, viewer, user_id)
    ended = set_active(session, user, active)
    audit.record(
        session,
        "user_reactivated" if active else "user_deactivated",
        user_id=viewer.user_id,
        organisation_id=user.organisation_id,
        detail={"target": user.email, "target_id": user.id, "sessions_ended": ended},
        ip=ip,
    )
    session.commit()
    return ended


__all__ = [
    "AccessDenied",
    "ROLE_LABELS",
    "UserError",
    "UserRow",
    "change_role",
    "invite_user",
    "list_users",
    "organisation_choices",
    "resend_invitation",
    "set_user_active",
]
