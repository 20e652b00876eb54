"""Per-site expected consumption: the fitted model and the predictions stored from it [kWh, kWh²]."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Float, ForeignKey, Integer, String
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
