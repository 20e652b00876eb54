"""The house look of every figure: colours, the plotly template, units per bucket, and names made plain text."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

FUEL_COLOURS = {"power": "#0f766e", "gas": "#b45309"}
PARTIAL_COLOURS = {"power": "rgba(15, 118, 110, 0.35)", "gas": "rgba(180, 83, 9, 0.35)"}
ESTIMATED_COLOUR = "#9333ea"
LAST_YEAR_COLOUR = "rgba(100, 116, 139, 0.55)"
TEMPERATURE_COLOUR = "#2563eb"
EXPECTED_COLOUR = "#334155"
EXPECTED_BAND_COLOUR = "rgba(51, 65, 85, 0.12)"
STACK_COLOURS = ["#2563eb", "#059669", "#d97706", "#db2777", "#7c3aed", "#0891b2", "#65a30d", "#ea580c"]
OTHER_COLOUR = "#94a3b8"
TEMPLATE = {
    "layout": {
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "font": {"color": "#2a3f5f"},
        "xaxis": {
            "gridcolor": "#ebf0f8",
            "linecolor": "#ebf0f8",
            "zerolinecolor": "#ebf0f8",
            "ticks": "",
            "automargin": True,
        },
        "yaxis": {
            "gridcolor": "#ebf0f8",
            "linecolor": "#ebf0f8",
            "zerolinecolor": "#ebf0f8",
            "ticks": "",
            "automargin": True,
        },
        "hoverlabel": {"align": "left"},
        "colorway": ["#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A"],
    }
}
"""A few lines of plotly_white: the full template is copied and validated on every figure (~40 ms)."""
PER_BUCKET = {"hh": "per half hour", "hour": "per hour", "day": "per day"}
FUEL_NAMES = {"power": "Electricity", "gas": "Gas"}


def plain_text(value: object) -> str:
    """Escape a stored name for Plotly, whose text is pseudo-HTML: names are data, not markup.

    ``<a href=...>`` in a site name would otherwise be drawn as a live link in a title, legend or hover label;
    ``&``, ``<`` and ``>`` become entities Plotly draws literally, and ``%`` one that hover templates do not
    expand (a name holding ``%{customdata}`` must not pull in other values).
    """
    text = str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("%", "&#37;")


def bucket_values(series: pd.Series) -> np.ndarray:
    """Values [kWh or °C] per bucket as float64 with NaN for missing: plotly sends them as a typed array and
    plotly.js draws NaN as a gap (``connectgaps=False``), never as a zero. An array is validated and encoded in
    one step, where a list of floats and None costs a check per point (~0.1 s for a month of half hours)."""
    return np.array(series.to_numpy(dtype=np.float64), dtype=np.float64, copy=True)


Trace = dict[str, Any]
"""A trace as plain plotly properties, ``{"type": "scatter", ...}``."""


def scatter(**properties: Any) -> Trace:
    return {"type": "scatter", **properties}


def bar(**properties: Any) -> Trace:
    return {"type": "bar", **properties}


BAR_GAP = 0.08
"""The gap between neighbouring bars, as a share of a bucket (the layout's ``bargap``)."""
DAY_BAR_WIDTH_MS = round((1 - BAR_GAP) * 86_400_000)
"""A daily bar's width [ms on the date axis]: a day less the gap, as plotly draws a bar when it infers the width."""


def day_bar(y: np.ndarray, *, x: np.ndarray, customdata: np.ndarray, **properties: Any) -> Trace:
    """A daily bar trace of only the days with a value (``y`` not NaN), each a day wide less the gap.

    plotly draws one SVG path per point, NaN or not: a year of a 1,000-site portfolio's metered, partial and
    estimated days was 1,460 paths for ~1,100 bars, and drawing them took most of the graph's time in the browser.
    A day without a value has no bar either way. The width is given because the spacing of the remaining bars no
    longer says it (two bars a month apart would each be a month wide). Arrays in ``error_y`` are filtered too.
    """
    keep = np.isfinite(np.asarray(y, dtype=np.float64))
    error = properties.pop("error_y", None)
    if error is not None:
        error = {k: (np.asarray(v)[keep] if k in ("array", "arrayminus") else v) for k, v in error.items()}
        properties["error_y"] = error
    return bar(
        x=np.asarray(x)[keep],
        y=np.asarray(y, dtype=np.float64)[keep],
        customdata=np.asarray(customdata)[keep],
        width=DAY_BAR_WIDTH_MS,
        **properties,
    )


def heatmap(**properties: Any) -> Trace:
    return {"type": "heatmap", **properties}


class SharedArray(np.ndarray):
    """A read-only array a figure holds by reference: plotly copies a figure's properties deeply twice per request
    (building the figure, then serialising it), and a deep copy of a trace's arrays is most of that (~14 ms of a
    year's graph, a copy per label string in the hover arrays). Read-only, so sharing it cannot change a figure."""

    def __deepcopy__(self, memo: dict[int, Any] | None = None, /) -> SharedArray:
        return self


def _shared(value: Any) -> Any:
    """``value`` with every numpy array in it (nested in dicts and lists) made a read-only :class:`SharedArray`."""
    if isinstance(value, np.ndarray):
        shared = value.view(SharedArray)
        shared.flags.writeable = False
        return shared
    if isinstance(value, dict):
        return {key: _shared(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shared(item) for item in value]
    return value


def unchecked_figure(traces: list[Trace], layout: dict[str, Any]) -> go.Figure:
    """The figure of plain traces and layout, without plotly checking every property as it is set.

    The check walks each property of each trace through its validator: ~25 ms of a month's 1,000-bucket graph and
    ~15 ms of the small load-profile heat map, on every request, for properties that are the same every time. The
    builders' names and values are checked instead by the tests, which rebuild every figure shape through the
    validating constructor (``tests/figures/test_checked.py``). Sends the same JSON as the checked figure.
    """
    return go.Figure(data=_shared(traces), layout=layout, _validate=False)


def figure_data(figure: go.Figure) -> dict[str, Any]:
    """``figure`` as the plain data plotly.js reads (``{"data": [...], "layout": {...}}``), for a callback to send.

    Dash serialises a callback's reply with plotly's JSON encoder, which hands the whole reply to orjson at once and,
    when anything in it is not plain data (a ``go.Figure``, an array of strings), walks every value in Python
    instead: ~15 ms for a month of half hours, twice when the graph is also kept. Here plotly converts the figure
    once (its float arrays to typed arrays), and what orjson cannot take as it is (arrays of strings, our shared
    arrays) becomes lists and plain arrays, so the reply is serialised in one pass.
    """
    return {key: _plain(value) for key, value in figure.to_plotly_json().items()}


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "O":
            return value.tolist()  # hover texts: str or None (a 2-D array becomes rows)
        if value.dtype.kind == "M":
            return np.datetime_as_string(value, unit="s").tolist()
        return value.view(np.ndarray)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, dt.datetime):  # pandas' Timestamp too: a shape or line at "now"
        return value.replace(tzinfo=None).isoformat()
    return value
