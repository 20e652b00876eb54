"""SQL for expected-consumption models: training data, temperatures and stored fits."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from portfolio.models import Reading, Site, SiteModel, WeatherKind, WeatherReading

MAX_MODEL_INTERVAL_SECONDS = 3600
"""Models use interval data only: daily or monthly billing reads are not modelled."""


def _utc_index(seconds: Sequence[int] | np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(np.asarray(seconds, dtype="int64"), unit="s", utc=True))


def load_site_energy(session: Session, site_id: int, start_ts: int, end_ts: int) -> pd.Series:
    """Energy per interval [kWh] of a site in [start_ts, end_ts), indexed by UTC interval start; gaps absent."""
    rows = session.execute(
        select(Reading.start_ts, Reading.energy_kwh)
        .where(
            Reading.site_id == site_id,
            Reading.start_ts >= start_ts,
            Reading.start_ts < end_ts,
            Reading.interval_seconds <= MAX_MODEL_INTERVAL_SECONDS,
        )
        .order_by(Reading.start_ts)
    ).all()
    starts = [r[0] for r in rows]
    return pd.Series([r[1] for r in rows], index=_utc_index(starts), name="energy_kwh", dtype="float64")


def load_temperature(session: Session, location_id: int, start_ts: int, end_ts: int) -> pd.Series:
    """Hourly air temperature [°C] in [start_ts, end_ts): observed where known, else the latest forecast."""
    rows = session.execute(
        select(WeatherReading.hour_ts, WeatherReading.kind, WeatherReading.air_temperature_c).where(
            WeatherReading.location_id == location_id,
            WeatherReading.hour_ts >= start_ts,
            WeatherReading.hour_ts < end_ts,
        )
    ).all()
    if not rows:
        return pd.Series(dtype="float64", index=_utc_index([]), name="air_temperature_c")
    frame = pd.DataFrame(rows, columns=["hour_ts", "kind", "temperature"])
    frame["observed"] = frame["kind"].map(lambda k: WeatherKind(k) is WeatherKind.OBSERVED)
    frame = frame.sort_values(["hour_ts", "observed"]).drop_duplicates("hour_ts", keep="last")
    return pd.Series(
        frame["temperature"].to_numpy(dtype="float64"),
        index=_utc_index(frame["hour_ts"].to_numpy()),
        name="air_temperature_c",
    )


def load_model_candidates(session: Session, site_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Sites that could have a model: their zone, weather location, last interval reading and current fit."""
    last_ts = select(func.max(Reading.start_ts)).where(Reading.site_id == Site.id).scalar_subquery()
    statement = (
        select(
            Site.id,
            Site.time_zone,
            Site.weather_location_id,
            last_ts.label("last_ts"),
            SiteModel.status,
            SiteModel.data_end_ts,
        )
        .outerjoin(SiteModel, SiteModel.site_id == Site.id)
        .order_by(Site.id)
    )
    if site_ids is not None:
        statement = statement.where(Site.id.in_(list(site_ids)))
    rows = session.execute(statement).all()
    return pd.DataFrame(
        rows, columns=["site_id", "time_zone", "weather_location_id", "last_ts", "status", "data_end_ts"]
    )


def load_site_models(session: Session, site_ids: Sequence[int]) -> dict[int, SiteModel]:
    return {m.site_id: m for m in session.scalars(select(SiteModel).where(SiteModel.site_id.in_(list(site_ids))))}


def load_site_model_summaries(session: Session, site_ids: Sequence[int]) -> dict[int, SiteModel]:
    """Like :func:`load_site_models` without the fitted parameters (a JSON document per site): for tables."""
    statement = (
        select(SiteModel).options(defer(SiteModel.model, raiseload=True)).where(SiteModel.site_id.in_(list(site_ids)))
    )
    return {m.site_id: m for m in session.scalars(statement)}


def save_site_model(session: Session, record: SiteModel) -> None:
    """Replace the site's stored model (one current fit per site)."""
    existing = session.get(SiteModel, record.site_id)
    if existing is not None:
        session.delete(existing)
        session.flush()
    session.add(record)


def load_readings_matrix(session: Session, site_ids: Sequence[int], start_ts: int, end_ts: int) -> pd.DataFrame:
    """Long frame of interval readings (site_id, start_ts, interval_seconds, energy_kwh) for a few sites and a range."""
    rows = session.execute(
        select(Reading.site_id, Reading.start_ts, Reading.interval_seconds, Reading.energy_kwh).where(
            Reading.site_id.in_(list(site_ids)),
            Reading.start_ts >= start_ts,
            Reading.start_ts < end_ts,
            Reading.interval_seconds <= MAX_MODEL_INTERVAL_SECONDS,
        )
    ).all()
    return pd.DataFrame(rows, columns=["site_id", "start_ts", "interval_seconds", "energy_kwh"])
