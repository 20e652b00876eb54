"""Expected consumption of a site or portfolio on a graph's buckets, from the sites' model forecasts.

Two steps, so a batch can add sites up in parts and store the sums (``portfolio.services.expected_series``) and a
request can turn stored or fresh sums into bounds the same way: :func:`compute_expected_sums` (per
bucket: expected energy, variance and sites, additive over disjoint sets of sites) and
:func:`compute_expected_bounds` (the 90 % interval). Site errors are taken as independent (variances
add); within one bucket a site's errors are taken as fully correlated (its standard errors add).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

EXPECTED_COLUMNS = ["start_ts", "expected_kwh", "lower_kwh", "upper_kwh", "sites"]
SUM_COLUMNS = ["start_ts", "expected_kwh", "variance_kwh2", "sites"]
BUCKET_SECONDS = {"hh": 1800, "hour": 3600}
Z_90 = 1.6448536


def _to_buckets(frame: pd.DataFrame, seconds: int) -> pd.DataFrame:
    """Sum a site's forecast into buckets; within one bucket its errors are taken as fully correlated.

    Missing values count as 0 within a bucket (as a pandas group sum); summed with numpy, a year of half hours
    per site in a few milliseconds (a pandas groupby keyed by an array first formats the whole array).
    """
    starts = pd.DatetimeIndex(frame.index).as_unit("s").asi8 // seconds * seconds
    buckets, inverse = np.unique(starts, return_inverse=True)
    summed = {
        column: np.bincount(
            inverse, weights=np.nan_to_num(frame[column].to_numpy(dtype=np.float64)), minlength=len(buckets)
        )
        for column in ("expected_kwh", "standard_error_kwh")
    }
    return pd.DataFrame(summed, index=pd.DatetimeIndex(pd.to_datetime(buckets, unit="s", utc=True)))


def compute_site_buckets(forecast: pd.DataFrame, resolution: str) -> pd.DataFrame:
    """One site's forecast on graph buckets: start_ts [UTC epoch s], expected_kwh, variance_kwh2.

    ``forecast``: a frame from ``FittedTemperatureModel.predict`` (per local day when ``resolution`` is
    "day", otherwise per interval, UTC index). Rows without an expectation are left out.
    """
    if resolution == "day":
        frame = forecast[["expected_kwh", "standard_error_kwh"]].dropna(subset=["expected_kwh"])
    else:
        frame = _to_buckets(forecast, BUCKET_SECONDS[resolution])
    return pd.DataFrame(
        {
            "start_ts": pd.DatetimeIndex(frame.index).as_unit("s").asi8,
            "expected_kwh": frame["expected_kwh"].to_numpy(dtype="float64"),
            "variance_kwh2": np.square(frame["standard_error_kwh"].fillna(0.0).to_numpy(dtype="float64")),
        }
    )


def sum_site_buckets(buckets: pd.DataFrame) -> pd.DataFrame:
    """Add up many sites' bucket rows (from :func:`compute_site_buckets`): one row per bucket, sorted.

    ``sites`` counts the site rows summed in each bucket; variances add (site errors independent).
    """
    if buckets.empty:
        return pd.DataFrame(
            {c: pd.Series(dtype="int64" if c in ("start_ts", "sites") else "float64") for c in SUM_COLUMNS}
        )
    summed = buckets.groupby("start_ts", sort=True).agg(
        expected_kwh=("expected_kwh", "sum"), variance_kwh2=("variance_kwh2", "sum"), sites=("expected_kwh", "size")
    )
    return summed.reset_index()[SUM_COLUMNS].astype({"start_ts": "int64", "sites": "int64"})


def compute_expected_sums(site_forecasts: Mapping[int, pd.DataFrame], resolution: str) -> pd.DataFrame:
    """Per bucket: expected energy [kWh], variance [kWh²] and sites, summed over ``site_forecasts``.

    Sums of disjoint sets of sites add column by column, which is what the precomputed table relies on.
    """
    parts = [compute_site_buckets(frame, resolution) for frame in site_forecasts.values()]
    return sum_site_buckets(pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=SUM_COLUMNS))


def add_expected_sums(*sums: pd.DataFrame) -> pd.DataFrame:
    """Add bucket sums of disjoint sets of sites (e.g. two chunks, or stored scopes and live ones) per bucket."""
    parts = [frame for frame in sums if len(frame)]
    if len(parts) <= 1:
        return parts[0] if parts else sum_site_buckets(pd.DataFrame(columns=SUM_COLUMNS))
    added = pd.concat(parts, ignore_index=True).groupby("start_ts", sort=True)[SUM_COLUMNS[1:]].sum()
    return added.reset_index()[SUM_COLUMNS]


def compute_expected_bounds(sums: pd.DataFrame, z: float = Z_90) -> pd.DataFrame:
    """Turn bucket sums (start_ts, expected_kwh, variance_kwh2, sites) into the line and its interval.

    Returns start_ts, expected_kwh, lower_kwh (never below 0 kWh), upper_kwh and sites.
    """
    if sums.empty:
        return pd.DataFrame(columns=EXPECTED_COLUMNS)
    expected = sums["expected_kwh"].to_numpy(dtype="float64")
    spread = z * np.sqrt(np.clip(sums["variance_kwh2"].to_numpy(dtype="float64"), 0, None))
    return pd.DataFrame(
        {
            "start_ts": sums["start_ts"].to_numpy(dtype="int64"),
            "expected_kwh": expected,
            "lower_kwh": np.clip(expected - spread, 0, None),
            "upper_kwh": expected + spread,
            "sites": sums["sites"].to_numpy(dtype="int64"),
        }
    )


def compute_expected_total(sums: pd.DataFrame, z: float = Z_90) -> tuple[float, tuple[float, float]] | None:
    """Total over all buckets [kWh] with its interval: sites independent, buckets fully correlated.

    (Used for "expected next 7 days" from daily sums: each site's daily errors add across the days.)
    """
    if sums.empty:
        return None
    total = float(sums["expected_kwh"].sum())
    spread = float((z * np.sqrt(np.clip(sums["variance_kwh2"].to_numpy(dtype="float64"), 0, None))).sum())
    return total, (total - spread, total + spread)


def compute_expected_series(site_forecasts: Mapping[int, pd.DataFrame], resolution: str) -> pd.DataFrame:
    """Portfolio expected energy per bucket [kWh] with a 90 % interval; site errors taken as independent.

    ``site_forecasts``: per site, frames from ``FittedTemperatureModel.predict`` (per local day when
    ``resolution`` is "day", otherwise per interval, UTC index). Returns start_ts (UTC epoch s of the
    bucket), expected_kwh, lower_kwh, upper_kwh and sites (forecasts summed in the bucket).
    """
    return compute_expected_bounds(compute_expected_sums(site_forecasts, resolution))


SITE_ROW_COLUMNS = ["site_id", "resolution", "start_ts", "expected_kwh", "variance_kwh2"]
"""A site's stored predictions as rows: which site, resolution ("hh", "hour", "day" as a categorical of
:data:`RESOLUTIONS`), bucket start [UTC epoch s], expected energy [kWh] and its variance [kWh²]."""
RESOLUTIONS = ("hh", "hour", "day")
DELTA_COLUMNS = ["scope", "resolution", "start_ts", "expected_kwh", "variance_kwh2", "sites"]
"""Changes to scope sums: scope (an index into the caller's list of scopes), resolution (an index into
:data:`RESOLUTIONS`), bucket start [UTC epoch s], energy [kWh], variance [kWh²] and sites summed."""


def resolution_codes(resolution: pd.Series) -> np.ndarray:
    """Indexes into :data:`RESOLUTIONS` of a column of resolutions (categorical or text)."""
    return pd.Categorical(resolution, categories=RESOLUTIONS).codes.astype(np.int64)


def empty_deltas() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype="float64" if c in ("expected_kwh", "variance_kwh2") else "int64") for c in DELTA_COLUMNS}
    )


def compute_scope_deltas(
    old: pd.DataFrame, new: pd.DataFrame, scopes_of_site: Mapping[int, Sequence[int]], scopes: int
) -> pd.DataFrame:
    """What replacing some sites' stored rows ``old`` by ``new`` adds to each scope sum holding them.

    ``old`` / ``new``: :data:`SITE_ROW_COLUMNS`; ``scopes_of_site``: the scopes (indexes below ``scopes``) each
    changed site is summed into. Returns :data:`DELTA_COLUMNS` for every scope and bucket where a member site had
    an old or a new row: energy [kWh] and variance [kWh²] differences and the change in sites summed (-1, 0, +1
    per site). Sums stay additive, so a scope's stored sums plus these equal its sums rebuilt from the new rows.
    """
    parts = [(frame, sign) for frame, sign in ((old, -1.0), (new, 1.0)) if len(frame)]
    if not parts or not scopes_of_site:
        return empty_deltas()
    site = np.concatenate([f["site_id"].to_numpy(dtype=np.int64) for f, _ in parts])
    keep = np.isin(site, np.fromiter(scopes_of_site, dtype=np.int64))
    resolution = np.concatenate([resolution_codes(f["resolution"]) for f, _ in parts])[keep]
    start = np.concatenate([f["start_ts"].to_numpy(dtype=np.int64) for f, _ in parts])[keep]
    sign = np.concatenate([np.full(len(f), s) for f, s in parts])[keep]
    energy = np.concatenate([f["expected_kwh"].to_numpy(dtype=np.float64) for f, _ in parts])[keep]
    variance = np.concatenate([f["variance_kwh2"].to_numpy(dtype=np.float64) for f, _ in parts])[keep]
    site = site[keep]
    if not len(site):
        return empty_deltas()
    site_codes, site_ids = pd.factorize(site)
    bucket_codes, buckets = pd.factorize(resolution * (1 << 40) + start)  # start_ts < 2**40 s (year 36812)
    n_sites, n_buckets = len(site_ids), len(buckets)
    flat = site_codes.astype(np.int64) * n_buckets + bucket_codes

    def dense(values: np.ndarray) -> np.ndarray:
        return np.bincount(flat, weights=values, minlength=n_sites * n_buckets).reshape(n_sites, n_buckets)

    membership = np.zeros((scopes, n_sites))
    for column, site_id in enumerate(site_ids):
        membership[list(scopes_of_site[int(site_id)]), column] = 1.0
    used = np.flatnonzero(membership.any(axis=1))
    membership = membership[used]
    scope_rows, bucket_columns = np.nonzero(membership @ dense(np.ones(len(site))))
    pick = (scope_rows, bucket_columns)
    keys = np.asarray(buckets, dtype=np.int64)[bucket_columns]
    return pd.DataFrame(
        {
            "scope": used[scope_rows].astype(np.int64),
            "resolution": keys >> 40,
            "start_ts": keys & ((1 << 40) - 1),
            "expected_kwh": (membership @ dense(sign * energy))[pick],
            "variance_kwh2": (membership @ dense(sign * variance))[pick],
            "sites": np.rint((membership @ dense(sign))[pick]).astype(np.int64),
        }
    )


def add_deltas(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Changes to scope sums added up per scope and bucket (:data:`DELTA_COLUMNS`)."""
    frames = [p for p in parts if len(p)]
    if not frames:
        return empty_deltas()
    if len(frames) == 1:
        return frames[0]
    added = pd.concat(frames, ignore_index=True).groupby(["scope", "resolution", "start_ts"], sort=False).sum()
    return added.reset_index()[DELTA_COLUMNS]
