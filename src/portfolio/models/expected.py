"""Per-site expected consumption: the fitted model and the predictions stored from it [kWh, kWh²]."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, DateTime, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portfolio.models.base import Base


class SiteModel(Base):
    """A site's fitted expected-consumption model, refitted in batch and only ever used for prediction.

    ``status`` is "ok" (``model`` holds the fitted parameters), "insufficient" (``message`` says how much
    data is needed) or "failed". Quality figures come from an out-of-sample backtest (ASHRAE Guideline 14).
    """

    __tablename__ = "site_models"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    message: Mapped[str | None] = mapped_column(String(500))
    resolution: Mapped[str | None] = mapped_column(String(8))
    model: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    cvrmse_pct: Mapped[float | None] = mapped_column(Float)
    nmbe_pct: Mapped[float | None] = mapped_column(Float)
    training_days: Mapped[int | None] = mapped_column(Integer)
    data_end_ts: Mapped[int | None] = mapped_column(BigInteger)  # last reading start the fit saw [UTC epoch s]
    fitted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class SiteExpected(Base):
    """A site's expected consumption [kWh] and its variance [kWh²] per bucket, predicted from its stored model.

    Written in batch (``portfolio.services.expected_series``: after fitting, the daily run, new temperatures),
    never in a web request. ``resolution`` "hh" / "hour": the site's forecast summed into half-hour / hour
    buckets (UTC starts); "day": per site-local day (UTC start of the local midnight). Within one bucket a site's
    errors are taken as fully correlated; across sites graphs add variances (independent). A site without a
    usable model has no rows.
    """

    __tablename__ = "site_expected"
    __table_args__ = {"sqlite_with_rowid": False}  # clustered on (site, resolution, start): one range scan per site

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    resolution: Mapped[str] = mapped_column(String(8), primary_key=True)
    start_ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    expected_kwh: Mapped[float] = mapped_column(Float)
    variance_kwh2: Mapped[float] = mapped_column(Float)


class SiteExpectedState(Base):
    """Which fit a site's stored predictions come from and the window they cover [UTC epoch s).

    A row exists exactly while the site has rows in ``site_expected``; a model refitted since (``fitted_at``
    differs) makes the next refresh recompute the whole window, otherwise only the recent days and the forecast.
    """

    __tablename__ = "site_expected_state"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    model_fitted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    lo_ts: Mapped[int] = mapped_column(BigInteger)
    hi_ts: Mapped[int] = mapped_column(BigInteger)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class SiteMissingEstimate(Base):
    """One site's missing intervals on one UK local day, and the stored predictions' estimate of them [kWh].

    Written in batch (``portfolio.services.missing_estimates``, after the predictions it reads), one row per day a
    site fell short on, so a portfolio's "estimated for missing intervals" over a year adds up a few rows per site
    instead of reading a year of half-hourly predictions. ``reported_intervals`` is the daily roll-up's count when
    computed: a row whose count no longer matches (readings arrived since) is not used. ``estimated_kwh`` /
    ``estimated_se_kwh``: sums over the day's missing intervals that have a prediction (a site's errors fully
    correlated across them); NULL when none has.
    """

    __tablename__ = "site_missing_estimates"
    __table_args__ = {"sqlite_with_rowid": False}  # clustered on (site, day): one range scan per site

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    local_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    reported_intervals: Mapped[int] = mapped_column(Integer)
    estimated_kwh: Mapped[float | None] = mapped_column(Float)
    estimated_se_kwh: Mapped[float | None] = mapped_column(Float)


class SiteMissingEstimateState(Base):
    """Up to which UK local day a site's missing-interval estimates are stored, and from which predictions.

    Days after ``through_date`` (or a site without a row) are estimated in the request from the stored predictions;
    ``predictions_computed_at`` is the ``site_expected_state.computed_at`` the estimates were made from (NULL: the
    site had no predictions), so estimates older than the predictions are not used; a model refitted since
    (``model_fitted_at`` differs) makes the next refresh recompute every day.
    """

    __tablename__ = "site_missing_estimate_state"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    from_date: Mapped[dt.date] = mapped_column(Date)
    through_date: Mapped[dt.date] = mapped_column(Date)
    model_fitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    predictions_computed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
