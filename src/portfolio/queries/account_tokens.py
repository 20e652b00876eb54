"""SQL for one-time account links (invitation, password reset), found by the SHA-256 of the raw token."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, case, func, select, update
from sqlalchemy.orm import Session

from portfolio.models import AccountToken, TokenPurpose


def insert_token(
    session: Session,
    *,
    user_id: int,
    purpose: TokenPurpose,
    token_hash: str,
    created_at: dt.datetime,
    expires_at: dt.datetime,
) -> AccountToken:
    """Add one link (the caller commits)."""
    token = AccountToken(
        user_id=user_id, purpose=purpose, token_hash=token_hash, created_at=created_at, expires_at=expires_at
    )
    session.add(token)
    session.flush()
    return token


def load_token(session: Session, token_hash: str) -> AccountToken | None:
    return session.scalar(select(AccountToken).where(AccountToken.token_hash == token_hash))


def latest_token(session: Session, user_id: int, purpose: TokenPurpose) -> AccountToken | None:
    return session.scalar(
        select(AccountToken)
        .where(AccountToken.user_id == user_id, AccountToken.purpose == purpose)
        .order_by(AccountToken.id.desc())
        .limit(1)
    )


def end_live_tokens(
    session: Session, user_id: int, now: dt.datetime, purposes: Iterable[TokenPurpose] = tuple(TokenPurpose)
) -> int:
    """End the user's unused, unexpired links of these purposes at ``now`` (a newer link replaces them)."""
    result = session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user_id,
            AccountToken.purpose.in_(list(purposes)),
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > now,
        )
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], result).rowcount or 0)


def mark_used(session: Session, token_id: int, now: dt.datetime) -> bool:
    """Use the link once: True only for the one request that flips ``used_at`` (two at once: one wins)."""
    result = session.execute(
        update(AccountToken)
        .where(AccountToken.id == token_id, AccountToken.used_at.is_(None), AccountToken.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], result).rowcount or 0) == 1


def count_recent(session: Session, user_id: int, purpose: TokenPurpose, since: dt.datetime) -> int:
    """Links of this purpose sent to the user since ``since`` (to cap the emails one account receives)."""
    return int(
        session.scalar(
            select(func.count()).where(
                AccountToken.user_id == user_id, AccountToken.purpose == purpose, AccountToken.created_at >= since
            )
        )
        or 0
    )


@dataclass(frozen=True)
class InvitationState:
    """What the admin's users page shows about a user's invitations."""

    invited: bool  # at least one invitation was sent
    accepted: bool  # a password was set from a link (invitation or reset)
    live_until: dt.datetime | None  # the latest invitation's expiry while it is unused and unexpired
    last_sent: dt.datetime | None


def load_invitation_states(
    session: Session, now: dt.datetime, user_ids: Iterable[int] | None = None
) -> dict[int, InvitationState]:
    """Per user with any link: invited, accepted and the live invitation's expiry, in one grouped query."""
    invitation = AccountToken.purpose == TokenPurpose.INVITATION
    live = invitation & AccountToken.used_at.is_(None) & (AccountToken.expires_at > now)
    wanted = [] if user_ids is None else [AccountToken.user_id.in_(list(user_ids))]
    rows = session.execute(
        select(
            AccountToken.user_id,
            func.max(case((invitation, 1), else_=0)),
            func.max(case((AccountToken.used_at.is_not(None), 1), else_=0)),
            func.max(case((live, AccountToken.expires_at))),
            func.max(case((invitation, AccountToken.created_at))),
        )
        .where(*wanted)
        .group_by(AccountToken.user_id)
    ).all()
    return {
        int(user_id): InvitationState(
            invited=bool(invited), accepted=bool(accepted), live_until=_aware(live_until), last_sent=_aware(last_sent)
        )
        for user_id, invited, accepted, live_until, last_sent in rows
    }


def _aware(value: dt.datetime | str | None) -> dt.datetime | None:
    """SQLite hands back aggregated datetimes as text, naive: read them as UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
