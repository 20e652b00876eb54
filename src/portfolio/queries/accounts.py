"""SQL for user accounts."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portfolio.models import User


def load_user_by_email(session: Session, normalised_email: str) -> User | None:
    """The user whose email matches, ignoring case (``normalised_email`` is already lower-cased and trimmed)."""
    return session.scalar(select(User).where(func.lower(User.email) == normalised_email))
