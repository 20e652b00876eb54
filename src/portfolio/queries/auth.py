"""Login look-ups and the shared record of login attempts that rate limits every worker alike."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import ScalarSelect

from portfolio.models import LoginAttempt, User

EMAIL_LENGTH = 320
IP_LENGTH = 64


def load_active_user(session: Session, user_id: int) -> User | None:
    """The user behind a session cookie, or None once they are deleted or deactivated (which ends their sessions)."""
    user = session.get(User, user_id)
    return user if user is not None and user.is_active else None


@dataclass(frozen=True)
class FailureCounts:
    """Failed sign-ins that the limits weigh; times are UTC epoch [s]."""

    pair: int  # for this (email, address) in the pair window, since the pair's last success
    pair_last_ts: int | None  # the latest of those failures
    email: int  # for this email from every address in the ceiling window, since the email's last success
    address: int  # from this address for every email in the ceiling window
    known_pair: bool  # this email signed in from this address within the trust period


def _same_address(ip: str | None, table: type[LoginAttempt] = LoginAttempt) -> ColumnElement[bool]:
    return table.ip == ip[:IP_LENGTH] if ip else table.ip.is_(None)


def _last_success(email: str, ip: str | None = None, *, any_address: bool = False) -> ScalarSelect[int]:
    """The id of the latest success for the email (at this address unless ``any_address``), -1 if none.

    Ids, not times: a failure in the same second as a success must still count as after it.
    """
    earlier = aliased(LoginAttempt)  # a separate alias, so the subquery is not correlated with the outer rows
    conditions = [earlier.email == email, earlier.success.is_(True)]
    if not any_address:
        conditions.append(_same_address(ip, earlier))
    return select(func.coalesce(func.max(earlier.id), -1)).where(*conditions).scalar_subquery()


def load_failure_counts(
    session: Session, *, email: str, ip: str | None, pair_since_ts: int, ceiling_since_ts: int, trusted_since_ts: int
) -> FailureCounts:
    """Count what the sign-in limits need in four small indexed queries.

    A success resets the pair's and the email's counts, never the address's: an attacker holding one account
    must not be able to clear the count for the address they are guessing from.
    """
    email = email[:EMAIL_LENGTH]
    address = _same_address(ip)
    failed = [LoginAttempt.success.is_(False)]
    pair_count, pair_last = session.execute(
        select(func.count(), func.max(LoginAttempt.at_ts)).where(
            *failed,
            LoginAttempt.email == email,
            address,
            LoginAttempt.at_ts >= pair_since_ts,
            LoginAttempt.id > _last_success(email, ip),
        )
    ).one()
    by_email = session.scalar(
        select(func.count()).where(
            *failed,
            LoginAttempt.email == email,
            LoginAttempt.at_ts >= ceiling_since_ts,
            LoginAttempt.id > _last_success(email, any_address=True),
        )
    )
    by_address = session.scalar(select(func.count()).where(*failed, address, LoginAttempt.at_ts >= ceiling_since_ts))
    known = session.scalar(
        select(func.count()).where(
            LoginAttempt.email == email,
            address,
            LoginAttempt.success.is_(True),
            LoginAttempt.at_ts >= trusted_since_ts,
        )
    )
    return FailureCounts(
        pair=int(pair_count or 0),
        pair_last_ts=int(pair_last) if pair_last is not None else None,
        email=int(by_email or 0),
        address=int(by_address or 0),
        known_pair=bool(known),
    )


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
