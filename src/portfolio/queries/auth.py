"""Login look-ups and the shared record of login attempts that rate limits every worker alike."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portfolio.models import LoginAttempt, User

EMAIL_LENGTH = 320
IP_LENGTH = 64


def load_active_user(session: Session, user_id: int) -> User | None:
    """The user behind a session cookie, or None once they are deleted or deactivated (which ends their sessions)."""
    user = session.get(User, user_id)
    return user if user is not None and user.is_active else None


def count_recent_failures(session: Session, *, email: str, ip: str | None, since_ts: int) -> tuple[int, int]:
    """Failures since ``since_ts`` [UTC epoch s] for ``email`` (reset by its last success) and for ``ip``.

    A success resets only the email count: an attacker holding one account must not be able to clear
    the count for the address they are guessing from.
    """
    last_success = (
        select(func.max(LoginAttempt.at_ts))
        .where(LoginAttempt.email == email[:EMAIL_LENGTH], LoginAttempt.success.is_(True))
        .scalar_subquery()
    )
    by_email = session.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            LoginAttempt.email == email[:EMAIL_LENGTH],
            LoginAttempt.success.is_(False),
            LoginAttempt.at_ts >= since_ts,
            LoginAttempt.at_ts > func.coalesce(last_success, -1),
        )
    )
    by_ip = 0
    if ip:
        by_ip = (
            session.scalar(
                select(func.count())
                .select_from(LoginAttempt)
                .where(
                    LoginAttempt.ip == ip[:IP_LENGTH], LoginAttempt.success.is_(False), LoginAttempt.at_ts >= since_ts
                )
            )
            or 0
        )
    return int(by_email or 0), int(by_ip)


def login_blocked(session: Session, *, email: str, ip: str | None, since_ts: int, max_failures: int) -> bool:
    """True when either the email or the address has used up its failures in the window."""
    by_email, by_ip = count_recent_failures(session, email=email, ip=ip, since_ts=since_ts)
    return by_email >= max_failures or by_ip >= max_failures


def record_login_attempt(session: Session, *, email: str, ip: str | None, success: bool, at_ts: int) -> None:
    """Add one attempt (the caller commits); lengths are clipped so hostile input cannot break the insert."""
    session.add(
        LoginAttempt(
            at_ts=at_ts,
            email=email[:EMAIL_LENGTH],
            ip=ip[:IP_LENGTH] if ip else None,
            success=success,
        )
    )
