"""One-time account links: an invitation (set a first password) and a password reset, each sent by email.

Only the SHA-256 of a link's random token is stored. A link works once (``used_at``), until it expires
(``Settings.invitation_valid_seconds``, ``Settings.reset_valid_seconds``), and only while the account is active;
a newer link of the same purpose ends the older ones, and using any link ends every other live link of the user.
Setting a password from a link ends every session of the user, as a password change does.

A reset request for an unknown, deactivated or over-asked address does nothing and says so nowhere: the
page answers the same whatever the address, and sends the email only after the response (see
:func:`deliver`), so neither the answer nor its timing reveals which accounts exist.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlencode

from sqlalchemy.orm import Session, sessionmaker

from portfolio.config import Settings
from portfolio.models import AccountToken, TokenPurpose, User
from portfolio.queries import account_tokens as queries
from portfolio.queries.notifications import load_outbox_id
from portfolio.queries.sessions import delete_user_sessions
from portfolio.services import audit
from portfolio.services.accounts import MIN_PASSWORD_LENGTH, UserError, find_user, hash_password
from portfolio.services.notifications import deliver_pending, queue_email

log = logging.getLogger(__name__)

SET_PASSWORD_PATH = "/account/set-password"
MAX_PASSWORD_LENGTH = 1024  # argon2 hashes any length; a megabyte "password" only burns CPU
RESETS_PER_HOUR = 3  # reset emails one account receives per hour, however many addresses ask
RENEWALS_PER_DAY = 3  # new invitations one account can ask for itself per day


class LinkState(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"  # past its time, or replaced by a newer link
    USED = "used"
    UNKNOWN = "unknown"  # no such link, or the account is deactivated


@dataclass(frozen=True)
class LinkCheck:
    """What a link is, for the page that opens it: its purpose is known only when the link was real."""

    state: LinkState
    purpose: TokenPurpose | None = None
    email: str | None = None


class LinkError(ValueError):
    """A link that cannot set a password; ``check`` says why (expired, used or unknown)."""

    def __init__(self, check: LinkCheck) -> None:
        super().__init__(check.state.value)
        self.check = check


def hash_link_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def _utc(value: dt.datetime) -> dt.datetime:
    """Stored times come back naive from SQLite: they are UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def set_password_link(settings: Settings, raw: str) -> str:
    return f"{settings.base_url.rstrip('/')}{SET_PASSWORD_PATH}?{urlencode({'token': raw})}"


def _issue(
    session: Session, user: User, purpose: TokenPurpose, lifetime_s: int, now: dt.datetime
) -> tuple[str, AccountToken]:
    """A new link for ``user``, ending their older live links of the same purpose (the caller commits)."""
    now = _utc(now)
    queries.end_live_tokens(session, user.id, now, [purpose])
    raw = secrets.token_urlsafe(32)
    token = queries.insert_token(
        session,
        user_id=user.id,
        purpose=purpose,
        token_hash=hash_link_token(raw),
        created_at=now,
        expires_at=now + dt.timedelta(seconds=lifetime_s),
    )
    return raw, token


def _describe_lifetime(seconds: int) -> str:
    if seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day{'s' if days != 1 else ''}"
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    minutes = max(1, seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def send_invitation(session: Session, user: User, *, settings: Settings, now: dt.datetime) -> None:
    """Queue an invitation email with a one-time link to set a first password (the caller commits).

    Any earlier invitation link of the user stops working: only the newest one sets a password.
    """
    raw, token = _issue(session, user, TokenPurpose.INVITATION, settings.invitation_valid_seconds, now)
    name = f" {user.display_name}" if user.display_name else ""
    body = (
        f"Hello{name},\n\n"
        f"You have been invited to Portfolio, the energy dashboard for your sites, as {user.email}.\n\n"
        "Choose your password here to activate your account:\n\n"
        f"{set_password_link(settings, raw)}\n\n"
        f"The link works once and expires in {_describe_lifetime(settings.invitation_valid_seconds)}. "
        "If it has expired, open it anyway to ask for a new one.\n\n"
        "If you did not expect this invitation, you can ignore this email.\n"
    )
    queue_email(
        session,
        user,
        key=f"account-token:{token.id}",
        subject="Your invitation to Portfolio",
        body=body,
        now=_utc(now),
    )


def send_password_reset(session: Session, user: User, *, settings: Settings, now: dt.datetime) -> bool:
    """Queue a password-reset email unless the account had ``RESETS_PER_HOUR`` already (the caller commits)."""
    now = _utc(now)
    if queries.count_recent(session, user.id, TokenPurpose.RESET, now - dt.timedelta(hours=1)) >= RESETS_PER_HOUR:
        log.warning("password reset for user %s not sent: %s already this hour", user.id, RESETS_PER_HOUR)
        return False
    raw, token = _issue(session, user, TokenPurpose.RESET, settings.reset_valid_seconds, now)
    body = (
        f"Someone (hopefully you) asked to reset the password of your Portfolio account {user.email}.\n\n"
        "Choose a new password here:\n\n"
        f"{set_password_link(settings, raw)}\n\n"
        f"The link works once and expires in {_describe_lifetime(settings.reset_valid_seconds)}. Setting a new "
        "password signs you out of every browser.\n\n"
        "If you did not ask for this, ignore this email: your password stays as it is.\n"
    )
    return queue_email(
        session,
        user,
        key=f"account-token:{token.id}",
        subject="Reset your Portfolio password",
        body=body,
        now=now,
    )


def outbox_id_for(session: Session, token_id: int) -> int | None:
    return load_outbox_id(session, f"account-token:{token_id}")


def request_password_reset(
    session: Session, email: str, *, settings: Settings, now: dt.datetime, ip: str | None
) -> int | None:
    """The forgot-password use case: queue a reset for an active account, audit the request, commit.

    Returns the outbox id to send after the response, or None; the caller must answer the same either way.
    """
    user = find_user(session, email[:320])
    outbox_id = None
    if user is not None and user.is_active and send_password_reset(session, user, settings=settings, now=now):
        token = queries.latest_token(session, user.id, TokenPurpose.RESET)
        outbox_id = outbox_id_for(session, token.id) if token is not None else None
    audit.record(
        session,
        "password_reset_requested",
        user_id=user.id if user is not None else None,
        organisation_id=user.organisation_id if user is not None else None,
        detail={"email": email[:320], "sent": outbox_id is not None},
        ip=ip,
        now=_utc(now),
    )
    session.commit()
    return outbox_id


def check_link(session: Session, raw: str | None, now: dt.datetime) -> LinkCheck:
    """Say whether a link can set a password, without using it (a mail scanner's GET must not spend it)."""
    if not raw or len(raw) > 200:
        return LinkCheck(LinkState.UNKNOWN)
    token = queries.load_token(session, hash_link_token(raw))
    if token is None or not token.user.is_active:
        return LinkCheck(LinkState.UNKNOWN)
    purpose = TokenPurpose(token.purpose)
    if token.used_at is not None:
        return LinkCheck(LinkState.USED, purpose, token.user.email)
    if _utc(token.expires_at) <= _utc(now):
        return LinkCheck(LinkState.EXPIRED, purpose, token.user.email)
    return LinkCheck(LinkState.VALID, purpose, token.user.email)


def check_new_password(password: str, confirm: str | None = None) -> None:
    """The password rules (the same as ``portfolio create-user``): at least ``MIN_PASSWORD_LENGTH`` characters."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UserError(f"The password must have at most {MAX_PASSWORD_LENGTH} characters.")
    if confirm is not None and confirm != password:
        raise UserError("The two passwords differ.")


def redeem(
    session: Session, raw: str | None, password: str, *, confirm: str | None = None, now: dt.datetime, ip: str | None
) -> User:
    """Set the password from a link, once: end the user's sessions and other links, audit, commit.

    Raises :class:`LinkError` for an unknown, expired or used link and ``UserError`` for a password that breaks
    the rules (checked first, so a typo does not spend the link).
    """
    now = _utc(now)
    check = check_link(session, raw, now)
    if check.state is not LinkState.VALID:
        raise LinkError(check)
    check_new_password(password, confirm)
    token = queries.load_token(session, hash_link_token(raw or ""))
    if token is None or not queries.mark_used(session, token.id, now):
        session.rollback()
        raise LinkError(check_link(session, raw, now))  # used a moment ago by another request
    user = token.user
    user.password_hash = hash_password(password)
    queries.end_live_tokens(session, user.id, now)
    ended = delete_user_sessions(session, [user.id])
    purpose = TokenPurpose(token.purpose)
    audit.record(
        session,
        "invitation_accepted" if purpose is TokenPurpose.INVITATION else "password_reset",
        user_id=user.id,
        organisation_id=user.organisation_id,
        detail={"sessions_ended": ended},
        ip=ip,
        now=now,
    )
    session.commit()
    return user


def renew_invitation(
    session: Session, raw: str | None, *, settings: Settings, now: dt.datetime, ip: str | None
) -> int | None:
    """From an expired or used invitation link, send a fresh invitation to the same address (commit).

    Only for an active account that never set a password from a link, at most ``RENEWALS_PER_DAY`` a day;
    returns the outbox id to send after the response, or None. The page answers the same either way.
    """
    now = _utc(now)
    if not raw or len(raw) > 200:
        return None
    token = queries.load_token(session, hash_link_token(raw))
    if token is None or TokenPurpose(token.purpose) is not TokenPurpose.INVITATION or not token.user.is_active:
        return None
    user = token.user
    state = queries.load_invitation_states(session, now, user_ids=[user.id]).get(user.id)
    if state is not None and (state.accepted or state.live_until is not None):
        return None
    if queries.count_recent(session, user.id, TokenPurpose.INVITATION, now - dt.timedelta(days=1)) >= RENEWALS_PER_DAY:
        return None
    send_invitation(session, user, settings=settings, now=now)
    new = queries.latest_token(session, user.id, TokenPurpose.INVITATION)
    audit.record(session, "invitation_renewed", user_id=user.id, organisation_id=user.organisation_id, ip=ip, now=now)
    session.commit()
    return outbox_id_for(session, new.id) if new is not None else None


def deliver(factory: sessionmaker[Session], settings: Settings, outbox_id: int | None) -> None:
    """Send one queued account email now (called after the response); a failure stays in the outbox for retries."""
    if outbox_id is None:
        return
    report = deliver_pending(factory, settings, only=[outbox_id])
    if report.errors:
        log.warning("account email %s not sent yet: %s", outbox_id, report.errors[0].get("error"))
