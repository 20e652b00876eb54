"""Expected-consumption models on synthetic data with known balance points, slopes and week patterns."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from portfolio.analytics.degree_days import compute_local_daily_totals, compute_local_time_of_week
from portfolio.analytics.forecast import DataSufficiencyError, FittedTemperatureModel, TemperatureModel
from portfolio.analytics.model_quality import backtest, compute_cvrmse_pct, compute_nmbe_pct
from portfolio.analytics.portfolio_forecast import (
    compute_missing_interval_estimate,
    compute_portfolio_forecast,
    compute_residual_correlation,
)

LONDON = "Europe/London"


def make_temperature(days: int = 365, seed: int = 1, start: str = "2023-01-01") -> pd.Series:
    """Hourly air temperature [°C]: a seasonal cycle from about 2 to 18 °C, a daily cycle and noise."""
    rng = np.random.default_rng(seed)
    hours = pd.date_range(start, periods=days * 24, freq="h", tz="UTC")
    step = np.arange(len(hours))
    seasonal = 10 - 8 * np.cos(2 * np.pi * (step / 24 - 15) / 365)
    daily = 3 * np.sin(2 * np.pi * (step % 24 - 9) / 24)
    return pd.Series(seasonal + daily + rng.normal(0, 1.5, len(hours)), index=hours)


def local_day_means(temperature: pd.Series) -> pd.Series:
    day = temperature.index.tz_convert(LONDON).normalize().tz_convert("UTC")
    return temperature.groupby(day).mean()


def make_daily_readings(temperature: pd.Series, seed: int = 2) -> pd.Series:
    """Daily kWh = 100 + 8 max(0, 15.5 - T) + noise: the known truth of the daily tests."""
    rng = np.random.default_rng(seed)
    mean_c = local_day_means(temperature)
    return 100 + 8 * np.maximum(0, 15.5 - mean_c) + rng.normal(0, 5, len(mean_c))


def occupied_hours(index: pd.DatetimeIndex) -> np.ndarray:
    local = index.tz_convert(LONDON)
    return np.asarray((local.day_of_week < 5) & (local.hour >= 8) & (local.hour < 18))


def make_hourly_readings(temperature: pd.Series, seed: int = 3) -> pd.Series:
    """Hourly kWh: 20 base + 30 when occupied, heating below 14 °C at 3.5 (occupied) / 1.5 kWh/K."""
    rng = np.random.default_rng(seed)
    occupied = occupied_hours(temperature.index)
    heating = np.maximum(0, 14 - temperature.to_numpy()) * np.where(occupied, 3.5, 1.5)
    return pd.Series(20 + 30 * occupied + heating + rng.normal(0, 3, len(temperature)), index=temperature.index)


def test_daily_fit_recovers_balance_point_and_slope() -> None:
    temperature = make_temperature()
    fitted = TemperatureModel().fit(make_daily_readings(temperature), temperature)
    assert fitted.resolution == "daily"
    assert fitted.candidate == "heating"
    assert abs(fitted.heating_balance_point_c - 15.5) <= 1.0
    assert_allclose(fitted.slopes_kwh_per_k[0], 8.0, rtol=0.1)
    assert fitted.statistics.cvrmse_pct < 5
    assert fitted.sufficiency.is_sufficient


def test_daily_fit_drops_a_cooling_term_the_data_do_not_have() -> None:
    temperature = make_temperature(seed=4)
    fitted = TemperatureModel().fit(make_daily_readings(temperature, seed=5), temperature)
    assert fitted.cooling_balance_point_c is None
    assert (fitted.slopes_kwh_per_k > 0).all()


def test_hourly_fit_recovers_time_of_week_and_heating_slopes() -> None:
    temperature = make_temperature()
    fitted = TemperatureModel().fit(make_hourly_readings(temperature), temperature)
    assert fitted.resolution == "interval"
    assert fitted.terms == ("heating_occupied", "heating_unoccupied")
    assert abs(fitted.heating_balance_point_c - 14) <= 1.0
    assert_allclose(fitted.slopes_kwh_per_k, [3.5, 1.5], rtol=0.1)
    # occupancy found in local time: Monday 10:00 local is occupied, Monday 03:00 and Sunday noon are not
    week = pd.date_range("2023-07-03", periods=168, freq="h", tz=LONDON).tz_convert("UTC")
    bins = compute_local_time_of_week(week, LONDON, 3600)
    assert_allclose(fitted.bin_occupied[bins], occupied_hours(week))
    # the occupied step of 30 kWh is recovered at a temperature above the balance point
    warm = pd.Series(20.0, index=pd.date_range("2023-07-02", "2023-07-05", freq="h", tz="UTC"))
    expected = fitted.predict(warm, week[:48])["expected_kwh"]
    assert_allclose(expected.iloc[10] - expected.iloc[3], 30, atol=3)  # local 11:00 vs 04:00 (BST)


def test_half_hourly_readings_are_fitted_per_half_hour_of_week() -> None:
    temperature = make_temperature(days=60)
    half_hours = pd.date_range(temperature.index[0], temperature.index[-1], freq="30min")
    hourly = make_hourly_readings(temperature)
    readings = hourly.reindex(half_hours, method="ffill") / 2
    fitted = TemperatureModel().fit(readings, temperature)
    assert fitted.interval_seconds == 1800 and len(fitted.bin_intercepts_kwh) == 336
    prediction = fitted.predict(temperature, half_hours[:96])
    assert prediction["expected_kwh"].notna().all()
    assert compute_cvrmse_pct(readings, fitted.predict(temperature, half_hours)["expected_kwh"]) < 15


def test_short_data_raise_a_sufficiency_error_saying_how_many_days() -> None:
    temperature = make_temperature(days=20)
    with pytest.raises(DataSufficiencyError, match="needs at least 28 days of data") as error:
        TemperatureModel().fit(make_hourly_readings(temperature), temperature)
    assert error.value.needed_days == 28
    assert_allclose(error.value.available_days, 20)
    daily = make_daily_readings(make_temperature(days=40))
    with pytest.raises(DataSufficiencyError, match="needs at least 60 days of data") as daily_error:
        TemperatureModel().fit(daily, make_temperature(days=40))
    assert daily_error.value.needed_days == 60
    report = TemperatureModel().compute_sufficiency(daily, make_temperature(days=40))
    assert not report.is_sufficient and report.available_days == 40


def test_prediction_interval_widens_outside_the_training_temperatures() -> None:
    temperature = make_temperature(days=90, start="2023-03-01")
    fitted = TemperatureModel().fit(make_daily_readings(temperature), temperature)
    low, high = fitted.training_temperature_range_c
    days = pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC")
    hours = pd.date_range("2024-01-01", periods=72, freq="h", tz="UTC")
    daily_c = [(low + high) / 2, low - 5, low - 15]  # typical, beyond the coldest day, far beyond
    prediction = fitted.predict(pd.Series(np.repeat(daily_c, 24), index=hours), days, level=0.9)
    width = (prediction["upper_kwh"] - prediction["lower_kwh"]).to_numpy()
    assert width[0] < width[1] < width[2]
    assert width[2] > 1.1 * width[0]
    assert prediction["extrapolated"].tolist() == [False, True, True]
    assert (prediction["lower_kwh"] < prediction["expected_kwh"]).all()


def test_daily_sum_of_hourly_predictions_accounts_for_the_sum() -> None:
    temperature = make_temperature()
    fitted = TemperatureModel().fit(make_hourly_readings(temperature), temperature)
    index = pd.date_range("2023-03-06", periods=48, freq="h", tz="UTC")
    hourly = fitted.predict(temperature, index)
    daily = fitted.predict(temperature, index, per_local_day=True)
    assert len(daily) == 2 and (daily["intervals"] == 24).all()
    assert_allclose(daily["expected_kwh"].sum(), hourly["expected_kwh"].sum())
    # never narrower than independent hourly errors would give
    independent = np.sqrt((hourly["standard_error_kwh"] ** 2).groupby(np.arange(48) // 24).sum())
    assert (daily["standard_error_kwh"].to_numpy() >= independent.to_numpy() * 0.999).all()


def test_round_trip_through_json_predicts_identically() -> None:
    temperature = make_temperature()
    for readings in (make_daily_readings(temperature), make_hourly_readings(temperature)):
        fitted = TemperatureModel(holidays=(dt.date(2023, 5, 1),)).fit(readings, temperature)
        stored = json.loads(json.dumps(fitted.to_dict()))
        restored = FittedTemperatureModel.from_dict(stored)
        index = readings.index[:100]
        pd.testing.assert_frame_equal(restored.predict(temperature, index), fitted.predict(temperature, index))
        assert restored.statistics == fitted.statistics and restored.holidays == fitted.holidays


def test_missing_intervals_are_masked_not_zero() -> None:
    temperature = make_temperature()
    readings = make_hourly_readings(temperature)
    gaps = np.random.default_rng(7).random(len(readings)) < 0.1
    with_nan = readings.mask(gaps)
    dropped = readings[~gaps]
    fitted_nan = TemperatureModel().fit(with_nan, temperature)
    fitted_dropped = TemperatureModel().fit(dropped, temperature)
    assert_allclose(fitted_nan.slopes_kwh_per_k, fitted_dropped.slopes_kwh_per_k)
    assert_allclose(fitted_nan.bin_intercepts_kwh, fitted_dropped.bin_intercepts_kwh)
    assert fitted_nan.statistics.n == int((~gaps).sum())
    zero_filled = TemperatureModel().fit(readings.where(~gaps, 0.0), temperature)
    assert not np.allclose(zero_filled.bin_intercepts_kwh, fitted_nan.bin_intercepts_kwh)


def test_daily_totals_need_every_interval_of_the_local_day() -> None:
    half_hours = pd.date_range("2024-03-30", "2024-04-02", freq="30min", tz=LONDON, inclusive="left").tz_convert("UTC")
    readings = pd.Series(1.0, index=half_hours)
    totals = compute_local_daily_totals(readings, LONDON, 1800)
    assert_allclose(totals.to_numpy(), [48, 46, 48])  # 31 March 2024 has 46 half hours
    assert len(compute_local_daily_totals(readings.drop(half_hours[5]), LONDON, 1800)) == 2


def site_forecasts(errors_kwh: list[float], periods: int = 3) -> dict[str, pd.DataFrame]:
    index = pd.date_range("2024-01-01", periods=periods, freq="h", tz="UTC")
    return {
        f"site{number}": pd.DataFrame({"expected_kwh": 10.0 * (number + 1), "standard_error_kwh": error}, index=index)
        for number, error in enumerate(errors_kwh)
    }


def test_portfolio_interval_with_perfectly_correlated_residuals_adds_standard_errors() -> None:
    rng = np.random.default_rng(8)
    common = pd.Series(rng.normal(size=500), index=pd.date_range("2023-01-01", periods=500, freq="h", tz="UTC"))
    correlation = compute_residual_correlation({"site0": common, "site1": 2 * common, "site2": 3 * common})
    assert_allclose(correlation.to_numpy(), np.ones((3, 3)), atol=1e-9)
    result = compute_portfolio_forecast(site_forecasts([1.0, 2.0, 3.0]), correlation)
    assert result.correlation == "estimated"
    assert_allclose(result.forecast["expected_kwh"], 60.0)
    assert_allclose(result.forecast["standard_error_kwh"], 6.0, rtol=1e-6)


def test_portfolio_interval_with_independent_residuals_adds_variances() -> None:
    rng = np.random.default_rng(9)
    index = pd.date_range("2023-01-01", periods=5000, freq="h", tz="UTC")
    residuals = {f"site{number}": pd.Series(rng.normal(size=5000), index=index) for number in range(3)}
    estimated = compute_portfolio_forecast(site_forecasts([1.0, 2.0, 3.0]), compute_residual_correlation(residuals))
    assert_allclose(estimated.forecast["standard_error_kwh"], np.sqrt(14), rtol=0.05)
    independent = compute_portfolio_forecast(site_forecasts([1.0, 2.0, 3.0]), None, level=0.9)
    assert independent.correlation == "independent"
    assert_allclose(independent.forecast["standard_error_kwh"], np.sqrt(14))
    assert_allclose(
        independent.forecast["upper_kwh"] - independent.forecast["expected_kwh"], 1.6449 * np.sqrt(14), rtol=1e-4
    )


def test_missing_interval_estimate_keeps_metered_and_estimated_apart() -> None:
    forecasts = site_forecasts([1.0, 2.0], periods=3)
    index = forecasts["site0"].index
    readings = pd.DataFrame({"site0": [11.0, np.nan, 12.0], "site1": [19.0, 21.0, np.nan]}, index=index)
    result = compute_missing_interval_estimate(readings, forecasts)
    totals = result.totals
    assert_allclose(totals["metered_kwh"], [30.0, 21.0, 12.0])
    assert_allclose(totals["estimated_missing_kwh"].to_numpy(), [np.nan, 10.0, 20.0])
    assert_allclose(totals["sites_metered"], [2, 1, 1])
    assert_allclose(totals["sites_estimated"], [0, 1, 1])
    assert_allclose(totals["estimated_missing_upper_kwh"].iloc[2] - 20.0, 1.6449 * 2.0, rtol=1e-4)
    assert not any("total" in column for column in totals.columns)


def test_ashrae_metrics_on_known_values() -> None:
    actual = pd.Series([10.0, 12.0, 8.0, 10.0])
    expected = pd.Series([11.0, 11.0, 9.0, 9.0])
    assert_allclose(compute_cvrmse_pct(actual, expected), 10.0)  # sqrt(4/4) / 10
    assert_allclose(compute_nmbe_pct(actual, expected), 0.0)
    assert_allclose(compute_cvrmse_pct(actual, expected, n_parameters=2), 100 * np.sqrt(2) / 10)
    assert_allclose(compute_nmbe_pct(actual, expected + 1, n_parameters=0), -10.0)


def test_backtest_scores_the_held_out_quarter() -> None:
    temperature = make_temperature()
    readings = make_hourly_readings(temperature)
    result = backtest(readings, temperature)
    assert result.n == len(readings) - int(len(readings) * 0.75)
    assert result.cvrmse_pct < 15 and abs(result.nmbe_pct) < 5
    assert 0.8 < result.interval_coverage <= 1
    daily = backtest(readings, temperature, per_local_day=True)
    assert daily.resolution == "daily" and daily.cvrmse_pct < result.cvrmse_pct


def make_season_gated_readings(temperature: pd.Series, gate_c: float, seed: int = 6) -> pd.Series:
    """Hourly kWh: 20 base + 4 kWh/K below 16 °C, but only while the trailing week averages below ``gate_c``."""
    rng = np.random.default_rng(seed)
    week_mean = temperature.rolling(168, min_periods=84).mean().fillna(temperature)
    heating = 4 * np.maximum(0, 16 - temperature.to_numpy()) * (week_mean.to_numpy() < gate_c)
    return pd.Series(20 + heating + rng.normal(0, 2, len(temperature)), index=temperature.index)


def test_heating_season_gate_is_found_and_switches_heating_off_in_a_mild_week() -> None:
    temperature = make_temperature()
    readings = make_season_gated_readings(temperature, gate_c=12)
    gated = TemperatureModel(occupancy_split=False).fit(readings, temperature)
    ungated = TemperatureModel(occupancy_split=False, heating_season_gates_c=()).fit(readings, temperature)
    assert gated.heating_season_gate_c == 12 and ungated.heating_season_gate_c is None
    assert abs(gated.heating_balance_point_c - 16) <= 1.0
    assert_allclose(gated.slopes_kwh_per_k, [4.0], rtol=0.1)
    assert gated.statistics.cvrmse_pct < ungated.statistics.cvrmse_pct / 2
    # a mild week (14 °C) ending in a cold night (6 °C): the heating season has not started
    hours = pd.date_range("2024-09-01", periods=8 * 24, freq="h", tz="UTC")
    mild = pd.Series(np.where(np.arange(len(hours)) >= 7 * 24 + 2, 6.0, 14.0), index=hours)
    night = hours[7 * 24 + 3 : 7 * 24 + 6]
    assert_allclose(gated.predict(mild, night)["expected_kwh"], 20, atol=1.5)
    assert (ungated.predict(mild, night)["expected_kwh"] > 40).all()
    # after a cold week the same night is heated
    cold = pd.Series(6.0, index=hours)
    assert_allclose(gated.predict(cold, night)["expected_kwh"], 20 + 4 * 10, rtol=0.05)


def test_calibration_widens_intervals_when_the_latest_data_drift() -> None:
    temperature = make_temperature()
    steady = make_daily_readings(temperature)
    drifting = steady * np.where(np.arange(len(steady)) >= 0.75 * len(steady), 1.15, 1.0)
    steady_fit = TemperatureModel().fit(steady, temperature)
    drifting_fit = TemperatureModel().fit(drifting, temperature)
    assert steady_fit.calibration.calibrated and drifting_fit.calibration.calibrated
    assert 1.0 <= steady_fit.calibration.daily_scale < 1.3
    assert drifting_fit.calibration.daily_scale > 2 * steady_fit.calibration.daily_scale
    assert abs(steady_fit.calibration.holdout_nmbe_pct) < 2 and drifting_fit.calibration.holdout_nmbe_pct > 8
    assert steady_fit.calibration.holdout_points == len(steady) - int(0.75 * len(steady))
    # the scale reaches the intervals: same model without calibration is narrower by exactly the factor
    raw = TemperatureModel(calibration_holdout=0).fit(drifting, temperature)
    assert not raw.calibration.calibrated
    days = drifting.index[:10]
    ratio = (
        drifting_fit.predict(temperature, days)["standard_error_kwh"]
        / raw.predict(temperature, days)["standard_error_kwh"]
    )
    assert_allclose(ratio, drifting_fit.calibration.daily_scale)


def test_calibration_is_skipped_when_the_hold_out_leaves_too_little_to_fit() -> None:
    temperature = make_temperature(days=70)
    fitted = TemperatureModel().fit(make_daily_readings(temperature), temperature)  # 70 days; 52 before the hold-out
    assert fitted.sufficiency.is_sufficient
    assert not fitted.calibration.calibrated and fitted.calibration.holdout_cvrmse_pct is None
    assert fitted.calibration.daily_scale == 1.0


def test_models_stored_before_gates_and_calibration_still_load() -> None:
    temperature = make_temperature()
    fitted = TemperatureModel(heating_season_gates_c=(), calibration_holdout=0).fit(
        make_hourly_readings(temperature), temperature
    )
    stored = json.loads(json.dumps(fitted.to_dict()))
    for key in ("heating_season_gate_c", "calibration"):
        del stored[key]
    stored["schema"] = "portfolio.temperature_model/1"
    restored = FittedTemperatureModel.from_dict(stored)
    index = temperature.index[:200]
    pd.testing.assert_frame_equal(restored.predict(temperature, index), fitted.predict(temperature, index))
    with pytest.raises(ValueError, match="unknown model schema"):
        FittedTemperatureModel.from_dict({**stored, "schema": "portfolio.temperature_model/9"})


def test_an_intercept_only_model_round_trips_through_json() -> None:
    temperature = make_temperature()
    rng = np.random.default_rng(7)
    flat = pd.Series(
        20 + 30 * occupied_hours(temperature.index) + rng.normal(0, 3, len(temperature)), index=temperature.index
    )
    fitted = TemperatureModel().fit(flat, temperature)
    assert fitted.candidate == "intercept_only" and fitted.bin_term_means.shape == (168, 0)
    restored = FittedTemperatureModel.from_dict(json.loads(json.dumps(fitted.to_dict())))
    index = temperature.index[:168]
    pd.testing.assert_frame_equal(restored.predict(temperature, index), fitted.predict(temperature, index))
