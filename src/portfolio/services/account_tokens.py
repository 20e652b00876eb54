"""Invitations to set a password (placeholder: the ``accounts`` branch brings the real one-time tokens).

Only :func:`send_invitation` lives here, with the signature the customer-list import calls; the lead replaces this
module with the accounts helper's at merge.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from portfolio.config import Settings
from portfolio.models import User
from portfolio.services.notifications import queue_email


def send_invitation(session: Session, user: User, *, settings: Settings, now: dt.datetime) -> None:
    """Queue an invitation email with a link to set a password (the caller commits)."""
    link = f"{settings.base_url.rstrip('/')}/account/set-password?token=placeholder-{user.id}"
    queue_email(
        session,
        user,
        key=f"invitation:{user.id}",
        subject="You are invited to the energy portfolio",
        body=(
            f"Hello,\n\nAn account has been created for {user.email}. Set your password here (the link works once, "
            f"for 7 days):\n\n{link}\n"
        ),
        now=now,
    )
