"""Expected consumption, the solver behind :meth:`portfolio.analytics.forecast.TemperatureModel.fit`.

The balance-point search runs on one Gram matrix of the slope terms, demeaned within time-of-week (or day-of-week)
bins (Frisch-Waugh-Lovell): every candidate term set and balance-point pair is a small k x k solve, scored by BIC
(or adjusted R²) with every slope positive and significant (CalTRACK's rule). A second stage searches a
heating-season gate [°C]; the final fit is one OLS whose per-bin intercepts [kWh], slopes [kWh/K] and
(Z'Z)^-1 are all the stored model needs to predict with intervals.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm

from portfolio.analytics.degree_days import compute_local_day_start
from portfolio.analytics.fitted_model import (
    DataSufficiency,
    FitStatistics,
    FittedTemperatureModel,
    compute_term_columns,
    normal_quantile,
)
from portfolio.timekeeping import SECONDS_PER_DAY

if TYPE_CHECKING:
    from portfolio.analytics.forecast import TemperatureModel

GATE_BALANCE_POINT_SEARCH_C = 2.0


@dataclass(frozen=True)
class Design:
    """The readings as the regression sees them: energy [kWh per interval], temperature [°C], time-of-week bins."""

    index: pd.DatetimeIndex
    energy_kwh: np.ndarray
    temperature_c: np.ndarray
    season_temperature_c: np.ndarray
    bins: np.ndarray
    n_bins: int
    resolution: Literal["daily", "interval"]
    interval_seconds: int


def _bin_means(values: np.ndarray, bins: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Mean of each column of ``values`` within each bin (bins x columns); empty bins get 0."""
    values = values.reshape(len(bins), -1)
    sums = np.stack([np.bincount(bins, weights=column, minlength=len(counts)) for column in values.T], axis=1)
    return sums / np.maximum(counts, 1)[:, None]


def fit_design(
    settings: TemperatureModel, design: Design, occupied: np.ndarray, sufficiency: DataSufficiency
) -> FittedTemperatureModel:
    """Pick the terms and balance points [°C] with the best score, then a heating-season gate, and fit them."""
    y, t, season, bins = design.energy_kwh, design.temperature_c, design.season_temperature_c, design.bins
    n, n_bins = len(y), design.n_bins
    counts = np.bincount(bins, minlength=n_bins).astype(float)
    groups = occupied[bins]
    group_names = ("occupied", "unoccupied") if occupied.any() and not occupied.all() else ("all",)
    terms_all = [f"{kind}_{group}" for kind in ("heating", "cooling") for group in group_names]
    grid = np.asarray(settings.balance_points_c, dtype=float)
    # one demeaned column per (term, balance point): the bins' fixed effects absorbed (Frisch-Waugh-Lovell)
    raw = np.column_stack(
        [compute_term_columns(t, season, groups, (term,), bp, bp, None)[:, 0] for term in terms_all for bp in grid]
    )
    # Fortran order: OpenBLAS's threaded syrk on the C-ordered transpose can be 50x slower
    demeaned = np.asfortranarray(raw - _bin_means(raw, bins, counts)[bins])
    y_demeaned = y - _bin_means(y, bins, counts)[bins, 0]
    gram = demeaned.T @ demeaned
    cross = demeaned.T @ y_demeaned
    rss_bins = float(y_demeaned @ y_demeaned)
    tss = float(((y - y.mean()) ** 2).sum())
    usable = np.diag(gram) > 1e-9 * max(1.0, float(np.diag(gram).max()))
    critical_t = normal_quantile(1 - settings.significance)

    def score(rss: np.ndarray | float, k: int, searched: int) -> np.ndarray | float:
        """Higher is better: adjusted R², or minus BIC (``searched``: balance points and gates found by search)."""
        if settings.selection == "bic":
            return -(n * np.log(np.maximum(rss, 1e-300) / n) + (n_bins + k + searched) * np.log(n))
        return 1 - (rss / (n - n_bins - k)) / (tss / (n - 1))

    def valid(beta: np.ndarray, rss: np.ndarray, inverse: np.ndarray) -> np.ndarray:
        """Every slope positive and significant (CalTRACK's rule)."""
        se = np.sqrt(
            np.maximum(rss / (n - n_bins - beta.shape[-1]), 0)[:, None] * np.diagonal(inverse, axis1=1, axis2=2)
        )
        return ((beta > 0) & (beta > critical_t * se)).all(axis=1)

    best: tuple[float, tuple[str, ...], float | None, float | None] = (float(score(rss_bins, 0, 0)), (), None, None)
    for size in range(1, len(terms_all) + 1):
        for terms in itertools.combinations(terms_all, size):
            has_heating = any(term.startswith("heating") for term in terms)
            has_cooling = any(term.startswith("cooling") for term in terms)
            if has_heating and has_cooling:
                heat, cool = np.nonzero(grid[:, None] <= grid[None, :])
            else:
                heat = cool = np.arange(len(grid))
            index = np.column_stack(
                [terms_all.index(term) * len(grid) + (heat if term.startswith("heating") else cool) for term in terms]
            )
            index = index[usable[index].all(axis=1)]
            if not len(index):
                continue
            sub_gram = gram[index[:, :, None], index[:, None, :]]
            sub_gram = sub_gram + np.eye(size) * 1e-10 * np.trace(sub_gram, axis1=1, axis2=2)[:, None, None]
            inverse = np.linalg.inv(sub_gram)
            beta = np.einsum("pij,pj->pi", inverse, cross[index])
            rss = rss_bins - np.einsum("pi,pi->p", beta, cross[index])
            ok = valid(beta, rss, inverse)
            if not ok.any():
                continue
            adjusted = np.asarray(score(rss, size, size), dtype=float)  # a balance point per slope
            adjusted[~ok] = -np.inf
            pick = int(np.argmax(adjusted))
            if adjusted[pick] > best[0]:
                columns = index[pick]
                heating = [
                    grid[col % len(grid)]
                    for col, term in zip(columns, terms, strict=False)
                    if term.startswith("heating")
                ]
                cooling = [
                    grid[col % len(grid)]
                    for col, term in zip(columns, terms, strict=False)
                    if term.startswith("cooling")
                ]
                best = (
                    float(adjusted[pick]),
                    terms,
                    float(heating[0]) if heating else None,
                    float(cooling[0]) if cooling else None,
                )
    best_score, terms, heating_c, cooling_c = best
    gate_c = None
    if heating_c is not None and settings.heating_season_gates_c:
        heating_c, gate_c = _search_gate(
            settings, design, groups, counts, y_demeaned, terms, heating_c, cooling_c, best_score, score, valid
        )
    return _final_fit(settings, design, occupied, sufficiency, terms, heating_c, cooling_c, gate_c, tss)


def _search_gate(
    settings: TemperatureModel,
    design: Design,
    groups: np.ndarray,
    counts: np.ndarray,
    y_demeaned: np.ndarray,
    terms: tuple[str, ...],
    heating_c: float,
    cooling_c: float | None,
    best_score: float,
    score: Callable[[np.ndarray, int, int], np.ndarray | float],
    valid: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
) -> tuple[float, float | None]:
    """Second stage: a heating-season gate for the chosen terms, the heating balance point free to move nearby."""
    t, season, bins = design.temperature_c, design.season_temperature_c, design.bins
    grid = np.asarray(settings.balance_points_c, dtype=float)
    candidates = [
        (bp, gate)
        for bp in grid[np.abs(grid - heating_c) <= GATE_BALANCE_POINT_SEARCH_C]
        for gate in settings.heating_season_gates_c
        if cooling_c is None or bp <= cooling_c
    ]
    if not candidates:
        return heating_c, None
    stacked = np.stack([compute_term_columns(t, season, groups, terms, bp, cooling_c, gate) for bp, gate in candidates])
    stacked = stacked - np.stack([_bin_means(columns, bins, counts)[bins] for columns in stacked])
    sub_gram = np.einsum("pni,pnj->pij", stacked, stacked)
    diagonal = np.diagonal(sub_gram, axis1=1, axis2=2)
    usable = np.asarray(
        (diagonal > 1e-9 * max(1.0, float(diagonal.max()))).all(axis=1)
    )  # a gate never open gives no column
    if not usable.any():
        return heating_c, None
    candidates = [candidate for candidate, ok in zip(candidates, usable, strict=False) if ok]
    stacked, diagonal = stacked[usable], diagonal[usable]
    sub_gram = sub_gram[usable] + np.eye(len(terms)) * 1e-10 * diagonal.sum(axis=1)[:, None, None]
    inverse = np.linalg.inv(sub_gram)
    beta = np.einsum("pij,pj->pi", inverse, np.einsum("pni,n->pi", stacked, y_demeaned))
    rss = ((y_demeaned[None, :] - np.einsum("pni,pi->pn", stacked, beta)) ** 2).sum(axis=1)
    adjusted = np.asarray(score(rss, len(terms), len(terms) + 1), dtype=float)
    adjusted[~valid(beta, rss, inverse)] = -np.inf
    pick = int(np.argmax(adjusted))
    if adjusted[pick] <= best_score:
        return heating_c, None
    return float(candidates[pick][0]), float(candidates[pick][1])


def _final_fit(
    settings: TemperatureModel,
    design: Design,
    occupied: np.ndarray,
    sufficiency: DataSufficiency,
    terms: tuple[str, ...],
    heating_c: float | None,
    cooling_c: float | None,
    gate_c: float | None,
    tss: float,
) -> FittedTemperatureModel:
    y, t, bins = design.energy_kwh, design.temperature_c, design.bins
    n, n_bins, k = len(y), design.n_bins, len(terms)
    counts = np.bincount(bins, minlength=n_bins).astype(float)
    columns = compute_term_columns(t, design.season_temperature_c, occupied[bins], terms, heating_c, cooling_c, gate_c)
    column_means = _bin_means(columns, bins, counts) if k else np.zeros((n_bins, 0))
    y_means = _bin_means(y, bins, counts)[:, 0]
    dof = n - n_bins - k
    if k:
        model = sm.OLS(y - y_means[bins], columns - column_means[bins])
        model.df_resid, model.df_model = float(dof), float(n_bins + k - 1)  # the absorbed bin effects count
        result = model.fit()
        slopes, unscaled = np.asarray(result.params), np.asarray(result.normalized_cov_params)
        p_values = np.asarray(result.pvalues)
    else:
        slopes, unscaled, p_values = np.zeros(0), np.zeros((0, 0)), np.zeros(0)
    intercepts = y_means - column_means @ slopes
    residuals = y - intercepts[bins] - columns @ slopes
    rss = float(residuals @ residuals)
    variance = rss / dof
    mean = float(y.mean())
    statistics = FitStatistics(
        n=n,
        n_parameters=n_bins + k,
        r_squared=1 - rss / tss if tss > 0 else float("nan"),
        adjusted_r_squared=1 - (rss / dof) / (tss / (n - 1)) if tss > 0 else float("nan"),
        cvrmse_pct=float(100 * np.sqrt(variance) / mean),
        nmbe_pct=100 * float(residuals.sum()) / (dof * mean),
        residual_sd_kwh=float(np.sqrt(variance)),
        mean_kwh=mean,
    )
    return FittedTemperatureModel(
        resolution=design.resolution,
        interval_seconds=design.interval_seconds,
        time_zone=settings.time_zone,
        holidays=tuple(settings.holidays),
        temperature_window_hours=settings.temperature_window_hours,
        terms=tuple(terms),
        heating_balance_point_c=heating_c,
        cooling_balance_point_c=cooling_c,
        heating_season_gate_c=gate_c,
        slopes_kwh_per_k=slopes,
        slope_p_values=p_values,
        unscaled_covariance=unscaled,
        bin_intercepts_kwh=intercepts,
        bin_counts=counts,
        bin_term_means=column_means,
        bin_occupied=occupied,
        residual_variance_kwh2=variance,
        daily_sum_variance_inflation=_daily_sum_inflation(design, residuals, variance, settings.time_zone),
        training_temperature_range_c=(float(t.min()), float(t.max())),
        statistics=statistics,
        sufficiency=sufficiency,
    )


def _daily_sum_inflation(design: Design, residuals: np.ndarray, variance: float, time_zone: str) -> float:
    """Var(sum of a local day's residuals) / (intervals x s²): > 1 when residuals are autocorrelated."""
    if design.resolution == "daily" or variance <= 0:
        return 1.0
    series = pd.Series(residuals, index=design.index)
    days = compute_local_day_start(design.index, time_zone)
    grouped = series.groupby(days)
    sums, sizes = grouped.sum(), grouped.count()
    full = sizes >= 0.9 * SECONDS_PER_DAY / design.interval_seconds
    if full.sum() < 7:
        return 1.0
    return float(max(1.0, (sums[full] ** 2).sum() / (sizes[full].sum() * variance)))
