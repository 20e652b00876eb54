"""Portfolio groups: a user's named selections of sites, graphed and tracked as one scope."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, DateTime, ForeignKey, String, Table, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portfolio.models.accounts import User
from portfolio.models.base import Base
from portfolio.models.sites import Site

portfolio_group_sites = Table(
    "portfolio_group_sites",
    Base.metadata,
    Column("group_id", ForeignKey("portfolio_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
)


class PortfolioGroup(Base):
    __tablename__ = "portfolio_groups"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    owner: Mapped[User] = relationship()
    sites: Mapped[list[Site]] = relationship(secondary=portfolio_group_sites)
