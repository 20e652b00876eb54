"""Expected consumption: fit site models in batch, store them, and predict from the stored fits.

Fitting is a batch job (``portfolio fit-models`` or the daily pipeline), never a web request; pages and
trackers only call :func:`predict_expected`, which rebuilds a fitted model from its stored parameters.

The portfolio summary (metered total, model estimate for missing intervals, expected next 7 days) keeps the
three figures apart (never one blended number), per fuel, with the error assumption behind each range.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from portfolio.analytics.coverage import compute_day_lengths_seconds, compute_day_spans
from portfolio.analytics.expected import compute_expected_total
from portfolio.analytics.forecast import DataSufficiencyError, FittedTemperatureModel, TemperatureModel
from portfolio.analytics.portfolio_forecast import compute_missing_interval_estimate
from portfolio.db import transaction
from portfolio.models import ModelStatus, SiteModel
from portfolio.queries import expected as queries
from portfolio.queries.graphs import load_reading_starts_in, load_site_day_intervals
from portfolio.timekeeping import SECONDS_PER_DAY, UK_TIME_ZONE, local_date_span, local_midnight_ts

log = logging.getLogger(__name__)

TRAINING_DAYS = 365
"""Fit on (up to) the last year, so every season and the clock changes are in the training data."""
REFIT_AFTER_DAYS = 7
"""A model is due again once a week of new readings has arrived since its fit."""
TEMPERATURE_HISTORY_S = 8 * SECONDS_PER_DAY
"""Temperatures loaded before a fit or prediction window: the heating-season gate looks back a week."""


@dataclass
class FitReport:
    fitted: list[int] = field(default_factory=list)
    insufficient: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    skipped: list[int] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "fitted": len(self.fitted),
            "insufficient": len(self.insufficient),
            "failed": len(self.failed),
            "skipped": len(self.skipped),
            "errors": [{"site_id": site, "error": error} for site, error in sorted(self.failed.items())],
        }


def _is_due(row: pd.Series, force: bool) -> bool:
    if force or pd.isna(row["status"]):
        return True
    if pd.isna(row["last_ts"]):
        return False
    if pd.isna(row["data_end_ts"]):
        return True
    return int(row["last_ts"]) >= int(row["data_end_ts"]) + REFIT_AFTER_DAYS * SECONDS_PER_DAY


def fit_site(
    energy_kwh: pd.Series, temperature_c: pd.Series, time_zone: str
) -> tuple[FittedTemperatureModel, float | None, float | None]:
    """Fit the stored model on everything; its fit-time hold-out (the last quarter) gives honest quality.

    Returns the model and its out-of-sample CV(RMSE) and NMBE [%] at the model's own resolution (None
    when the data support a model but not a hold-out).
    """
    fitted = TemperatureModel(time_zone=time_zone).fit(energy_kwh, temperature_c)
    return fitted, fitted.calibration.holdout_cvrmse_pct, fitted.calibration.holdout_nmbe_pct


def _fit_one(session: Session, row: pd.Series, now: dt.datetime) -> SiteModel:
    site_id = int(row["site_id"])
    record = SiteModel(site_id=site_id, fitted_at=now)
    if pd.isna(row["last_ts"]):
        record.status, record.message = ModelStatus.INSUFFICIENT, "no readings yet"
        return record
    end_ts = int(row["last_ts"]) + 1
    start_ts = end_ts - TRAINING_DAYS * SECONDS_PER_DAY
    record.data_end_ts = int(row["last_ts"])
    if pd.isna(row["weather_location_id"]):
        record.status, record.message = (
            ModelStatus.INSUFFICIENT,
            "the site has no weather location, so no temperature to model on",
        )
        return record
    energy = queries.load_site_energy(session, site_id, start_ts, end_ts)
    temperature = queries.load_temperature(
        session, int(row["weather_location_id"]), start_ts - TEMPERATURE_HISTORY_S, end_ts + SECONDS_PER_DAY
    )
    try:
        fitted, cvrmse, nmbe = fit_site(energy, temperature, str(row["time_zone"]))
    except DataSufficiencyError as error:
        record.status, record.message = ModelStatus.INSUFFICIENT, str(error)
        record.training_days = int(error.available_days)
        return record
    record.status = ModelStatus.OK
    record.resolution = fitted.resolution
    record.model = fitted.to_dict()
    record.cvrmse_pct, record.nmbe_pct = cvrmse, nmbe
    record.training_days = int(fitted.sufficiency.available_days)
    return record


def fit_due_models(
    factory: sessionmaker[Session],
    *,
    now: dt.datetime | None = None,
    site_ids: Sequence[int] | None = None,
    force: bool = False,
    store_predictions: bool = True,
) -> FitReport:
    """Refit the models that are due; each site in its own transaction, so one failure stops nothing else.

    With ``store_predictions`` the refitted sites' predictions are stored next (``site_expected``), so graphs
    read them at once; a site whose model became unusable loses its stored predictions.
    """
    now = now or dt.datetime.now(dt.UTC)
    report = FitReport()
    with factory() as session:
        candidates = queries.load_model_candidates(session, site_ids)
    for _, row in candidates.iterrows():
        site_id = int(row["site_id"])
        if not _is_due(row, force):
            report.skipped.append(site_id)
            continue
        try:
            with transaction(factory) as session:
                record = _fit_one(session, row, now)
                queries.save_site_model(session, record)
        except Exception as error:  # noqa: BLE001 - reported per site, the batch goes on
            log.exception("fitting the model of site %s failed", site_id)
            report.failed[site_id] = f"{type(error).__name__}: {error}"
            with transaction(factory) as session:
                queries.save_site_model(
                    session,
                    SiteModel(site_id=site_id, fitted_at=now, status=ModelStatus.FAILED, message=str(error)[:500]),
                )
            continue
        (report.fitted if record.status == ModelStatus.OK else report.insufficient).append(site_id)
    changed = report.fitted + report.insufficient + list(report.failed)
    if store_predictions and changed:
        from portfolio.services.expected_series import refresh_site_expected  # it predicts with this module

        refresh_site_expected(factory, now, site_ids=changed)
    return report


def load_fitted_models(
    session: Session, site_ids: Sequence[int], errors: dict[int, str] | None = None
) -> dict[int, FittedTemperatureModel]:
    """The stored models of ``site_ids`` that are "ok"; with ``errors``, one that cannot be rebuilt goes there."""
    models = {}
    for site_id, record in queries.load_site_models(session, site_ids).items():
        if record.status != ModelStatus.OK or not record.model:
            continue
        try:
            models[site_id] = FittedTemperatureModel.from_dict(record.model)
        except Exception as error:
            if errors is None:
                raise
            errors[site_id] = f"{type(error).__name__}: {error}"
    return models


def predict_expected(
    session: Session,
    site_ids: Sequence[int],
    start_ts: int,
    end_ts: int,
    *,
    per_local_day: bool = False,
    level: float = 0.9,
    errors: dict[int, str] | None = None,
) -> dict[int, pd.DataFrame]:
    """Expected energy per site over [start_ts, end_ts) from stored models and observed/forecast temperature.

    Sites without a usable model are absent from the result (callers say so; they never show zeros).
    Intervals follow each model's resolution (local days for a daily model). A site whose model cannot be
    rebuilt or predicted raises, unless ``errors`` is given (batches): then it is recorded there and left out.
    """
    models = load_fitted_models(session, site_ids, errors)
    candidates = queries.load_model_candidates(session, list(models)).set_index("site_id")
    temperatures: dict[int, pd.Series] = {}  # sites share a few weather locations: load each once
    result: dict[int, pd.DataFrame] = {}
    for site_id, model in models.items():
        location: Any = candidates.at[site_id, "weather_location_id"]  # a DataFrame cell: an id or NaN
        if pd.isna(location):
            continue
        if int(location) not in temperatures:
            temperatures[int(location)] = queries.load_temperature(
                session, int(location), start_ts - TEMPERATURE_HISTORY_S, end_ts + SECONDS_PER_DAY
            )
        index = _prediction_index(model, start_ts, end_ts)
        try:
            result[site_id] = model.predict(
                temperatures[int(location)], index, level=level, per_local_day=per_local_day
            ).dropna(subset=["expected_kwh"])
        except Exception as error:
            if errors is None:
                raise
            errors[site_id] = f"{type(error).__name__}: {error}"
    return result


def _prediction_index(model: FittedTemperatureModel, start_ts: int, end_ts: int) -> pd.DatetimeIndex:
    start = pd.Timestamp(start_ts, unit="s", tz="UTC")
    end = pd.Timestamp(end_ts, unit="s", tz="UTC")
    if model.resolution == "daily":
        local = pd.date_range(
            start.tz_convert(model.time_zone).normalize(), end.tz_convert(model.time_zone), freq="D", inclusive="left"
        )
        return local.tz_convert("UTC")
    return pd.date_range(start, end, freq=pd.Timedelta(seconds=model.interval_seconds), inclusive="left")


STORED_RESOLUTION = {1800: "hh", 3600: "hour"}
"""The stored predictions on a site's own interval grid (``site_expected``)."""


def load_stored_forecasts(
    session: Session, site_ids: Sequence[int], start_ts: int, end_ts: int, resolution: str
) -> dict[int, pd.DataFrame]:
    """Stored predictions per site as ``predict`` frames (UTC index; expected_kwh, standard_error_kwh [kWh]).

    Read, never predicted: a site without stored predictions (no usable model) is absent.
    """
    if resolution not in ("hh", "hour", "day"):
        return {}
    rows = queries.load_site_expected(session, site_ids, start_ts, end_ts, resolution)
    return {
        int(cast(int, site_id)): pd.DataFrame(
            {
                "expected_kwh": part["expected_kwh"].to_numpy(),
                "standard_error_kwh": np.sqrt(part["variance_kwh2"].to_numpy()),
            },
            index=pd.DatetimeIndex(part["start"]),
        )
        for site_id, part in rows.groupby("site_id", sort=True)
    }


FORECAST_DAYS = 7
MISSING_RANGE_NOTE = "site errors independent; errors of one site fully correlated across its missing intervals"
EXPECTED_RANGE_NOTE = "site errors independent; each site's daily errors fully correlated across the 7 days"


@dataclass(frozen=True)
class FuelSummary:
    """One fuel's figures [kWh]; None where nothing could be said."""

    fuel: str
    sites: int
    metered_kwh: float | None
    sites_metered: int
    estimated_missing_kwh: float | None
    estimated_missing_range_kwh: tuple[float, float] | None
    sites_estimated: int  # sites with missing intervals that a model filled in the estimate
    sites_unestimated: int  # sites with missing intervals and no model: not in any estimate
    expected_next_kwh: float | None
    expected_next_range_kwh: tuple[float, float] | None
    sites_forecast: int
    missing_range_note: str = MISSING_RANGE_NOTE
    expected_range_note: str = EXPECTED_RANGE_NOTE


def _grid(start_ts: int, end_ts: int, seconds: int) -> pd.DatetimeIndex:
    return pd.date_range(
        pd.Timestamp(start_ts, unit="s", tz="UTC"),
        pd.Timestamp(end_ts, unit="s", tz="UTC"),
        freq=pd.Timedelta(seconds=seconds),
        inclusive="left",
    )


@dataclass(frozen=True)
class _Gaps:
    """The days a site fell short on, and what it did report then (only those days are ever read per interval)."""

    metered_kwh: float | None  # over the whole range, from the daily roll-up [kWh]
    metered_sites: int
    seconds: dict[int, int]  # each short site's grid [s]: its meter's interval, or a day if it opted out
    spans: dict[int, list[tuple[int, int]]]  # each short site's short local days as [UTC s) ranges
    present: pd.DataFrame  # site_id, start_ts of what the short sites reported on those days


def _short_days(session: Session, sites: pd.DataFrame, start_ts: int, end_ts: int, time_zone: str) -> _Gaps:
    """Metered energy from the daily roll-up, and the local days on which each site missed intervals.

    Sites that opted out of half-hourly data (micro-businesses) are counted per local day (their interval
    readings are gone or must not be used): a day without its daily total is their gap, estimated from the
    stored daily predictions.
    """
    ids = [int(s) for s in sites["site_id"]]
    daily_only = queries.load_daily_only_site_ids(session, ids)
    first, last = local_date_span(start_ts, end_ts, time_zone)
    days = queries.load_daily_matrix(session, ids, first, last)
    metered = float(days["energy_kwh"].sum()) if len(days) else None
    metered_sites = int(days.loc[days["energy_kwh"].notna(), "site_id"].nunique())
    counts = load_site_day_intervals(session, ids, first, last)
    lengths = compute_day_lengths_seconds(first, last, time_zone)
    seconds = {
        int(s): SECONDS_PER_DAY if int(s) in daily_only else int(i)
        for s, i in zip(sites["site_id"], sites["interval_seconds"], strict=True)
    }
    spans: dict[int, list[tuple[int, int]]] = {}
    for site_id, step in seconds.items():
        own = counts[counts["site_id"] == site_id].set_index("local_date")["intervals"]
        got = own.reindex(lengths.index).fillna(0).to_numpy()
        wanted = np.ones(len(lengths)) if step == SECONDS_PER_DAY else (lengths // step).to_numpy()
        short = [day for day, g, w in zip(lengths.index, got, wanted, strict=True) if g < w]
        if short:
            spans[site_id] = compute_day_spans(short, start_ts, end_ts, time_zone)
    interval_spans = {s: v for s, v in spans.items() if seconds[s] != SECONDS_PER_DAY}
    present = load_reading_starts_in(session, interval_spans, queries.MAX_MODEL_INTERVAL_SECONDS)
    day_rows = days[days["site_id"].isin([s for s in spans if seconds[s] == SECONDS_PER_DAY])]
    if len(day_rows):
        midnights = [local_midnight_ts(d, time_zone) for d in day_rows["local_date"]]
        present = pd.concat(
            [present, pd.DataFrame({"site_id": day_rows["site_id"].to_numpy(dtype="int64"), "start_ts": midnights})],
            ignore_index=True,
        )
    return _Gaps(metered, metered_sites, {s: seconds[s] for s in spans}, spans, present)


def _span_grid(spans: list[tuple[int, int]], step: int, time_zone: str) -> np.ndarray:
    """The interval starts [UTC s] in the spans: every ``step`` seconds, or each local midnight for days."""
    if step != SECONDS_PER_DAY:
        return np.concatenate([np.arange(lo, hi, step, dtype=np.int64) for lo, hi in spans])
    starts: list[int] = []
    for lo, hi in spans:
        first, last = local_date_span(lo, hi, time_zone)
        starts.extend(
            local_midnight_ts(first + dt.timedelta(days=n), time_zone) for n in range((last - first).days + 1)
        )
    return np.asarray(starts, dtype=np.int64)


def _missing_estimate(
    session: Session, sites: pd.DataFrame, start_ts: int, end_ts: int, time_zone: str = UK_TIME_ZONE
) -> tuple[float | None, tuple[float, float] | None, int, int, float | None, int]:
    """Metered and estimated-missing totals over the range, grouped by interval length so grids line up.

    Only the days a site fell short on are read per interval (its reading times and its stored predictions):
    a year of a healthy portfolio costs one look at the daily roll-up.
    """
    gaps = _short_days(session, sites, start_ts, end_ts, time_zone)
    estimated_total, low, high, estimated_sites, unestimated_sites = 0.0, 0.0, 0.0, 0, 0
    any_estimate = False
    for step in sorted(set(gaps.seconds.values())):
        members = [s for s, v in gaps.seconds.items() if v == step]
        own_grids = {s: _span_grid(gaps.spans[s], step, time_zone) for s in members}
        grid_ts = np.unique(np.concatenate(list(own_grids.values())))
        grid = pd.DatetimeIndex(pd.to_datetime(grid_ts, unit="s", utc=True))
        # 1.0 = reported (or outside the site's short days), NaN = missing: presence is all the estimate needs
        reported = gaps.present[gaps.present["site_id"].isin(members)]
        columns = {}
        for site_id in members:
            seen = reported.loc[reported["site_id"] == site_id, "start_ts"].to_numpy(dtype=np.int64)
            gap = np.isin(grid_ts, own_grids[site_id]) & ~np.isin(grid_ts, seen)
            columns[site_id] = np.where(gap, np.nan, 1.0)
        matrix = pd.DataFrame(columns, index=grid)
        resolution = "day" if step == SECONDS_PER_DAY else STORED_RESOLUTION.get(step, "")
        forecasts = _stored_forecasts_in(session, {s: gaps.spans[s] for s in members}, resolution)
        site_forecasts: dict[Any, pd.DataFrame] = {s: forecasts[s] for s in members if s in forecasts}
        estimate = compute_missing_interval_estimate(matrix, site_forecasts)
        per_site = estimate.estimated_kwh
        missing_sites = matrix.columns[matrix.isna().any()]
        estimated_here = [s for s in missing_sites if per_site[s].notna().any()] if len(per_site.columns) else []
        estimated_sites += len(estimated_here)
        unestimated_sites += len(missing_sites) - len(estimated_here)
        if estimated_here:
            any_estimate = True
            estimated_total += float(per_site[estimated_here].sum().sum())
            # per site: errors across its missing intervals fully correlated (sum of se); sites independent
            site_se = {
                s: float(forecasts[int(s)]["standard_error_kwh"].reindex(grid)[matrix[s].isna()].sum())
                for s in estimated_here
            }
            spread = 1.6448536 * float(np.sqrt(sum(v * v for v in site_se.values())))
            low -= spread
            high += spread
    if not any_estimate:
        return gaps.metered_kwh, None, estimated_sites, unestimated_sites, None, gaps.metered_sites
    return (
        gaps.metered_kwh,
        (estimated_total + low, estimated_total + high),
        estimated_sites,
        unestimated_sites,
        estimated_total,
        gaps.metered_sites,
    )


def _stored_forecasts_in(
    session: Session, spans: dict[int, list[tuple[int, int]]], resolution: str
) -> dict[int, pd.DataFrame]:
    """As :func:`load_stored_forecasts`, within each site's spans only."""
    if resolution not in ("hh", "hour", "day") or not spans:
        return {}
    rows = queries.load_site_expected_in(session, spans, resolution)
    return {
        int(cast(int, site_id)): pd.DataFrame(
            {
                "expected_kwh": part["expected_kwh"].to_numpy(),
                "standard_error_kwh": np.sqrt(part["variance_kwh2"].to_numpy()),
            },
            index=pd.DatetimeIndex(part["start"]),
        )
        for site_id, part in rows.groupby("site_id", sort=True)
    }


def _expected_next(
    session: Session, site_ids: Sequence[int], from_ts: int, time_zone: str
) -> tuple[float | None, tuple[float, float] | None, int]:
    first = dt.datetime.fromtimestamp(from_ts, ZoneInfo(time_zone)).date()
    end_ts = local_midnight_ts(first + dt.timedelta(days=FORECAST_DAYS), time_zone)  # 7 local days, clock changes too
    daily = queries.load_site_expected(session, list(site_ids), from_ts, end_ts, "day")
    if daily.empty:
        return None, None, 0
    # per day sites independent, across the days each site's errors fully correlated (stated in the summary)
    sums = daily.groupby("start", sort=True).agg(
        expected_kwh=("expected_kwh", "sum"), variance_kwh2=("variance_kwh2", "sum")
    )
    summed = compute_expected_total(sums.reset_index())
    if summed is None:
        return None, None, 0
    return summed[0], summed[1], int(daily["site_id"].nunique())


def compute_portfolio_summary(
    session: Session,
    sites: pd.DataFrame,
    start_ts: int,
    end_ts: int,
    today_start_ts: int,
    time_zone: str = UK_TIME_ZONE,
) -> list[FuelSummary]:
    """Figures per fuel for ``sites`` (site_id, fuel, interval_seconds) over [start_ts, end_ts) and the next week.

    Only sites with stored predictions (a usable model) contribute estimates; the counts say how many did and did
    not. Everything is read from storage: no model predicts here.
    """
    summaries = []
    for fuel, members in sites.groupby("fuel", sort=True):
        metered, missing_range, estimated_sites, unestimated_sites, missing_kwh, metered_sites = _missing_estimate(
            session, members, start_ts, end_ts, time_zone
        )
        expected, expected_range, forecast_sites = _expected_next(
            session, members["site_id"].tolist(), today_start_ts, time_zone
        )
        summaries.append(
            FuelSummary(
                fuel=str(fuel),
                sites=len(members),
                metered_kwh=metered,
                sites_metered=metered_sites,
                estimated_missing_kwh=missing_kwh,
                estimated_missing_range_kwh=missing_range,
                sites_estimated=estimated_sites,
                sites_unestimated=unestimated_sites,
                expected_next_kwh=expected,
                expected_next_range_kwh=expected_range,
                sites_forecast=forecast_sites,
            )
        )
    return summaries
