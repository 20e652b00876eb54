"""The consumption graph: energy per bucket with gaps as gaps, estimates drawn apart, and temperature.

Inputs are frames already on a full local-time grid (see ``analytics.resolution``): ``local_time`` (naive
wall clock), ``label`` (the local time as the hover shows it, with its zone), ``energy_kwh`` (NaN = no data),
``estimated_intervals`` and ``sites_reporting``. NaN stays NaN in the figure's typed arrays, so plotly breaks the line
(``connectgaps=False``); nothing is interpolated or filled with zeros.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go

from portfolio.figures.consumption_traces import (
    consumption_traces,
    expected_traces,
    stack_traces,
    temperature_traces,
)
from portfolio.figures.coverage import missing_estimate_traces, reporting_traces
from portfolio.figures.style import (
    BAR_GAP,
    LAST_YEAR_COLOUR,
    PER_BUCKET,
    TEMPLATE,
    bucket_values,
    plain_text,
    scatter,
    unchecked_figure,
)


def make_consumption_figure(
    frame: pd.DataFrame,
    *,
    resolution: str,
    fuel: str,
    title: str = "",
    portfolio: bool = False,
    temperature: pd.DataFrame | None = None,
    temperature_label: str = "Temperature",
    last_year: pd.DataFrame | None = None,
    stack: Mapping[str, pd.Series] | None = None,
    now_local: dt.datetime | None = None,
    x_range: Sequence[object] | None = None,
    expected: pd.DataFrame | None = None,
    unestimated_sites: Sequence[str] = (),
    uirevision: str = "graph",
) -> go.Figure:
    """Energy [kWh per bucket] over local time, with optional temperature [°C] on a second axis.

    ``temperature``: local_time, label, temperature_c, forecast (bool). ``last_year``: local_time,
    energy_kwh (the same period 52 weeks earlier, on this grid). ``stack``: name -> energy per bucket
    (the biggest sites then "Other"), drawn as stacked bars instead of the total. ``now_local`` marks
    "today" and shades the future. ``expected``: local_time, expected_kwh, lower_kwh, upper_kwh (the
    models' expected consumption with its 90 % interval, drawn as a line in a shaded band). Coverage
    columns (see ``figures.coverage``) add partial buckets, the estimate for missing sites and the
    sites-reporting strip; ``unestimated_sites`` are named as not estimated. ``uirevision``: a new value resets
    the user's zoom (a different selection), the same keeps it (a refresh). Temperature has its own panel
    below consumption (y2), so the two never share a scale.
    """
    traces = stack_traces(frame, stack) if stack else consumption_traces(frame, resolution, fuel, portfolio)
    if not stack:
        traces += missing_estimate_traces(frame, resolution)
    strip = reporting_traces(frame, resolution)
    traces += strip
    if last_year is not None and last_year["energy_kwh"].notna().any():
        traces.append(
            scatter(
                x=last_year["local_time"].to_numpy(),
                y=bucket_values(last_year["energy_kwh"]),
                name="Last year",
                mode="lines",
                connectgaps=False,
                line={"color": LAST_YEAR_COLOUR, "width": 1.2, "shape": "hv" if resolution == "day" else "linear"},
                hovertemplate="Same period 52 weeks earlier: %{y:,.2f} kWh<extra></extra>",
            )
        )
    if expected is not None and expected["expected_kwh"].notna().any():
        traces += expected_traces(expected)
    has_temperature = temperature is not None and len(temperature) > 0
    if temperature is not None and has_temperature:
        traces += temperature_traces(temperature, plain_text(temperature_label))
    bottom = 0.36 if has_temperature else 0.12 if strip else 0.0
    xaxis: dict[str, object] = {"type": "date", "showspikes": True, "spikemode": "across", "spikethickness": 1}
    if bottom > 0:  # the time labels under the lowest panel, not between consumption and the panels below it
        xaxis.update(anchor="free", position=0.0)
    if x_range is not None:
        xaxis.update(range=list(x_range), autorange=False)
    layout: dict[str, object] = {
        "template": TEMPLATE,  # a small template: plotly_white costs ~40 ms to copy
        "title": {"text": plain_text(title), "x": 0.01, "xanchor": "left", "font": {"size": 15}},
        "barmode": "stack" if stack else "relative",
        "bargap": 0 if stack else BAR_GAP,
        "hovermode": "closest",
        "margin": {"l": 64, "r": 56, "t": 48, "b": 24},
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.13, "x": 0.0, "xanchor": "left", "font": {"size": 12}},
        "yaxis": {
            "title": {"text": f"kWh {PER_BUCKET[resolution]}"},
            "rangemode": "tozero",
            "fixedrange": True,
            "separatethousands": True,
            "domain": [bottom, 1.0],
        },
        "xaxis": xaxis,
        "uirevision": uirevision,
        "font": {"family": "Inter, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"},
        "meta": {"resolution": resolution},
    }
    if strip:
        sites_total = int(frame["sites_total"].max())
        layout["yaxis3"] = {
            "domain": [bottom - 0.085, bottom - 0.035],
            "range": [0, max(sites_total, 1)],
            "fixedrange": True,
            "showgrid": False,
            "zeroline": False,
            "tickvals": [sites_total],
            "ticktext": [f"{sites_total} sites"],
            "tickfont": {"size": 10},
        }
    if has_temperature:
        layout["yaxis2"] = {
            "title": {"text": "°C"},
            "domain": [0.0, 0.22 if strip else 0.26],
            "anchor": "x",
            "showgrid": True,
            "gridcolor": "#ebf0f8",
            "fixedrange": True,
            "zeroline": False,
            "tickmode": "auto",
            "nticks": 4,
            "ticksuffix": "°",
        }
    shapes, notes = _today_marks(now_local, temperature) if now_local is not None else ([], [])
    if unestimated_sites:
        notes.insert(
            0,
            {
                "x": 0,
                "y": 1,
                "xref": "paper",
                "yref": "paper",
                "xanchor": "left",
                "yanchor": "bottom",
                "yshift": -18,
                "showarrow": False,
                "text": f"Not estimated (no model): {len(unestimated_sites)} site{'s' if len(unestimated_sites) != 1 else ''}",
                "hovertext": html.escape(", ".join(unestimated_sites)),
                "font": {"size": 11, "color": "#b45309"},
            },
        )
    if shapes:
        layout["shapes"] = shapes
    if notes:
        layout["annotations"] = notes
    # one figure from one layout: each update_layout or add_shape call re-parses its paths (~5-8 ms apiece)
    return unchecked_figure(traces, layout)


def _today_marks(now_local: dt.datetime, temperature: pd.DataFrame | None) -> tuple[list[dict], list[dict]]:
    """Shapes and annotations: the future shaded to the end of the forecast, and a labelled line at now."""
    times = temperature["local_time"] if temperature is not None and len(temperature) else None
    end = times.max() if times is not None else None
    now = pd.Timestamp(now_local)
    shapes: list[dict] = []
    notes: list[dict] = []
    if times is not None and end is not None and end > now:
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": now,
                "x1": end,
                "y0": 0,
                "y1": 1,
                "layer": "below",
                "fillcolor": "rgba(148, 163, 184, 0.16)",
                "line": {"width": 0},
                "name": "future",
            }
        )
        start = min(times.min(), now)
        if (end - now) / max(end - start, pd.Timedelta(seconds=1)) > 0.12:  # room for the label beside "today"
            notes.append(
                {
                    "x": end,
                    "y": 1,
                    "xref": "x",
                    "yref": "paper",
                    "text": "forecast",
                    "showarrow": False,
                    "xanchor": "right",
                    "yanchor": "top",
                    "font": {"size": 11, "color": "#64748b"},
                }
            )
    shapes.append(
        {
            "type": "line",
            "xref": "x",
            "yref": "paper",
            "x0": now,
            "x1": now,
            "y0": 0,
            "y1": 1,
            "line": {"color": "#0f172a", "width": 1, "dash": "dot"},
            "name": "today",
        }
    )
    notes.append(
        {
            "x": now,
            "y": 1,
            "xref": "x",
            "yref": "paper",
            "text": "today",
            "showarrow": False,
            "xanchor": "right",
            "yanchor": "bottom",
            "font": {"size": 11, "color": "#0f172a"},
        }
    )
    return shapes, notes
