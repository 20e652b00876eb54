"""The ledger chart: projection with its band and consumption so far per data day, against the amount."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from portfolio.figures.trackers import make_tracker_ledger_figure
from portfolio.web.static_cache import CARTESIAN_TRACES


def _ledger() -> pd.DataFrame:
    rows = [  # Thursday evaluated twice: the restated figure (the later one) is the one shown
        (dt.datetime(2026, 12, 2, 6), dt.date(2026, 12, 1), 3_000.0, 12_500.0, 11_900.0, 13_100.0),
        (dt.datetime(2026, 12, 3, 6), dt.date(2026, 12, 2), 5_100.0, 12_900.0, 12_300.0, 13_500.0),
        (dt.datetime(2026, 12, 3, 15), dt.date(2026, 12, 2), 4_600.0, 11_600.0, 11_100.0, 12_100.0),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "evaluated_at",
            "data_day",
            "consumption_kwh",
            "projection_kwh",
            "projection_lower_kwh",
            "projection_upper_kwh",
        ],
    )
    frame["target_kwh"] = 12_000.0
    return frame


def test_the_latest_evaluation_of_each_day_is_drawn_with_its_band_and_the_amount() -> None:
    figure = make_tracker_ledger_figure(_ledger(), dt.date(2026, 11, 30), dt.date(2026, 12, 6))
    upper, lower, projection, used = figure.data
    assert list(projection.y) == [12_500.0, 11_600.0]
    assert list(lower.y) == [11_900.0, 11_100.0] and lower.fill == "tonexty" and list(upper.y) == [13_100.0, 12_100.0]
    assert list(used.y) == [3_000.0, 4_600.0]
    [amount] = figure.layout.shapes
    assert amount.y0 == amount.y1 == 12_000.0
    assert figure.layout.annotations[0].text == "amount 12,000 kWh"
    assert {trace.type for trace in figure.data} <= CARTESIAN_TRACES  # what the pages' plotly.js bundle can draw


def test_an_empty_ledger_is_an_empty_chart() -> None:
    empty = pd.DataFrame(columns=_ledger().columns)
    assert make_tracker_ledger_figure(empty, dt.date(2026, 11, 30), dt.date(2026, 12, 6)).data == ()
