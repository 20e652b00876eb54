"""Backtest of the expected-consumption model on real meters, beside two naive baselines.

Data (see benchmarks/data/README.md): 50 Cambridge buildings, hourly electricity and gas 2019, with
Bedford hourly air temperature; and 31 London (LCL) households, half-hourly electricity 2013, with
London hourly temperature. The two are reported separately; the contract keys are the commercial ones.

Masking (the archive fills gaps with 0): an electricity hour at exactly 0 is missing; a gas hour is
missing when the same building's electricity is 0 (missing) then, otherwise a 0 is real (boilers off).
A gas meter at 0 for more than half the year is still scored but flagged ("mostly_zero_gas").
Timestamps are taken as UTC as documented upstream (the electricity ramps come an hour earlier by the
file's clock in summer than in winter, which is what UTC stamps of local-clock occupancy look like).

Split: train on January-August (local), predict September-December from the observed temperatures.
The 90 % intervals are the model's own, calibrated at fit time on the last quarter of the training data.
As a ceiling, the same hourly model is also fitted in sample on the test period (it has seen the
answers): no model of this form can score much better out of sample than that.
Scores are out of sample, ASHRAE Guideline 14 with p = 0, at daily resolution (complete local days)
and at the meter's own resolution (hourly; half-hourly for LCL), on the points every method can score.

Baselines, each a forecast of the test period:
- ``last_week``: the actual value 7 days earlier (for the test period that uses test-period actuals: a
  rolling one-week-ahead naive forecast, stronger than anything that only knows the training data).
- ``last_training_week``: the most recent training value of the same local time of week (the naive
  forecast made at the split, repeated for four months) -- reported as an extra.
- ``weekday_mean``: the training mean of the same local weekday (and hour, for sub-daily scores).

Run: ``python benchmarks/forecast_accuracy.py`` prints a markdown table and the JSON of ``run()``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from portfolio.analytics.degree_days import compute_local_daily_totals
from portfolio.analytics.forecast import DataSufficiencyError, TemperatureModel
from portfolio.analytics.model_quality import compute_cvrmse_pct, compute_nmbe_pct

DATA = Path(__file__).resolve().parent / "data"
TIME_ZONE = "Europe/London"
LEVEL = 0.9
# England and Wales bank holidays (gov.uk), treated as Sundays by the model
BANK_HOLIDAYS = {
    2013: (
        "2013-01-01",
        "2013-03-29",
        "2013-04-01",
        "2013-05-06",
        "2013-05-27",
        "2013-08-26",
        "2013-12-25",
        "2013-12-26",
    ),
    2019: (
        "2019-01-01",
        "2019-04-19",
        "2019-04-22",
        "2019-05-06",
        "2019-05-27",
        "2019-08-26",
        "2019-12-25",
        "2019-12-26",
    ),
}


def _holidays(year: int) -> tuple[dt.date, ...]:
    return tuple(dt.date.fromisoformat(day) for day in BANK_HOLIDAYS[year])


def _utc_csv(path: Path, time_column: str, value_column: int | str) -> pd.Series:
    frame = pd.read_csv(path)
    index = pd.DatetimeIndex(pd.to_datetime(frame[time_column])).tz_localize("UTC")
    column = frame.columns[value_column] if isinstance(value_column, int) else value_column
    return pd.Series(frame[column].to_numpy(dtype=float), index=index)


def load_commercial() -> tuple[dict[str, pd.Series], dict[str, bool], pd.Series]:
    """Masked hourly meters keyed ``bN/fuel``, the mostly-zero-gas flags, Bedford temperature [°C]."""
    base = DATA / "commercial"
    temperature = _utc_csv(base / "weather_bedford_2019.csv.gz", "datetime", 1)
    meters, flags = {}, {}
    for path in sorted((base / "electricity").glob("b*.csv.gz"), key=lambda p: int(p.name[1:].split(".")[0])):
        building = path.name.split(".")[0]
        electricity = _utc_csv(path, "datetime", 1)
        gas = _utc_csv(base / "gas" / path.name, "datetime", 1)
        missing = electricity == 0
        meters[f"{building}/electricity"] = electricity.mask(missing)
        meters[f"{building}/gas"] = gas.mask(missing.reindex(gas.index, fill_value=True))
        flags[f"{building}/gas"] = bool((gas == 0).mean() > 0.5)
    return meters, flags, temperature


def load_lcl() -> tuple[dict[str, pd.Series], pd.Series]:
    """Half-hourly household meters keyed by LCLid [kWh] and London temperature [°C]."""
    frame = pd.read_csv(DATA / "lcl" / "lcl_halfhourly_2013_31households.csv.gz")
    frame["energy"] = pd.to_numeric(frame["energy(kWh/hh)"].astype(str).str.strip(), errors="coerce")
    frame["time"] = pd.to_datetime(frame["tstp"]).dt.tz_localize("UTC")
    meters = {
        meter: group.set_index("time")["energy"].sort_index().loc[lambda s: ~s.index.duplicated()]
        for meter, group in frame.groupby("LCLid")
    }
    temperature = _utc_csv(DATA / "lcl" / "uk-tempC-sample-1_2.csv.gz", "dt", "tempC")
    return meters, temperature


def _local_split(year: int) -> pd.Timestamp:
    return pd.Timestamp(f"{year}-09-01", tz=TIME_ZONE).tz_convert("UTC")


def _baselines(
    train: pd.Series, test_index: pd.DatetimeIndex, history: pd.Series, per_day: bool
) -> dict[str, pd.Series]:
    """Naive forecasts for ``test_index``: value 7 days earlier, last training week, weekday mean."""
    local_test = test_index.tz_convert(TIME_ZONE)
    local_train = train.index.tz_convert(TIME_ZONE)
    earlier = (local_test - pd.DateOffset(days=7)).tz_convert("UTC") if per_day else test_index - pd.Timedelta(days=7)
    last_week = pd.Series(history.reindex(earlier).to_numpy(), index=test_index)
    if per_day:
        train_key, test_key = local_train.day_of_week, local_test.day_of_week
    else:
        train_key = local_train.day_of_week * 100 + local_train.hour * 2 + local_train.minute // 30
        test_key = local_test.day_of_week * 100 + local_test.hour * 2 + local_test.minute // 30
    grouped = pd.Series(train.to_numpy(), index=train_key).groupby(level=0)
    weekday_mean = pd.Series(grouped.mean().reindex(test_key).to_numpy(), index=test_index)
    last_training = pd.Series(grouped.last().reindex(test_key).to_numpy(), index=test_index)
    return {"last_week": last_week, "last_training_week": last_training, "weekday_mean": weekday_mean}


def _scores(actual: pd.Series, forecasts: dict[str, pd.Series], prefix: str) -> dict[str, float]:
    frame = pd.DataFrame({"actual": actual, **forecasts}).dropna()
    out: dict[str, float] = {f"{prefix}_n": len(frame)}
    for name in forecasts:
        out[f"{prefix}_{name}_cvrmse"] = compute_cvrmse_pct(frame["actual"], frame[name])
        out[f"{prefix}_{name}_nmbe"] = compute_nmbe_pct(frame["actual"], frame[name])
    return out


def score_meter(readings: pd.Series, temperature: pd.Series, year: int, model: TemperatureModel) -> dict[str, float]:
    """Out-of-sample scores of the model and the baselines for one meter (train Jan-Aug, test Sep-Dec)."""
    readings = readings.dropna()
    split = _local_split(year)
    train, test = readings[readings.index < split], readings[readings.index >= split]
    interval_seconds = int(pd.Series(readings.index).diff().mode().iloc[0].total_seconds())
    result: dict[str, float] = {}
    # daily resolution: the daily model on complete local days, and the interval model summed per day
    daily = compute_local_daily_totals(readings, TIME_ZONE, interval_seconds)
    daily_train, daily_test = daily[daily.index < split], daily[daily.index >= split]
    forecasts: dict[str, pd.Series] = {}
    try:
        daily_model = TemperatureModel(resolution="daily", time_zone=TIME_ZONE, holidays=model.holidays).fit(
            daily_train, temperature
        )
        daily_prediction = daily_model.predict(temperature, daily_test.index, level=LEVEL)
        forecasts["model"] = daily_prediction["expected_kwh"]
        result["daily_model_coverage"] = float(
            ((daily_test >= daily_prediction["lower_kwh"]) & (daily_test <= daily_prediction["upper_kwh"]))[
                daily_prediction["expected_kwh"].notna()
            ].mean()
        )
        result["daily_candidate"] = daily_model.candidate
    except DataSufficiencyError:
        result["daily_candidate"] = "insufficient"
    try:
        fitted = model.fit(train, temperature)
        interval_prediction = fitted.predict(temperature, test.index, level=LEVEL)
        summed = fitted.predict(temperature, test.index, level=LEVEL, per_local_day=True).reindex(daily_test.index)
        forecasts["interval_model_summed"] = summed["expected_kwh"]
        result["daily_summed_coverage"] = float(
            ((daily_test >= summed["lower_kwh"]) & (daily_test <= summed["upper_kwh"]))[
                summed["expected_kwh"].notna()
            ].mean()
        )
        result["interval_candidate"] = fitted.candidate
        result["interval_coverage"] = float(
            ((test >= interval_prediction["lower_kwh"]) & (test <= interval_prediction["upper_kwh"]))[
                interval_prediction["expected_kwh"].notna()
            ].mean()
        )
    except DataSufficiencyError:
        interval_prediction = None
        result["interval_candidate"] = "insufficient"
    result.update(_scores(daily_test, {**forecasts, **_baselines(daily_train, daily_test.index, daily, True)}, "daily"))
    try:  # the ceiling: the same model fitted in sample on the test period itself (it has seen the answers)
        ceiling = dataclasses.replace(model, calibration_holdout=0.0).fit(test, temperature)
        result["interval_in_sample_test_cvrmse"] = ceiling.statistics.cvrmse_pct
    except DataSufficiencyError:
        pass
    interval_forecasts = {} if interval_prediction is None else {"model": interval_prediction["expected_kwh"]}
    result.update(_scores(test, {**interval_forecasts, **_baselines(train, test.index, readings, False)}, "interval"))
    return result


def _median(frame: pd.DataFrame, column: str) -> float:
    return float(frame[column].median()) if column in frame and frame[column].notna().any() else float("nan")


def _share(frame: pd.DataFrame, condition: pd.Series) -> float:
    return float(condition.mean()) if len(frame) else float("nan")


def _summary(frame: pd.DataFrame) -> dict[str, float]:
    out = {
        "meters": len(frame),
        "daily_cvrmse_median": _median(frame, "daily_model_cvrmse"),
        "daily_nmbe_median": _median(frame, "daily_model_nmbe"),
        "daily_from_interval_cvrmse_median": _median(frame, "daily_interval_model_summed_cvrmse"),
        "baseline_last_week_cvrmse_median": _median(frame, "daily_last_week_cvrmse"),
        "baseline_weekday_mean_cvrmse_median": _median(frame, "daily_weekday_mean_cvrmse"),
        "baseline_last_training_week_cvrmse_median": _median(frame, "daily_last_training_week_cvrmse"),
        "hourly_cvrmse_median": _median(frame, "interval_model_cvrmse"),
        "hourly_nmbe_median": _median(frame, "interval_model_nmbe"),
        "hourly_baseline_last_week_cvrmse_median": _median(frame, "interval_last_week_cvrmse"),
        "hourly_baseline_weekday_mean_cvrmse_median": _median(frame, "interval_weekday_mean_cvrmse"),
        "daily_interval_coverage_90_median": _median(frame, "daily_model_coverage"),
        "hourly_interval_coverage_90_median": _median(frame, "interval_coverage"),
        "daily_summed_interval_coverage_90_median": _median(frame, "daily_summed_coverage"),
    }
    if "interval_model_cvrmse" in frame:
        out["share_meeting_ashrae_hourly"] = _share(
            frame, (frame["interval_model_cvrmse"] <= 30) & (frame["interval_model_nmbe"].abs() <= 10)
        )
        out["share_daily_cvrmse_le_25"] = _share(frame, frame["daily_model_cvrmse"] <= 25)
    if "interval_in_sample_test_cvrmse" in frame:
        out["share_in_sample_test_fit_cvrmse_le_30"] = _share(frame, frame["interval_in_sample_test_cvrmse"] <= 30)
    return out


def _fit_one(args: tuple[np.ndarray, np.ndarray, pd.Series, tuple[dt.date, ...]]) -> str:
    epochs, values, temperature, holidays = args
    readings = pd.Series(values, index=pd.DatetimeIndex(pd.to_datetime(epochs, unit="s", utc=True)))
    try:
        return TemperatureModel(time_zone=TIME_ZONE, holidays=holidays).fit(readings, temperature).candidate
    except DataSufficiencyError:
        return "insufficient"


def time_fitting(meters: dict[str, pd.Series], temperature: pd.Series, n_sites: int = 1000, workers: int = 2) -> float:
    """Seconds to fit ``n_sites`` synthetic one-year hourly sites from the real meters on ``workers`` processes.

    Site i is meter i mod 100, scaled by a log-normal factor, shifted by whole weeks (keeping its
    weekly pattern) and given 5 % multiplicative noise; its gaps stay gaps.
    """
    rng = np.random.default_rng(2019)
    base = [series for series in meters.values() if series.notna().sum() > 24 * 60]
    jobs = []
    for site in range(n_sites):
        series = base[site % len(base)]
        values = np.roll(series.to_numpy(), 168 * int(rng.integers(0, 8)))
        values = values * rng.lognormal(0, 0.5) * (1 + 0.05 * rng.standard_normal(len(values)))
        jobs.append((series.index.as_unit("s").asi8, values, temperature, _holidays(2019)))
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        candidates = list(pool.map(_fit_one, jobs, chunksize=10))
    elapsed = time.perf_counter() - start
    assert len(candidates) == n_sites
    return elapsed


def _score_all(
    meters: dict[str, pd.Series], temperature: pd.Series, year: int, model: TemperatureModel
) -> pd.DataFrame:
    rows = {name: score_meter(series, temperature, year, model) for name, series in meters.items()}
    return pd.DataFrame.from_dict(rows, orient="index")


MERGE_AT_TOP_LEVEL = True  # its keys are contract keys of benchmarks/results.json


def run(n_sites: int = 1000) -> dict[str, dict[str, float]]:
    """Backtest the commercial and LCL meters and time 1,000 fits; figures in percent (seconds for time)."""
    meters, gas_flags, temperature = load_commercial()
    model = TemperatureModel(time_zone=TIME_ZONE, holidays=_holidays(2019))
    commercial = _score_all(meters, temperature, 2019, model)
    commercial["fuel"] = [name.split("/")[1] for name in commercial.index]
    commercial["mostly_zero_gas"] = [gas_flags.get(name, False) for name in commercial.index]
    lcl_meters, lcl_temperature = load_lcl()
    lcl = _score_all(lcl_meters, lcl_temperature, 2013, TemperatureModel(time_zone=TIME_ZONE, holidays=_holidays(2013)))
    forecast: dict[str, float] = {**_summary(commercial)}
    forecast["fit_seconds_1000_sites"] = (
        time_fitting(meters, temperature, n_sites=n_sites, workers=min(2, os.cpu_count() or 1)) * 1000 / n_sites
    )
    for fuel in ("electricity", "gas"):
        forecast.update(
            {f"{fuel}_{key}": value for key, value in _summary(commercial[commercial["fuel"] == fuel]).items()}
        )
    forecast["mostly_zero_gas_meters"] = int(commercial["mostly_zero_gas"].sum())
    forecast.update({f"lcl_halfhourly_{key}": value for key, value in _summary(lcl).items()})
    run.tables = {"commercial": commercial, "lcl": lcl}  # type: ignore[attr-defined]
    return {"forecast": forecast}


def _markdown(result: dict[str, dict[str, float]], tables: dict[str, pd.DataFrame]) -> str:
    figures = result["forecast"]
    lines = [
        "## Expected consumption: out-of-sample backtest (train Jan-Aug, test Sep-Dec)",
        "",
        "Median over meters; CV(RMSE) and NMBE per ASHRAE Guideline 14 with p = 0 [%].",
        "",
        "| data | meters | daily CV(RMSE) model | daily NMBE model | daily CV(RMSE) last week | daily CV(RMSE) weekday mean | daily CV(RMSE) last training week | interval CV(RMSE) model | interval NMBE model | interval CV(RMSE) last week | interval CV(RMSE) weekday mean | ASHRAE hourly met | daily CV <= 25 % | 90 % interval coverage daily / interval |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, prefix in (
        ("commercial, all (hourly)", ""),
        ("commercial electricity", "electricity_"),
        ("commercial gas", "gas_"),
        ("LCL households (half-hourly)", "lcl_halfhourly_"),
    ):

        def get(key: str, prefix: str = prefix) -> float:
            return figures.get(prefix + key, float("nan"))

        lines.append(
            f"| {label} | {get('meters'):.0f} | {get('daily_cvrmse_median'):.1f} | {get('daily_nmbe_median'):.1f} | "
            f"{get('baseline_last_week_cvrmse_median'):.1f} | {get('baseline_weekday_mean_cvrmse_median'):.1f} | "
            f"{get('baseline_last_training_week_cvrmse_median'):.1f} | {get('hourly_cvrmse_median'):.1f} | "
            f"{get('hourly_nmbe_median'):.1f} | {get('hourly_baseline_last_week_cvrmse_median'):.1f} | "
            f"{get('hourly_baseline_weekday_mean_cvrmse_median'):.1f} | {100 * get('share_meeting_ashrae_hourly'):.0f} % | "
            f"{100 * get('share_daily_cvrmse_le_25'):.0f} % | {100 * get('daily_interval_coverage_90_median'):.0f} % / "
            f"{100 * get('hourly_interval_coverage_90_median'):.0f} % |"
        )
    lines += [
        "",
        "Ceiling: the same hourly model fitted in sample on the test period itself (it has seen the answers) has a "
        "CV(RMSE) <= 30 % for "
        + ", ".join(
            f"{100 * figures.get(prefix + 'share_in_sample_test_fit_cvrmse_le_30', float('nan')):.0f} % of {label}"
            for label, prefix in (("electricity meters", "electricity_"), ("gas meters", "gas_"))
        )
        + ".",
        "",
        f"Fitting 1,000 synthetic one-year hourly sites on 2 processes: {figures['fit_seconds_1000_sites']:.0f} s.",
        "",
        "### Per meter (commercial)",
        "",
        "| meter | daily CV model | daily CV last week | daily CV weekday mean | daily NMBE | hourly CV model | hourly NMBE | candidate | flag |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in tables["commercial"].iterrows():
        lines.append(
            f"| {name} | {row.get('daily_model_cvrmse', np.nan):.1f} | {row['daily_last_week_cvrmse']:.1f} | "
            f"{row['daily_weekday_mean_cvrmse']:.1f} | {row.get('daily_model_nmbe', np.nan):.1f} | "
            f"{row.get('interval_model_cvrmse', np.nan):.1f} | {row.get('interval_model_nmbe', np.nan):.1f} | "
            f"{row['daily_candidate']} / {row['interval_candidate']} | {'mostly zero' if row['mostly_zero_gas'] else ''} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    outcome = run()
    print(_markdown(outcome, run.tables))  # type: ignore[attr-defined]
    print()
    print(json.dumps(outcome, indent=2, default=float))
