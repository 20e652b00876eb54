"""Consent: who may see an organisation's data besides its own people (grants and shared views)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portfolio.models.accounts import User
from portfolio.models.base import Base, checked_enum
from portfolio.models.enums import DataType, GranteeKind, Right
from portfolio.models.sites import Organisation, Site

grant_sites = Table(
    "grant_sites",
    Base.metadata,
    Column("grant_id", ForeignKey("grants.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True, index=True),
)
"""The chosen sites of a grant that does not cover all of its organisation's sites."""


class Grant(Base):
    """One organisation's consent that someone outside it may see (or manage) some of its data for a while.

    Exactly one grantee column is set, as ``grantee_kind`` says: a user, a broker firm (every user whose
    organisation is the firm), an email address (a named person, who may not have an account yet) or, later,
    an application. The grant is active while not revoked and ``valid_from <= now < valid_until`` (no end:
    until revoked); :mod:`portfolio.access` reads active grants on every request. Revoked grants are kept as
    the organisation's history.
    """

    __tablename__ = "grants"
    __table_args__ = (
        Index("ix_grants_grantee_user", "grantee_user_id", "revoked_at"),
        Index("ix_grants_grantee_email", "grantee_email", "revoked_at"),
        Index("ix_grants_grantee_organisation", "grantee_organisation_id", "revoked_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    grantee_kind: Mapped[GranteeKind] = mapped_column(checked_enum(GranteeKind, "grantee_kind"))
    grantee_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    grantee_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    grantee_email: Mapped[str | None] = mapped_column(String(320))  # lower-cased
    application_id: Mapped[int | None] = mapped_column(Integer)  # placeholder until applications exist
    all_sites: Mapped[bool] = mapped_column(Boolean, default=True)  # False: only the sites in grant_sites
    interval_usage: Mapped[bool] = mapped_column(Boolean, default=True)
    daily_totals: Mapped[bool] = mapped_column(Boolean, default=True)
    site_details: Mapped[bool] = mapped_column(Boolean, default=True)
    rights: Mapped[Right] = mapped_column(checked_enum(Right, "grant_rights"), default=Right.READ)
    valid_from: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    shared_view_id: Mapped[int | None] = mapped_column(ForeignKey("shared_views.id", ondelete="CASCADE"), index=True)

    organisation: Mapped[Organisation] = relationship(foreign_keys=[organisation_id])
    grantee_user: Mapped[User | None] = relationship(foreign_keys=[grantee_user_id])
    grantee_organisation: Mapped[Organisation | None] = relationship(foreign_keys=[grantee_organisation_id])
    granted_by: Mapped[User | None] = relationship(foreign_keys=[granted_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])
    sites: Mapped[list[Site]] = relationship(secondary=grant_sites)

    @property
    def data_types(self) -> frozenset[DataType]:
        flags = {
            DataType.INTERVAL_USAGE: self.interval_usage,
            DataType.DAILY_TOTALS: self.daily_totals,
            DataType.SITE_DETAILS: self.site_details,
        }
        return frozenset(kind for kind, granted in flags.items() if granted)


class SharedView(Base):
    """A saved view (group, local date range, fuel, granularity) shared read-only with named people.

    Sharing creates one read grant per recipient and organisation whose sites the view shows (``Grant.
    shared_view_id``), so :mod:`portfolio.access` needs no second rule; revoking the view revokes them.
    ``group_id`` NULL: the sharer's "All sites" at the time of sharing.
    """

    __tablename__ = "shared_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("portfolio_groups.id", ondelete="SET NULL"))
    date_from: Mapped[dt.date] = mapped_column(Date)
    date_to: Mapped[dt.date] = mapped_column(Date)  # inclusive, local days
    fuel: Mapped[str] = mapped_column(String(8))  # "power", "gas" or "both"
    granularity: Mapped[str] = mapped_column(String(8))  # "auto", "day", "hour" or "hh"
    valid_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    recipients: Mapped[list[SharedViewRecipient]] = relationship(
        back_populates="shared_view", cascade="all, delete-orphan", order_by="SharedViewRecipient.email"
    )


class SharedViewRecipient(Base):
    """One named person a view is shared with; ``user_id`` is set once an account has that email."""

    __tablename__ = "shared_view_recipients"
    __table_args__ = (UniqueConstraint("shared_view_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shared_view_id: Mapped[int] = mapped_column(ForeignKey("shared_views.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320), index=True)  # lower-cased
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    invited: Mapped[bool] = mapped_column(Boolean, default=False)  # an invitation email was queued

    shared_view: Mapped[SharedView] = relationship(back_populates="recipients")


class SharedViewOpen(Base):
    """Each time a recipient opened a shared view: what the sharer sees as "opened by ... at ..."."""

    __tablename__ = "shared_view_opens"
    __table_args__ = (Index("ix_shared_view_opens_view_at", "shared_view_id", "opened_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shared_view_id: Mapped[int] = mapped_column(ForeignKey("shared_views.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
