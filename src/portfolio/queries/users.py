"""SQL for the admin's users page."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portfolio.models import LoginAttempt, Organisation, Role, User


def load_users(session: Session, limit: int = 5000) -> list[tuple[User, Organisation | None]]:
    """Every user with their organisation, by email."""
    rows = session.execute(
        select(User, Organisation)
        .outerjoin(Organisation, Organisation.id == User.organisation_id)
        .order_by(User.email)
        .limit(limit)
    ).all()
    return [(user, organisation) for user, organisation in rows]


def load_organisation_choices(session: Session, limit: int = 5000) -> list[tuple[str, str]]:
    """(account number, name) of the organisations an invitation can name."""
    rows = session.execute(
        select(Organisation.account_number, Organisation.name).order_by(Organisation.name).limit(limit)
    ).all()
    return [(str(account), str(name)) for account, name in rows]


def load_active_users_with_roles(session: Session, roles: list[Role]) -> list[User]:
    """The active users holding any of ``roles``, by id."""
    return list(session.scalars(select(User).where(User.role.in_(roles), User.is_active).order_by(User.id)))


def load_users_signed_in_since(session: Session, since_ts: int) -> list[User]:
    """The active users who signed in at or after ``since_ts`` [UTC epoch s], the most recent first."""
    last = (
        select(LoginAttempt.email, func.max(LoginAttempt.at_ts).label("at_ts"))
        .where(LoginAttempt.success, LoginAttempt.at_ts >= since_ts)
        .group_by(LoginAttempt.email)
        .subquery()
    )
    return list(
        session.scalars(
            select(User)
            .join(last, last.c.email == User.email)
            .where(User.is_active)
            .order_by(last.c.at_ts.desc(), User.id)
        )
    )
