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
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from portfolio.analytics.forecast import DataSufficiencyError, FittedTemperatureModel, TemperatureModel
from portfolio.db import transaction
from portfolio.models import ModelStatus, SiteModel
from portfolio.queries import expected as queries
from portfolio.timekeeping import SECONDS_PER_DAY

log = logging.getLogger(__name__)

TRAINING_DAYS = 365
"""Fit on (up to) the last year, so every season and the clock changes are in the training data."""
REFIT_AFTER_DAYS = 7
"""A model is due again once a week of new readings has arrived since its fit, or sooner on its own weekday."""
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


def _optional_int(value: object) -> int | None:
    return None if pd.isna(value) else int(value)  # type: ignore[call-overload]


def refit_slot(site_id: int) -> int:
    """The site's refit weekday, 0-6: its id modulo :data:`REFIT_AFTER_DAYS`."""
    return site_id % REFIT_AFTER_DAYS


def run_slot(now: dt.datetime) -> int:
    """The slot whose sites a daily run on ``now``'s (UTC) day refits early."""
    return now.astimezone(dt.UTC).date().toordinal() % REFIT_AFTER_DAYS


def is_refit_due(
    site_id: int, fitted: bool, last_ts: int | None, data_end_ts: int | None, now: dt.datetime, force: bool = False
) -> bool:
    """Whether a site's model is fitted tonight: never fitted, a week of new readings, or its weekday.

    ``fitted``: a model record exists; ``last_ts``: the site's last reading [s]; ``data_end_ts``: the last reading
    the stored fit saw [s]. Weekly refits are spread over the week: a site is also refitted on its own weekday
    (:func:`refit_slot`) once a day of new readings has arrived. Without that, sites fitted on the same day (a
    supplier's first night, a bulk import) would all fall due on the same night every week: 1,000 half-hourly sites
    take 279 s to fit in one process, the whole of that night's run. With it, a fleet fitted on one day is spread
    over the next seven, and after that each night refits about a seventh of the sites.
    """
    if force or not fitted:
        return True
    if last_ts is None:
        return False
    if data_end_ts is None:
        return True
    new_readings_s = last_ts - data_end_ts
    if new_readings_s >= REFIT_AFTER_DAYS * SECONDS_PER_DAY:
        return True
    return new_readings_s >= SECONDS_PER_DAY and refit_slot(site_id) == run_slot(now)


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

    With ``store_predictions`` the refitted sites' predictions are stored next (``site_expected``), and the
    estimates of their missing intervals made from them, so graphs read them at once; a site whose model became
    unusable loses its stored predictions.
    """
    now = now or dt.datetime.now(dt.UTC)
    report = FitReport()
    with factory() as session:
        candidates = queries.load_model_candidates(session, site_ids)
    for _, row in candidates.iterrows():
        site_id = int(row["site_id"])
        last_ts, data_end_ts = _optional_int(row["last_ts"]), _optional_int(row["data_end_ts"])
        if not is_refit_due(site_id, not pd.isna(row["status"]), last_ts, data_end_ts, now, force):
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
        from portfolio.services.missing_estimates import refresh_missing_estimates

        refresh_site_expected(factory, now, site_ids=changed)
        refresh_missing_estimates(factory, now, site_ids=changed)  # made from the predictions just stored
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
