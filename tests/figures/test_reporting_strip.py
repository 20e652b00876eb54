"""The sites-reporting strip: filled outlines of the buckets (one SVG path each), not one bar per bucket."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from portfolio.analytics.resolution import compute_local_axis
from portfolio.figures.coverage import REPORTING_FULL, REPORTING_SHORT, bucket_edges, reporting_traces, step_outline
from portfolio.timekeeping import local_range_ts

LONDON = "Europe/London"


def test_bucket_edges_centre_each_bucket_on_its_start_as_bars_are() -> None:
    days = compute_local_axis(*local_range_ts(dt.date(2024, 10, 26), dt.date(2024, 10, 28), LONDON), "day", LONDON)
    starts = days["local_time"].to_numpy()  # local midnights: 24 h apart on the axis, whatever the clock did
    edges = bucket_edges(starts)
    assert len(edges) == len(starts) + 1
    assert list(edges[1:-1]) == list(starts[:-1] + (starts[1:] - starts[:-1]) / 2)
    assert edges[0] == starts[0] - np.timedelta64(12, "h") and edges[-1] == starts[-1] + np.timedelta64(12, "h")
    one = bucket_edges(starts[:1])
    assert list(one) == [starts[0] - np.timedelta64(30, "m"), starts[0] + np.timedelta64(30, "m")]


def test_a_step_outline_draws_each_bucket_at_its_height_between_its_edges() -> None:
    edges = np.array(["2024-01-01T00:00", "2024-01-01T01:00", "2024-01-01T02:00"], dtype="datetime64[ns]")
    x, y = step_outline(edges, np.array([3.0, 0.0]))
    assert list(x) == [edges[0], edges[0], edges[1], edges[1], edges[2], edges[2]]
    assert list(y) == [0.0, 3.0, 3.0, 0.0, 0.0, 0.0]


def test_the_strip_is_grey_where_all_report_amber_where_some_do_not_and_hovers_per_bucket() -> None:
    axis = compute_local_axis(*local_range_ts(dt.date(2024, 3, 30), dt.date(2024, 3, 31), LONDON), "hour", LONDON)
    n = len(axis)  # 47 hours: the clocks went forward
    complete = np.where(np.arange(n) % 10 == 3, 2, 3)
    frame = axis.assign(
        energy_kwh=1.0,
        sites_total=3,
        sites_complete=complete,
        sites_partial=0,
        sites_missing=3 - complete,
        sites_modelled_gap=0,
        sites_unmodelled_gap=0,
        sites_estimated=0,
    )
    grey, amber, hover = reporting_traces(frame, "hour")
    assert (grey["fillcolor"], amber["fillcolor"]) == (REPORTING_FULL, REPORTING_SHORT)
    assert len(grey["x"]) == len(amber["x"]) == 2 * n + 2  # one outline each, whatever the number of buckets
    amber_heights = amber["y"][1:-1:2]
    assert list(amber_heights) == [2.0 if c == 2 else 0.0 for c in complete]
    assert list(grey["y"][1:-1:2]) == list(complete.astype(float))
    assert hover["name"] == "Sites reporting" and hover["yaxis"] == "y3" and len(hover["y"]) == n
    assert [str(text) for text in hover["customdata"][:, 1]][3:5] == [
        "2 of 3 sites reporting",
        "3 of 3 sites reporting",
    ]
    assert grey["hoverinfo"] == amber["hoverinfo"] == "skip"


def test_no_amber_outline_when_every_site_reports() -> None:
    axis = compute_local_axis(*local_range_ts(dt.date(2024, 6, 1), dt.date(2024, 6, 1), LONDON), "hour", LONDON)
    frame = axis.assign(
        energy_kwh=1.0, sites_total=2, sites_complete=2, sites_partial=0, sites_estimated=0, sites_unmodelled_gap=0
    )
    names = [trace["name"] for trace in reporting_traces(frame, "hour")]
    assert names == ["all reporting", "Sites reporting"]
    assert reporting_traces(pd.DataFrame({"local_time": [], "energy_kwh": []}), "hour") == []
