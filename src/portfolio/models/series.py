"""Precomputed consumption and expected consumption of whole scopes (a group, an organisation, everything).

Maintained in batch so a portfolio graph reads a few hundred rows instead of millions of readings.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portfolio.models.base import Base


class PortfolioSeries(Base):
    """Consumption of a whole scope (a group, an organisation or everything) per fuel, location and interval.

    Kept current by ``portfolio.series`` on import and on group change, so a portfolio graph reads a few
    hundred rows instead of grouping millions of readings. ``scope_kind`` is "group", "org" or "all" (id 0);
    ``resolution`` is "hh", "hour" (UTC epoch bucket starts) or "day" (keyed by the local day's start as a
    UTC epoch second). Split by weather location (0 = none) so weighted temperatures come for free; the
    location rows of one bucket add up to the scope's total (a site has one location).
    """

    __tablename__ = "portfolio_series"
    __table_args__ = {"sqlite_with_rowid": False}  # clustered on the primary key: one range scan per graph

    scope_kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    scope_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fuel: Mapped[str] = mapped_column(String(8), primary_key=True)
    resolution: Mapped[str] = mapped_column(String(8), primary_key=True)
    start_ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    weather_location_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0: no weather location
    energy_kwh: Mapped[float] = mapped_column(Float)
    sites_reporting: Mapped[int] = mapped_column(Integer)
    estimated_intervals: Mapped[int] = mapped_column(Integer, default=0)


class ExpectedSeries(Base):
    """Expected consumption of a whole scope per fuel and bucket, summed from its sites' model forecasts.

    Precomputed in batch (``portfolio.expected_series``) for the scopes whose portfolios have more sites
    than a request may predict; keys mean what they mean in :class:`PortfolioSeries`. ``variance_kwh2`` is
    the sum of the sites' variances in the bucket (site errors taken as independent), ``sites`` the number
    of site forecasts summed. A scope's rows are replaced whole, in one transaction.
    """

    __tablename__ = "expected_series"
    __table_args__ = {"sqlite_with_rowid": False}  # clustered on the primary key: one range scan per graph

    scope_kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    scope_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fuel: Mapped[str] = mapped_column(String(8), primary_key=True)
    resolution: Mapped[str] = mapped_column(String(8), primary_key=True)
    start_ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    expected_kwh: Mapped[float] = mapped_column(Float)
    variance_kwh2: Mapped[float] = mapped_column(Float)
    sites: Mapped[int] = mapped_column(Integer)


class ExpectedSeriesRefresh(Base):
    """When a scope's expected series was last computed, over which range and from how many sites.

    A row exists exactly while the scope and fuel are maintained in ``expected_series``; written in the
    same transaction as its rows. ``sites``: the scope's sites of the fuel then; ``sites_modelled``: those
    with a forecast summed in.
    """

    __tablename__ = "expected_series_refreshes"

    scope_kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    scope_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fuel: Mapped[str] = mapped_column(String(8), primary_key=True)
    refreshed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    lo_ts: Mapped[int] = mapped_column(BigInteger)  # the window computed [UTC epoch s): local day starts
    hi_ts: Mapped[int] = mapped_column(BigInteger)
    sites: Mapped[int] = mapped_column(Integer)
    sites_modelled: Mapped[int] = mapped_column(Integer)
