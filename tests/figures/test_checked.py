"""The figures are built without plotly's per-property checks (``figures.style.unchecked_figure``): every shape
they can take is rebuilt here through the checking constructor, which must accept it and send the same JSON.

A misspelt property, a value of the wrong type or one plotly would rewrite (a named colour scale, ``marker_color``)
fails here instead of reaching the browser unchecked.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import orjson
import pandas as pd
import plotly.graph_objects as go
import pytest
from dash._utils import to_json

from portfolio.analytics.resolution import compute_grid_series, compute_local_axis
from portfolio.figures.consumption import make_consumption_figure
from portfolio.figures.heatmap import make_load_profile_figure
from portfolio.figures.style import figure_data
from portfolio.timekeeping import local_range_ts
from portfolio.web.static_cache import CARTESIAN_TRACES
from tests.figures.plotly_json import to_the_second

LONDON = "Europe/London"


def _portfolio_frame(resolution: str) -> pd.DataFrame:
    """Three UK days of a 4-site portfolio with every coverage case: gaps, partial buckets, meter estimates, sites
    missing with and without a model, and the model's estimate for them."""
    axis = compute_local_axis(*local_range_ts(dt.date(2024, 10, 26), dt.date(2024, 10, 28), LONDON), resolution, LONDON)
    n = len(axis)
    energy = np.linspace(10.0, 20.0, n)
    energy[n // 3 : n // 3 + 2] = np.nan
    series = pd.DataFrame(
        {
            "start_ts": axis["start_ts"],
            "energy_kwh": energy,
            "sites_reporting": 3,
            "estimated_intervals": [100 if k % 7 == 0 else 0 for k in range(n)],  # a real share even of a day
        }
    ).dropna(subset=["energy_kwh"])
    frame = compute_grid_series(series, axis)
    short = np.arange(n) % 4 == 0
    estimate = np.where(short, 2.0, np.nan)
    return frame.assign(
        sites_total=4,
        sites_complete=np.where(short, 3, 4),
        sites_partial=np.where(np.arange(n) % 5 == 0, 1, 0),
        sites_missing=np.where(short, 1, 0),
        sites_modelled_gap=np.where(short, 1, 0),
        sites_unmodelled_gap=0,
        estimated_kwh=estimate,
        lower_kwh=estimate - 0.5,
        upper_kwh=estimate + 0.5,
        sites_estimated=np.where(short, 1, 0),
    )


def _temperature(frame: pd.DataFrame) -> pd.DataFrame:
    times = frame["local_time"]
    return pd.DataFrame(
        {
            "local_time": times,
            "label": frame["label"],
            "temperature_c": np.linspace(4.0, 9.0, len(frame)),
            "forecast": times > times.iloc[len(times) // 2],
        }
    )


def _expected(frame: pd.DataFrame) -> pd.DataFrame:
    values = np.linspace(11.0, 19.0, len(frame))
    return pd.DataFrame(
        {"local_time": frame["local_time"], "expected_kwh": values, "lower_kwh": values - 1, "upper_kwh": values + 1}
    )


def _assert_checked(figure: go.Figure) -> None:
    assert {trace.type for trace in figure.data} <= CARTESIAN_TRACES  # what the pages' plotly.js bundle can draw
    sent = json.loads(to_json(figure))
    checked = go.Figure(sent)  # raises on an unknown property or a value of the wrong type
    assert json.loads(to_json(checked)) == sent
    # what a callback sends: orjson takes it whole (it raises on anything plotly would have to walk in Python)
    plain = orjson.loads(orjson.dumps(figure_data(figure), option=orjson.OPT_SERIALIZE_NUMPY))
    assert to_the_second(plain) == to_the_second(sent)


@pytest.mark.parametrize("resolution", ["hh", "hour", "day"])
@pytest.mark.parametrize("stacked", [False, True])
def test_every_consumption_figure_shape_passes_plotly_checks_unchanged(resolution: str, stacked: bool) -> None:
    frame = _portfolio_frame(resolution)
    now = frame["local_time"].iloc[len(frame) // 2].to_pydatetime()
    stack = {"Site A": frame["energy_kwh"] * 0.6, "Other 3 sites": frame["energy_kwh"] * 0.4} if stacked else None
    figure = make_consumption_figure(
        frame,
        resolution=resolution,
        fuel="gas",
        title="A & B <portfolio>",
        portfolio=True,
        temperature=_temperature(frame),
        temperature_label="Consumption-weighted mean temperature",
        last_year=frame[["local_time"]].assign(energy_kwh=9.0),
        stack=stack,
        now_local=now,
        x_range=[frame["local_time"].iloc[0], frame["local_time"].iloc[-1]],
        expected=_expected(frame),
        unestimated_sites=["Depot"],
    )
    names = {trace.name for trace in figure.data}
    assert {"Temperature", "Forecast", "Last year", "Expected (temperature model)"} <= names
    if stacked:
        assert {"Site A", "Other 3 sites"} <= names
    else:
        assert {"Metered", "Estimated for 1 missing site"} <= names
        assert "Meter estimates" in names and ("Partial day" if resolution == "day" else "Partial") in names
    _assert_checked(figure)


def test_one_site_figure_and_the_load_profile_pass_plotly_checks_unchanged() -> None:
    frame = _portfolio_frame("hh").drop(
        columns=[c for c in _portfolio_frame("hh").columns if c.startswith("sites_") and c != "sites_reporting"]
    )
    one_site = frame.drop(columns=["estimated_kwh", "lower_kwh", "upper_kwh"]).assign(
        intervals=1, expected_intervals=np.where(np.arange(len(frame)) % 3 == 0, 2, 1)
    )
    _assert_checked(make_consumption_figure(one_site, resolution="hour", fuel="power"))
    profile = pd.DataFrame(np.arange(7 * 24, dtype=float).reshape(7, 24), index=range(7), columns=range(24))
    profile.iloc[2, 5] = np.nan
    figure = make_load_profile_figure(profile, title="Load profile")
    _assert_checked(figure)
    scale = figure.data[0].colorscale
    assert scale[0][1] == "rgb(247,251,255)" and scale[-1][1] == "rgb(8,48,107)"  # light to dark, as before
