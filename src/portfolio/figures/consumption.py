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

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from portfolio.figures.coverage import coverage_text, is_partial, missing_estimate_traces, reporting_traces

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


def _values(series: pd.Series) -> list[float | None]:
    """Floats with None for missing: plotly draws a gap, never a zero."""
    return [None if v != v else float(v) for v in series.to_numpy(dtype=np.float64)]


def _status(frame: pd.DataFrame, portfolio: bool, resolution: str = "hh") -> list[str]:
    texts = []
    coverage = coverage_text(frame, resolution)
    for energy, estimated, sites, covered in zip(
        frame["energy_kwh"], frame["estimated_intervals"], frame["sites_reporting"], coverage, strict=True
    ):
        if energy != energy:
            texts.append(f"no data · {covered}" if covered and portfolio else "no data")
            continue
        kind = (
            f"metered, incl. {int(estimated)} meter-estimated reading{'s' if estimated != 1 else ''}"
            if estimated
            else "metered"
        )
        if not covered and portfolio:
            covered = f"{int(sites)} site{'s' if sites != 1 else ''} reporting"
        texts.append(f"{kind} · {covered}" if covered else kind)
    return texts


def _consumption_traces(frame: pd.DataFrame, resolution: str, fuel: str, portfolio: bool) -> list[go.BaseTraceType]:
    """Metered energy: whole buckets solid, partial buckets (intervals or sites missing) lighter and dotted."""
    colour = FUEL_COLOURS.get(fuel, "#0f766e")
    estimated = frame["estimated_intervals"].to_numpy() > 0
    partial = is_partial(frame)
    custom = np.column_stack(
        [frame["label"].to_numpy(dtype=object), np.array(_status(frame, portfolio, resolution), dtype=object)]
    )
    hover = "%{customdata[0]}<br><b>%{y:,.2f} kWh</b> · %{customdata[1]}<extra></extra>"
    x = frame["local_time"]
    traces: list[go.BaseTraceType] = []
    if resolution == "day":
        whole = frame["energy_kwh"].where(~partial & ~estimated)
        traces.append(
            go.Bar(x=x, y=_values(whole), name="Metered", marker_color=colour, customdata=custom, hovertemplate=hover)
        )
        if partial.any():
            traces.append(
                go.Bar(
                    x=x,
                    y=_values(frame["energy_kwh"].where(partial & ~estimated)),
                    name="Partial day",
                    customdata=custom,
                    hovertemplate=hover,
                    marker={
                        "color": PARTIAL_COLOURS.get(fuel, "rgba(15, 118, 110, 0.35)"),
                        "line": {"color": colour, "width": 1},
                        "pattern": {"shape": ".", "fgcolor": colour, "size": 4},
                    },
                )
            )
        if estimated.any():
            traces.append(
                go.Bar(
                    x=x,
                    y=_values(frame["energy_kwh"].where(estimated)),
                    name="Meter estimates",
                    customdata=custom,
                    hovertemplate=hover,
                    marker={
                        "color": "rgba(147, 51, 234, 0.35)",
                        "line": {"color": ESTIMATED_COLOUR, "width": 1},
                        "pattern": {"shape": "/", "fgcolor": ESTIMATED_COLOUR, "size": 6},
                    },
                )
            )
        return traces
    traces.append(
        go.Scatter(
            x=x,
            y=_values(frame["energy_kwh"]),
            name="Metered",
            mode="lines",
            connectgaps=False,
            line={"color": colour, "width": 1.5},
            customdata=custom,
            hovertemplate=hover,
        )
    )
    if partial.any():
        traces.append(
            go.Scatter(
                x=x[partial],
                y=_values(frame["energy_kwh"][partial]),
                name="Partial",
                mode="markers",
                marker={"color": "white", "size": 6, "symbol": "circle-open", "line": {"color": colour, "width": 1.5}},
                customdata=custom[partial],
                hovertemplate=hover,
            )
        )
    if estimated.any():
        traces.append(
            go.Scatter(
                x=x[estimated],
                y=_values(frame["energy_kwh"][estimated]),
                name="Meter estimates",
                mode="markers",
                marker={
                    "color": "white",
                    "size": 6,
                    "symbol": "diamond-open",
                    "line": {"color": ESTIMATED_COLOUR, "width": 1.5},
                },
                customdata=custom[estimated],
                hovertemplate=hover,
            )
        )
    return traces


def _stack_traces(frame: pd.DataFrame, stack: Mapping[str, pd.Series]) -> list[go.BaseTraceType]:
    traces = []
    for n, (name, values) in enumerate(stack.items()):
        colour = (
            OTHER_COLOUR if n == len(stack) - 1 and name.startswith("Other") else STACK_COLOURS[n % len(STACK_COLOURS)]
        )
        traces.append(
            go.Bar(
                x=frame["local_time"],
                y=_values(values),
                name=plain_text(name),
                marker={"color": colour, "line": {"width": 0}},
                customdata=frame["label"],
                hovertemplate=f"{plain_text(name)}<br>%{{customdata}}<br><b>%{{y:,.2f}} kWh</b><extra></extra>",
            )
        )
    return traces


def _temperature_traces(temperature: pd.DataFrame, label: str) -> list[go.BaseTraceType]:
    """Observed as a solid line; the forecast dashed, starting from the last observation so they join."""
    observed = temperature[~temperature["forecast"]]
    forecast = temperature[temperature["forecast"]]
    if len(observed) and len(forecast):
        forecast = pd.concat([observed.tail(1), forecast])
    # the location names are data: passed as customdata (escaped), never spliced into the template
    detail = html.escape(label)
    hover = "%{customdata[0]}<br>%{y:.1f} °C<br>%{fullData.name}, %{customdata[1]}<extra></extra>"
    traces = []
    if len(observed):
        traces.append(
            go.Scatter(
                x=observed["local_time"],
                y=_values(observed["temperature_c"]),
                name="Temperature",
                legendgroup="temperature",
                mode="lines",
                yaxis="y2",
                connectgaps=False,
                line={"color": TEMPERATURE_COLOUR, "width": 1.2},
                customdata=np.column_stack([observed["label"].to_numpy(dtype=object), [detail] * len(observed)]),
                hovertemplate=hover,
            )
        )
    if len(forecast):
        traces.append(
            go.Scatter(
                x=forecast["local_time"],
                y=_values(forecast["temperature_c"]),
                name="Forecast",
                legendgroup="temperature",
                mode="lines",
                yaxis="y2",
                connectgaps=False,
                line={"color": TEMPERATURE_COLOUR, "width": 1.5, "dash": "dash"},
                customdata=np.column_stack([forecast["label"].to_numpy(dtype=object), [detail] * len(forecast)]),
                hovertemplate=hover,
            )
        )
    return traces


def _expected_traces(expected: pd.DataFrame) -> list[go.BaseTraceType]:
    """The band first (lower, then upper filled down to it), then the expected line on top."""
    band = {"mode": "lines", "line": {"width": 0}, "connectgaps": False, "hoverinfo": "skip"}
    return [
        go.Scatter(
            x=expected["local_time"],
            y=_values(expected["lower_kwh"]),
            showlegend=False,
            legendgroup="expected",
            name="Expected, 90 % interval (lower)",
            **band,
        ),
        go.Scatter(
            x=expected["local_time"],
            y=_values(expected["upper_kwh"]),
            fill="tonexty",
            fillcolor=EXPECTED_BAND_COLOUR,
            legendgroup="expected",
            name="Expected, 90 % interval",
            **band,
        ),
        go.Scatter(
            x=expected["local_time"],
            y=_values(expected["expected_kwh"]),
            mode="lines",
            connectgaps=False,
            legendgroup="expected",
            name="Expected (temperature model)",
            line={"color": EXPECTED_COLOUR, "width": 1.6, "dash": "dot"},
            customdata=np.stack([expected["lower_kwh"], expected["upper_kwh"]], axis=-1),
            hovertemplate="Expected: %{y:,.2f} kWh (90 %: %{customdata[0]:,.2f}–%{customdata[1]:,.2f})<extra></extra>",
        ),
    ]


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
    traces = _stack_traces(frame, stack) if stack else _consumption_traces(frame, resolution, fuel, portfolio)
    figure.add_traces(traces)
    if not stack:
        figure.add_traces(missing_estimate_traces(frame, resolution))
    strip = reporting_traces(frame, resolution)
    figure.add_traces(strip)
    if last_year is not None and last_year["energy_kwh"].notna().any():
        figure.add_trace(
            go.Scatter(
                x=last_year["local_time"],
                y=_values(last_year["energy_kwh"]),
                name="Last year",
                mode="lines",
                connectgaps=False,
                line={"color": LAST_YEAR_COLOUR, "width": 1.2, "shape": "hv" if resolution == "day" else "linear"},
                hovertemplate="Same period 52 weeks earlier: %{y:,.2f} kWh<extra></extra>",
            )
        )
    if expected is not None and expected["expected_kwh"].notna().any():
        figure.add_traces(_expected_traces(expected))
    if temperature is not None and len(temperature):
        figure.add_traces(_temperature_traces(temperature, plain_text(temperature_label)))
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
