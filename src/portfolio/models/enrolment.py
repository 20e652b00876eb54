"""Enrolment: the supplier's customer list, contacts, and the micro-business half-hourly opt-out."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portfolio.models.base import Base, checked_enum
from portfolio.models.enums import ContactKind, ContactSource
from portfolio.models.sites import Organisation


class Enrolment(Base):
    """An organisation as the customer list describes it, and its micro-business half-hourly opt-out.

    One row per organisation imported from the customer list (others have none: not micro-business, never
    opted out). ``notice_at`` is when the 7-day opt-out notice went out (None: not sent yet); ``opted_out_at``
    set means no half-hourly or hourly data of the organisation's sites is kept or shown (daily totals only).
    """

    __tablename__ = "enrolments"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    micro_business: Mapped[bool] = mapped_column(Boolean, default=False)
    elected_broker: Mapped[str | None] = mapped_column(String(320))  # as the list names it (firm name or email)
    notice_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    opted_out_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    organisation: Mapped[Organisation] = relationship()


class OrganisationContact(Base):
    """A person (or shared mailbox) to contact about an organisation's account; the email may be unknown."""

    __tablename__ = "organisation_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))  # lower-cased; None when the list has none
    kind: Mapped[ContactKind] = mapped_column(checked_enum(ContactKind, "contact_kind"))
    portal_user: Mapped[bool] = mapped_column(Boolean, default=False)  # uses the supplier's billing portal
    source: Mapped[ContactSource] = mapped_column(checked_enum(ContactSource, "contact_source"))
