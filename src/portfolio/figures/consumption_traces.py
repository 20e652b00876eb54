"""The consumption graph's traces: metered bars or lines (partial buckets apart), stacks, temperature, expected.

Values are float arrays with NaN for missing (``figures.style.bucket_values``), so plotly draws a gap, never a zero.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

import numpy as np
import pandas as pd

from portfolio.figures.coverage import coverage_text, is_partial
from portfolio.figures.style import (
    ESTIMATED_COLOUR,
    EXPECTED_BAND_COLOUR,
    EXPECTED_COLOUR,
    FUEL_COLOURS,
    OTHER_COLOUR,
    PARTIAL_COLOURS,
    STACK_COLOURS,
    TEMPERATURE_COLOUR,
    Trace,
    bar,
    bucket_values,
    day_bar,
    plain_text,
    scatter,
)
from portfolio.timekeeping import RESOLUTION_SECONDS

ESTIMATED_SHARE = 0.1
"""A bucket is drawn as "Meter estimates" when at least this share of its readings are the collector's estimates;
its hover counts any. A 1,000-site day holds ~100 estimated readings among 48,000 (0.2 %): drawn as an estimate,
every bar of a large portfolio looked estimated."""


def bucket_readings(frame: pd.DataFrame, resolution: str) -> np.ndarray:
    """Readings per bucket: counted for one site; for a portfolio (whose maintained series count reporting sites,
    not readings) its reporting sites' half hours, 48 a day (an hourly meter's share so reads half its own)."""
    if "intervals" in frame:
        return frame["intervals"].fillna(0).to_numpy(dtype=np.float64)
    per_site = RESOLUTION_SECONDS.get(resolution, RESOLUTION_SECONDS["hh"]) / RESOLUTION_SECONDS["hh"]
    return frame["sites_reporting"].fillna(0).to_numpy(dtype=np.float64) * per_site


def mostly_estimated(frame: pd.DataFrame, resolution: str) -> np.ndarray:
    """Buckets whose readings are at least :data:`ESTIMATED_SHARE` meter estimates."""
    estimated = frame["estimated_intervals"].fillna(0).to_numpy(dtype=np.float64)
    return (estimated > 0) & (estimated >= ESTIMATED_SHARE * bucket_readings(frame, resolution))


def bucket_status(frame: pd.DataFrame, portfolio: bool, resolution: str = "hh") -> list[str]:
    texts = []
    coverage = coverage_text(frame, resolution)
    readings = bucket_readings(frame, resolution)
    for energy, estimated, count, sites, covered in zip(
        frame["energy_kwh"], frame["estimated_intervals"], readings, frame["sites_reporting"], coverage, strict=True
    ):
        if energy != energy:
            texts.append(f"no data · {covered}" if covered and portfolio else "no data")
            continue
        share = f" ({100 * estimated / count:.1f} %)" if estimated and count > 1 else ""
        kind = (
            f"metered, incl. {int(estimated)} meter-estimated reading{'s' if estimated != 1 else ''}{share}"
            if estimated
            else "metered"
        )
        if not covered and portfolio:
            covered = f"{int(sites)} site{'s' if sites != 1 else ''} reporting"
        texts.append(f"{kind} · {covered}" if covered else kind)
    return texts


def consumption_traces(frame: pd.DataFrame, resolution: str, fuel: str, portfolio: bool) -> list[Trace]:
    """Metered energy: whole buckets solid, partial buckets (intervals or sites missing) lighter and dotted."""
    colour = FUEL_COLOURS.get(fuel, "#0f766e")
    estimated = mostly_estimated(frame, resolution)
    partial = is_partial(frame)
    custom = np.column_stack(
        [frame["label"].to_numpy(dtype=object), np.array(bucket_status(frame, portfolio, resolution), dtype=object)]
    )
    hover = "%{customdata[0]}<br><b>%{y:,.2f} kWh</b> · %{customdata[1]}<extra></extra>"
    x = frame["local_time"].to_numpy()
    traces: list[Trace] = []
    if resolution == "day":
        whole = frame["energy_kwh"].where(~partial & ~estimated)
        traces.append(
            day_bar(
                bucket_values(whole),
                x=x,
                name="Metered",
                marker={"color": colour},
                customdata=custom,
                hovertemplate=hover,
            )
        )
        if partial.any():
            traces.append(
                day_bar(
                    bucket_values(frame["energy_kwh"].where(partial & ~estimated)),
                    x=x,
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
                day_bar(
                    bucket_values(frame["energy_kwh"].where(estimated)),
                    x=x,
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
        scatter(
            x=x,
            y=bucket_values(frame["energy_kwh"]),
            name="Metered",
            mode="lines",
            connectgaps=False,
            line={"color": colour, "width": 1.5},
            customdata=custom,
            hovertemplate=hover,
        )
    )
    # the markers sit on the line's own points and leave the hover to it (its text says "partial" and "meter-
    # estimated" already): a 1,000-site month is partial in every hour, and each marker trace would carry the
    # whole month's hover text again
    if partial.any():
        traces.append(
            scatter(
                x=x[partial],
                y=bucket_values(frame["energy_kwh"][partial]),
                name="Partial",
                mode="markers",
                marker={"color": "white", "size": 6, "symbol": "circle-open", "line": {"color": colour, "width": 1.5}},
                hoverinfo="skip",
            )
        )
    if estimated.any():
        traces.append(
            scatter(
                x=x[estimated],
                y=bucket_values(frame["energy_kwh"][estimated]),
                name="Meter estimates",
                mode="markers",
                marker={
                    "color": "white",
                    "size": 6,
                    "symbol": "diamond-open",
                    "line": {"color": ESTIMATED_COLOUR, "width": 1.5},
                },
                hoverinfo="skip",
            )
        )
    return traces


def stack_traces(frame: pd.DataFrame, stack: Mapping[str, pd.Series]) -> list[Trace]:
    traces = []
    for n, (name, values) in enumerate(stack.items()):
        colour = (
            OTHER_COLOUR if n == len(stack) - 1 and name.startswith("Other") else STACK_COLOURS[n % len(STACK_COLOURS)]
        )
        traces.append(
            bar(
                x=frame["local_time"].to_numpy(),
                y=bucket_values(values),
                name=plain_text(name),
                marker={"color": colour, "line": {"width": 0}},
                customdata=frame["label"].to_numpy(dtype=object),
                hovertemplate=f"{plain_text(name)}<br>%{{customdata}}<br><b>%{{y:,.2f}} kWh</b><extra></extra>",
            )
        )
    return traces


def temperature_traces(temperature: pd.DataFrame, label: str) -> list[Trace]:
    """Observed as a solid line; the forecast dashed, starting from the last observation so they join."""
    observed = temperature[~temperature["forecast"]]
    forecast = temperature[temperature["forecast"]]
    if len(observed) and len(forecast):
        forecast = pd.concat([observed.tail(1), forecast])
    # the location names are data: passed as the trace's meta (escaped, once a trace, not once a point), never
    # spliced into the template
    detail = html.escape(label)
    hover = "%{customdata}<br>%{y:.1f} °C<br>%{fullData.name}, %{meta[0]}<extra></extra>"
    traces = []
    if len(observed):
        traces.append(
            scatter(
                x=observed["local_time"].to_numpy(),
                y=bucket_values(observed["temperature_c"]),
                name="Temperature",
                legendgroup="temperature",
                mode="lines",
                yaxis="y2",
                connectgaps=False,
                line={"color": TEMPERATURE_COLOUR, "width": 1.2},
                customdata=observed["label"].to_numpy(dtype=object),
                meta=[detail],
                hovertemplate=hover,
            )
        )
    if len(forecast):
        traces.append(
            scatter(
                x=forecast["local_time"].to_numpy(),
                y=bucket_values(forecast["temperature_c"]),
                name="Forecast",
                legendgroup="temperature",
                mode="lines",
                yaxis="y2",
                connectgaps=False,
                line={"color": TEMPERATURE_COLOUR, "width": 1.5, "dash": "dash"},
                customdata=forecast["label"].to_numpy(dtype=object),
                meta=[detail],
                hovertemplate=hover,
            )
        )
    return traces


def expected_traces(expected: pd.DataFrame) -> list[Trace]:
    """The band first (lower, then upper filled down to it), then the expected line on top."""
    band = {"mode": "lines", "line": {"width": 0}, "connectgaps": False, "hoverinfo": "skip"}
    return [
        scatter(
            x=expected["local_time"].to_numpy(),
            y=bucket_values(expected["lower_kwh"]),
            showlegend=False,
            legendgroup="expected",
            name="Expected, 90 % interval (lower)",
            **band,
        ),
        scatter(
            x=expected["local_time"].to_numpy(),
            y=bucket_values(expected["upper_kwh"]),
            fill="tonexty",
            fillcolor=EXPECTED_BAND_COLOUR,
            legendgroup="expected",
            name="Expected, 90 % interval",
            **band,
        ),
        scatter(
            x=expected["local_time"].to_numpy(),
            y=bucket_values(expected["expected_kwh"]),
            mode="lines",
            connectgaps=False,
            legendgroup="expected",
            name="Expected (temperature model)",
            line={"color": EXPECTED_COLOUR, "width": 1.6, "dash": "dot"},
            customdata=np.stack([expected["lower_kwh"], expected["upper_kwh"]], axis=-1),
            hovertemplate="Expected: %{y:,.2f} kWh (90 %: %{customdata[0]:,.2f}–%{customdata[1]:,.2f})<extra></extra>",
        ),
    ]
