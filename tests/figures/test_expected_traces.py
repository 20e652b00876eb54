"""The expected-consumption line and its shaded interval in the consumption figure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from portfolio.figures.consumption import make_consumption_figure


def _frame() -> pd.DataFrame:
    local = pd.date_range("2026-11-20", periods=5, freq="D")
    return pd.DataFrame(
        {
            "start_ts": local.as_unit("s").asi8,
            "local_time": local,
            "label": local.strftime("%d %b"),
            "energy_kwh": [10.0, np.nan, 12.0, np.nan, np.nan],
            "sites_reporting": [1, 0, 1, 0, 0],
            "estimated_intervals": 0,
        }
    )


def test_expected_line_in_a_shaded_band_continues_past_the_readings() -> None:
    frame = _frame()
    expected = frame[["local_time"]].assign(
        expected_kwh=[9.0, 10.0, 11.0, 12.0, 13.0], lower_kwh=[7.0] * 5, upper_kwh=[15.0] * 5
    )
    figure = make_consumption_figure(frame, resolution="day", fuel="power", expected=expected)
    by_name = {trace.name: trace for trace in figure.data}
    line = by_name["Expected (temperature model)"]
    band = by_name["Expected, 90 % interval"]
    assert list(line.y) == [9.0, 10.0, 11.0, 12.0, 13.0]  # past readings and the days ahead
    assert band.fill == "tonexty" and list(band.y) == [15.0] * 5
    names = [trace.name for trace in figure.data]
    assert names.index("Expected, 90 % interval (lower)") == names.index("Expected, 90 % interval") - 1
    consumption = next(t for t in figure.data if t.name and t.name == "Metered")
    # the metered series keeps its gaps: the days without readings have no bar, expected values never fill them
    assert list(consumption.y) == [10.0, 12.0]
    assert list(consumption.x) == list(frame["local_time"].iloc[[0, 2]].to_numpy())


def test_no_expected_series_draws_no_expected_traces() -> None:
    figure = make_consumption_figure(_frame(), resolution="day", fuel="power", expected=None)
    assert not [t for t in figure.data if t.name and t.name.startswith("Expected")]
