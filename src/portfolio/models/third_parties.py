"""Green Button Connect My Data: third-party applications, their authorizations and OAuth credentials.

Secrets, codes and tokens are stored as SHA-256 hashes only; what an application may read is its grant's.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portfolio.models.base import Base, checked_enum
from portfolio.models.consent import Grant
from portfolio.models.enums import ApplicationStatus


class ThirdPartyApplication(Base):
    """A third party that may ask customers for their data (an OAuth client). Only approved ones are offered.

    The client secret is kept as a SHA-256 hash: the registering script sees it once, the database never holds it.
    """

    __tablename__ = "third_party_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000))
    website: Mapped[str | None] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_secret_hash: Mapped[str] = mapped_column(String(64))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    notify_uri: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[ApplicationStatus] = mapped_column(checked_enum(ApplicationStatus, "application_status"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ThirdPartyAuthorization(Base):
    """An ESPI Authorization (and its Subscription): one customer's grant to one application, with its scope.

    ``uuid`` names both in URLs (``Subscription/{uuid}``, ``Authorization/{uuid}``), never the database id. What
    may be read is the grant's (sites, data types, validity, revocation), checked on every API call; ``scope``
    is the ESPI scope string the application asked for (interval lengths, history length).
    """

    __tablename__ = "third_party_authorizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id", ondelete="CASCADE"), unique=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("third_party_applications.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    scope: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_access_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    grant: Mapped[Grant] = relationship()
    application: Mapped[ThirdPartyApplication] = relationship()


class OAuthCode(Base):
    """A one-time authorization code (stored hashed) with its PKCE challenge; deleted when exchanged."""

    __tablename__ = "oauth_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    authorization_id: Mapped[int] = mapped_column(
        ForeignKey("third_party_authorizations.id", ondelete="CASCADE"), index=True
    )
    redirect_uri: Mapped[str] = mapped_column(String(1000))
    scope: Mapped[str] = mapped_column(String(500))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(10))
    auth_time: Mapped[int] = mapped_column(BigInteger)  # UTC epoch seconds
    expires_at: Mapped[int] = mapped_column(BigInteger)  # UTC epoch seconds


class OAuthToken(Base):
    """An access token and its refresh token, both stored as SHA-256 hashes; revoked ones are kept for the audit."""

    __tablename__ = "oauth_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    authorization_id: Mapped[int] = mapped_column(
        ForeignKey("third_party_authorizations.id", ondelete="CASCADE"), index=True
    )
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(500))
    issued_at: Mapped[int] = mapped_column(BigInteger)  # UTC epoch seconds
    expires_in: Mapped[int] = mapped_column(Integer)  # access token lifetime [s]
    access_revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    refresh_revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    authorization: Mapped[ThirdPartyAuthorization] = relationship()


class ThirdPartyNotification(Base):
    """An ESPI BatchList to POST to an application's notification URI, kept with its attempts until delivered.

    ``status``: "pending" (send when ``next_attempt_at`` has passed), "sent", or "failed" (gave up); ``dedupe_key``
    (application and run date) makes re-running the daily pipeline harmless.
    """

    __tablename__ = "third_party_notifications"
    __table_args__ = (Index("ix_third_party_notifications_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("third_party_applications.id", ondelete="CASCADE"), index=True
    )
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    body: Mapped[str] = mapped_column(String(100000))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    application: Mapped[ThirdPartyApplication] = relationship()
