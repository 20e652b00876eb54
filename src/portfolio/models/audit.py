"""The audit log: who did what, and whose data it concerned."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from portfolio.models.base import Base


class AuditEntry(Base):
    """Something that happened: who did it (``user_id``), and whose data it concerns (``organisation_id``).

    ``organisation_id`` is what lets a customer read "who has seen my data": a broker's export for a client
    names the client here. Summary entries (one "viewed_by" per outside person, organisation and day) carry a
    ``dedupe_key`` so repeats update ``last_at`` instead of adding rows.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_organisation_at", "organisation_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="SET NULL"))
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    last_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
