"""The consumption graph: energy per bucket with gaps as gaps, estimates drawn apart, and temperature.

Inputs are frames already on a full local-time grid (see ``analytics.resolution``): ``local_time`` (naive
wall clock), ``label`` (the local time as the hover shows it, with its zone), ``energy_kwh`` (NaN = no data),
``estimated_intervals`` and ``sites_reporting``. NaN becomes None in the figure, so plotly breaks the line
(``connectgaps=False``); nothing is interpolated or filled with zeros.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go

from portfolio.figures.consumption_traces import (
    bucket_values,
    consumption_traces,
    expected_traces,
    stack_traces,
    temperature_traces,
)
from portfolio.figures.coverage import missing_estimate_traces, reporting_traces
from portfolio.figures.style import (
    LAST_YEAR_COLOUR,
    PER_BUCKET,
    TEMPLATE,
    plain_text,
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
) -> go.Figure:
    """Energy [kWh per bucket] over local time, with optional temperature [°C] on a second axis.

    ``temperature``: local_time, label, temperature_c, forecast (bool). ``last_year``: local_time,
    energy_kwh (the same period 52 weeks earlier, on this grid). ``stack``: name -> energy per bucket
    (the biggest sites then "Other"), drawn as stacked bars instead of the total. ``now_local`` marks
    "today" and shades the future. ``expected``: local_time, expected_kwh, lower_kwh, upper_kwh (the
    models' expected consumption with its 90 % interval, drawn as a line in a shaded band). Coverage
    columns (see ``figures.coverage``) add partial buckets, the estimate for missing sites and the
    sites-reporting strip; ``unestimated_sites`` are named as not estimated. Temperature has its own panel
    below consumption (y2), so the two never share a scale.
    """
    figure = go.Figure(layout={"template": TEMPLATE})  # a small template: plotly_white costs ~40 ms to copy
    traces = stack_traces(frame, stack) if stack else consumption_traces(frame, resolution, fuel, portfolio)
    figure.add_traces(traces)
    if not stack:
        figure.add_traces(missing_estimate_traces(frame, resolution))
    strip = reporting_traces(frame, resolution)
    figure.add_traces(strip)
    if last_year is not None and last_year["energy_kwh"].notna().any():
        figure.add_trace(
            go.Scatter(
                x=last_year["local_time"],
                y=bucket_values(last_year["energy_kwh"]),
                name="Last year",
                mode="lines",
                connectgaps=False,
                line={"color": LAST_YEAR_COLOUR, "width": 1.2, "shape": "hv" if resolution == "day" else "linear"},
                hovertemplate="Same period 52 weeks earlier: %{y:,.2f} kWh<extra></extra>",
            )
        )
    if expected is not None and expected["expected_kwh"].notna().any():
        figure.add_traces(expected_traces(expected))
    if temperature is not None and len(temperature):
        figure.add_traces(temperature_traces(temperature, plain_text(temperature_label)))
    unit = f"kWh {PER_BUCKET[resolution]}"
    figure.update_layout(
        title={"text": plain_text(title), "x": 0.01, "xanchor": "left", "font": {"size": 15}},
        barmode="stack" if stack else "relative",
        bargap=0 if stack else 0.08,
        hovermode="closest",
        margin={"l": 64, "r": 56, "t": 48, "b": 24},
        legend={"orientation": "h", "yanchor": "top", "y": -0.13, "x": 0.0, "xanchor": "left", "font": {"size": 12}},
        yaxis={"title": {"text": unit}, "rangemode": "tozero", "fixedrange": True, "separatethousands": True},
        xaxis={"type": "date", "showspikes": True, "spikemode": "across", "spikethickness": 1},
        uirevision="graph",
        font={"family": "Inter, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"},
        meta={"resolution": resolution},
    )
    has_temperature = temperature is not None and len(temperature) > 0
    bottom = 0.36 if has_temperature else 0.12 if strip else 0.0
    figure.update_layout(yaxis={"domain": [bottom, 1.0]})
    if bottom > 0:  # the time labels under the lowest panel, not between consumption and the panels below it
        figure.update_xaxes(anchor="free", position=0.0)
    if strip:
        sites_total = int(frame["sites_total"].max())
        figure.update_layout(
            yaxis3={
                "domain": [bottom - 0.085, bottom - 0.035],
                "range": [0, max(sites_total, 1)],
                "fixedrange": True,
                "showgrid": False,
                "zeroline": False,
                "tickvals": [sites_total],
                "ticktext": [f"{sites_total} sites"],
                "tickfont": {"size": 10},
            }
        )
    if has_temperature:
        figure.update_layout(
            yaxis2={
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
        )
    if unestimated_sites:
        figure.add_annotation(
            x=0,
            y=1,
            xref="paper",
            yref="paper",
            xanchor="left",
            yanchor="bottom",
            yshift=-18,
            showarrow=False,
            text=f"Not estimated (no model): {len(unestimated_sites)} site{'s' if len(unestimated_sites) != 1 else ''}",
            hovertext=html.escape(", ".join(unestimated_sites)),
            font={"size": 11, "color": "#b45309"},
        )
    if now_local is not None:
        _mark_today(figure, now_local, temperature)
    if x_range is not None:
        figure.update_xaxes(range=list(x_range), autorange=False)
    return figure


def _mark_today(figure: go.Figure, now_local: dt.datetime, temperature: pd.DataFrame | None) -> None:
    """Shade from now to the end of the forecast and draw a labelled line at now."""
    times = temperature["local_time"] if temperature is not None and len(temperature) else None
    end = times.max() if times is not None else None
    now = pd.Timestamp(now_local)
    if times is not None and end is not None and end > now:
        figure.add_shape(
            type="rect",
            xref="x",
            yref="paper",
            x0=now,
            x1=end,
            y0=0,
            y1=1,
            layer="below",
            fillcolor="rgba(148, 163, 184, 0.16)",
            line={"width": 0},
            name="future",
        )
        start = min(times.min(), now)
        if (end - now) / max(end - start, pd.Timedelta(seconds=1)) > 0.12:  # room for the label beside "today"
            figure.add_annotation(
                x=end,
                y=1,
                xref="x",
                yref="paper",
                text="forecast",
                showarrow=False,
                xanchor="right",
                yanchor="top",
                font={"size": 11, "color": "#64748b"},
            )
    figure.add_shape(
        type="line",
        xref="x",
        yref="paper",
        x0=now,
        x1=now,
        y0=0,
        y1=1,
        line={"color": "#0f172a", "width": 1, "dash": "dot"},
        name="today",
    )
    figure.add_annotation(
        x=now,
        y=1,
        xref="x",
        yref="paper",
        text="today",
        showarrow=False,
        xanchor="right",
        yanchor="bottom",
        font={"size": 11, "color": "#0f172a"},
    )
