"""People who sign in: users, their login attempts, server-side sessions and one-time account links."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portfolio.models.base import Base, checked_enum
from portfolio.models.enums import Role, TokenPurpose
from portfolio.models.sites import Organisation


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(checked_enum(Role, "role"))
    display_name: Mapped[str | None] = mapped_column(String(200))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="SET NULL"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    organisation: Mapped[Organisation | None] = relationship()


class LoginAttempt(Base):
    """Failed and successful logins, shared by every worker so rate limiting holds across processes."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_at", "email", "at_ts"),
        Index("ix_login_attempts_ip_at", "ip", "at_ts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at_ts: Mapped[int] = mapped_column(BigInteger)
    email: Mapped[str] = mapped_column(String(320))
    ip: Mapped[str | None] = mapped_column(String(64))
    success: Mapped[bool] = mapped_column(Boolean)


class UserSession(Base):
    """One signed-in browser session, kept server-side so logout and revocation end every copy of the cookie.

    The cookie carries a random id; only its SHA-256 (``id_hash``) is stored, so a database read does not hand
    out live sessions. ``client_hash`` binds the session to the browser that signed in (its User-Agent), and
    ``privilege_hash`` to the access rights it was issued for: a change rotates the id. Times are UTC epoch [s].
    """

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_id", "user_id"),)

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_ts: Mapped[int] = mapped_column(BigInteger)
    last_seen_ts: Mapped[int] = mapped_column(BigInteger)
    client_hash: Mapped[str] = mapped_column(String(64))
    privilege_hash: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))


class AccountToken(Base):
    """A one-time link to set a password: only its SHA-256 is stored, so reading the table hands out no link.

    Single use: ``used_at`` is set when the link sets a password. A link ends early (``expires_at`` moved to
    the moment) when a newer one of the same purpose is sent or another link of the user is used.
    """

    __tablename__ = "account_tokens"
    __table_args__ = (Index("ix_account_tokens_user_purpose", "user_id", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[TokenPurpose] = mapped_column(checked_enum(TokenPurpose, "token_purpose"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()
