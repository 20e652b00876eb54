"""Server-side session records: one row per signed-in browser, found by the SHA-256 of the cookie's random id."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import CursorResult, Result, and_, delete, or_, select, update
from sqlalchemy.orm import Session

from portfolio.models import User, UserSession

IP_LENGTH = 64


def hash_token(raw: str) -> str:
    """Store only a digest of session ids (and client fingerprints), so reading the table hands out nothing live."""
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def insert_session(
    session: Session,
    *,
    id_hash: str,
    user_id: int,
    created_ts: int,
    now_ts: int,
    client_hash: str,
    privilege_hash: str,
    ip: str | None,
) -> None:
    """Add one session row (the caller commits); times are UTC epoch [s]."""
    session.add(
        UserSession(
            id_hash=id_hash,
            user_id=user_id,
            created_ts=created_ts,
            last_seen_ts=now_ts,
            client_hash=client_hash,
            privilege_hash=privilege_hash,
            ip=ip[:IP_LENGTH] if ip else None,
        )
    )


def load_user_and_session(session: Session, user_id: int, id_hash: str) -> tuple[User | None, UserSession | None]:
    """The user and, if it is theirs, the session row ``id_hash``, in one round trip: every request checks both
    (``web/auth.py``)."""
    found = session.execute(
        select(User, UserSession)
        .outerjoin(UserSession, and_(UserSession.id_hash == id_hash, UserSession.user_id == User.id))
        .where(User.id == user_id)
    ).first()
    return (None, None) if found is None else (found[0], found[1])


def touch_session(session: Session, id_hash: str, now_ts: int) -> None:
    session.execute(update(UserSession).where(UserSession.id_hash == id_hash).values(last_seen_ts=now_ts))


def delete_session(session: Session, id_hash: str) -> int:
    return _deleted(session.execute(delete(UserSession).where(UserSession.id_hash == id_hash)))


def delete_user_sessions(session: Session, user_ids: Iterable[int]) -> int:
    """End every session of these users at once (logout everywhere, password change, deactivation)."""
    wanted = list(user_ids)
    if not wanted:
        return 0
    return _deleted(session.execute(delete(UserSession).where(UserSession.user_id.in_(wanted))))


def count_user_sessions(session: Session, user_id: int) -> int:
    return len(session.scalars(select(UserSession.id_hash).where(UserSession.user_id == user_id)).all())


def delete_expired_sessions(session: Session, *, idle_before_ts: int, created_before_ts: int) -> int:
    """Drop rows past their idle or absolute timeout; expired rows are refused anyway, this only keeps the table small."""
    return _deleted(
        session.execute(
            delete(UserSession).where(
                or_(UserSession.last_seen_ts < idle_before_ts, UserSession.created_ts < created_before_ts)
            )
        )
    )


def _deleted(result: Result[Any]) -> int:
    """Rows a DELETE removed (a DML result is a CursorResult, whose rowcount the generic type hides)."""
    return int(cast(CursorResult[Any], result).rowcount or 0)
