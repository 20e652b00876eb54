"""The consumption and load-profile figures, built from frames without Dash or a database."""

from __future__ import annotations

import base64
import datetime as dt
import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from dash._utils import to_json

from portfolio.analytics.resolution import compute_grid_series, compute_local_axis
from portfolio.figures.consumption import make_consumption_figure
from portfolio.figures.heatmap import make_load_profile_figure
from portfolio.timekeeping import local_range_ts

LONDON = "Europe/London"


def _frame(
    day: dt.date, resolution: str = "hh", *, gap: slice | None = None, estimated: tuple[int, ...] = ()
) -> pd.DataFrame:
    axis = compute_local_axis(*local_range_ts(day, day, LONDON), resolution, LONDON)
    energy = np.linspace(1.0, 2.0, len(axis))
    if gap is not None:
        energy[gap] = np.nan
    series = pd.DataFrame(
        {
            "start_ts": axis["start_ts"],
            "energy_kwh": energy,
            "sites_reporting": 1,
            "estimated_intervals": [1 if n in estimated else 0 for n in range(len(axis))],
        }
    )
    series = series.dropna(subset=["energy_kwh"])  # a gap is a missing row, as the database returns it
    return compute_grid_series(series, axis)


def test_gaps_are_nan_in_the_figure_and_on_the_wire_never_zero() -> None:
    frame = _frame(dt.date(2024, 6, 3), gap=slice(10, 14))
    figure = make_consumption_figure(frame, resolution="hh", fuel="power")
    y = np.asarray(figure.data[0].y, dtype=np.float64)
    assert np.isnan(y[10:14]).all() and not np.isnan(np.delete(y, range(10, 14))).any()
    assert not (y == 0).any()
    assert figure.data[0].connectgaps is False
    # what Dash sends: a typed array (plotly.js draws NaN as a gap), the NaNs kept, no zero in their place
    sent = json.loads(to_json(figure.to_plotly_json()))["data"][0]["y"]
    assert sent["dtype"] == "f8"
    decoded = np.frombuffer(base64.b64decode(sent["bdata"]), dtype="<f8")
    np.testing.assert_array_equal(decoded, y)


def test_estimated_readings_are_a_distinct_trace() -> None:
    figure = make_consumption_figure(_frame(dt.date(2024, 6, 3), estimated=(3, 7)), resolution="hh", fuel="power")
    estimated = [t for t in figure.data if t.name == "Meter estimates"]
    assert len(estimated) == 1 and len(estimated[0].y) == 2
    assert estimated[0].mode == "markers" and estimated[0].hoverinfo == "skip"  # the line's hover says it
    assert "estimated" in figure.data[0].customdata[3][1] and "estimated" not in figure.data[0].customdata[4][1]
    days = _frame(dt.date(2024, 6, 3), "day", estimated=(0,)).assign(estimated_intervals=6)  # 6 of 48 half hours
    bars = make_consumption_figure(days, resolution="day", fuel="gas")
    assert [t.name for t in bars.data][:2] == ["Metered", "Meter estimates"]
    assert len(bars.data[0].y) == 0 and not np.isnan(bars.data[1].y[0])  # the day is a meter-estimate bar only
    assert bars.data[1].marker.pattern.shape == "/"


def test_a_bucket_is_drawn_as_meter_estimates_only_when_they_are_a_real_share_of_it() -> None:
    """A 1,000-site day with ~100 estimated readings among 48,000 is metered (its hover counts them); a day that is
    a tenth estimated or more is drawn as estimates. A portfolio's readings are its reporting sites' half hours."""
    day = _frame(dt.date(2024, 6, 3), "day", estimated=(0,))
    few = day.assign(intervals=48_000, estimated_intervals=96)
    bars = make_consumption_figure(few, resolution="day", fuel="power")
    assert [t.name for t in bars.data] == ["Metered"]
    assert "incl. 96 meter-estimated readings (0.2 %)" in bars.data[0].customdata[0][1]
    many = day.assign(intervals=48, estimated_intervals=5)
    bars = make_consumption_figure(many, resolution="day", fuel="power")
    assert [t.name for t in bars.data][:2] == ["Metered", "Meter estimates"]
    assert len(bars.data[0].y) == 0 and bars.data[1].y[0] == pytest.approx(day["energy_kwh"].iloc[0])
    assert "incl. 5 meter-estimated readings (10.4 %)" in bars.data[1].customdata[0][1]
    portfolio = day.assign(sites_reporting=1000, estimated_intervals=96)  # no reading count: 1,000 x 48 half hours
    bars = make_consumption_figure(portfolio, resolution="day", fuel="power", portfolio=True)
    assert [t.name for t in bars.data][0] == "Metered" and "Meter estimates" not in [t.name for t in bars.data]
    assert "(0.2 %)" in bars.data[0].customdata[0][1]


def test_clock_change_days_have_46_and_50_local_half_hours() -> None:
    spring = compute_local_axis(*local_range_ts(dt.date(2024, 3, 31), dt.date(2024, 3, 31), LONDON), "hh", LONDON)
    autumn = compute_local_axis(*local_range_ts(dt.date(2024, 10, 27), dt.date(2024, 10, 27), LONDON), "hh", LONDON)
    assert len(spring) == 46 and len(autumn) == 50
    assert "01:00" not in " ".join(spring["label"])  # 01:00-02:00 does not exist in spring
    assert sum("01:30" in label for label in autumn["label"]) == 2  # once BST, once GMT
    assert autumn["label"].iloc[3].endswith("BST") and autumn["label"].iloc[5].endswith("GMT")
    figure = make_consumption_figure(_frame(dt.date(2024, 10, 27)), resolution="hh", fuel="power")
    assert len(figure.data[0].x) == 50
    assert figure.data[0].customdata[0][0] == "Sun 27 Oct 2024 00:00 BST"


def _temperature(now: dt.datetime) -> pd.DataFrame:
    hours = pd.date_range(now - dt.timedelta(hours=5), periods=10, freq="h")
    return pd.DataFrame(
        {
            "local_time": hours,
            "label": hours.strftime("%H:%M"),
            "temperature_c": np.arange(10.0),
            "forecast": hours > now,
        }
    )


def test_forecast_is_dashed_after_the_last_observation_with_the_future_shaded_and_today_marked() -> None:
    now = dt.datetime(2024, 6, 3, 12)
    figure = make_consumption_figure(
        _frame(dt.date(2024, 6, 3)),
        resolution="hh",
        fuel="power",
        temperature=_temperature(now),
        temperature_label="Temperature at london",
        now_local=now,
    )
    observed, forecast = (t for t in figure.data if t.legendgroup == "temperature")
    assert observed.line.dash is None and forecast.line.dash == "dash"
    assert (observed.name, forecast.name) == ("Temperature", "Forecast") and forecast.yaxis == "y2"
    assert observed.line.color == "#2563eb"  # temperature is the blue line, consumption another colour
    assert figure.data[0].line.color != observed.line.color
    assert figure.layout.yaxis2.overlaying is None  # its own panel below consumption, not the same plot area
    assert figure.layout.yaxis2.domain[1] < figure.layout.yaxis.domain[0]
    assert forecast.x[0] == observed.x[-1]  # the forecast starts where the observations end
    assert figure.layout.yaxis2.title.text == "°C"
    shapes = {s.name: s for s in figure.layout.shapes}
    assert pd.Timestamp(shapes["future"].x0) == pd.Timestamp(now) and shapes["future"].type == "rect"
    assert shapes["today"].type == "line"
    assert "today" in [a.text for a in figure.layout.annotations]


def weighted_temperature_figure(label: str) -> go.Figure:
    """An hourly portfolio day with the consumption-weighted temperature labelled ``label``."""
    return make_consumption_figure(
        _frame(dt.date(2024, 6, 3), "hour"),
        resolution="hour",
        fuel="power",
        portfolio=True,
        temperature=_temperature(dt.datetime(2024, 6, 4)),
        temperature_label=label,
    )


def test_the_weighted_mean_temperature_is_labelled_as_such() -> None:
    label = "Consumption-weighted mean temperature (2 locations: bedford, london)"
    figure = weighted_temperature_figure(label)
    temperature = next(t for t in figure.data if t.name == "Temperature")
    assert (
        list(temperature.meta) == [label] and "%{meta[0]}" in temperature.hovertemplate
    )  # in the hover, not the legend
    assert "1 site reporting" in figure.data[0].customdata[0][1]


def test_last_year_is_a_faint_line_and_stacks_are_stacked_bars() -> None:
    frame = _frame(dt.date(2024, 6, 3), "hour")
    last_year = frame[["local_time"]].assign(energy_kwh=1.0)
    stack = {"Site A": frame["energy_kwh"] * 0.6, "Other 3 sites": frame["energy_kwh"] * 0.4}
    figure = make_consumption_figure(frame, resolution="hour", fuel="power", last_year=last_year, stack=stack)
    assert [t.name for t in figure.data] == ["Site A", "Other 3 sites", "Last year"]
    assert figure.layout.barmode == "stack"
    assert figure.layout.bargap == 0 and figure.data[0].marker.line.width == 0  # no white stripes


def test_load_profile_heat_map_keeps_missing_cells_empty() -> None:
    profile = pd.DataFrame(np.ones((7, 24)), index=range(7), columns=range(24))
    profile.iloc[6, 3] = np.nan
    figure = make_load_profile_figure(profile)
    assert figure.data[0].z[6][3] is None and figure.data[0].y[0] == "Mon" and len(figure.data[0].x) == 24
