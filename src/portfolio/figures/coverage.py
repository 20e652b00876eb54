"""Coverage on the consumption graph: partial buckets, the estimate for missing sites, the sites-reporting strip.

Frames are the consumption frame (see ``figures.consumption``) with, for a portfolio, ``sites_total``,
``sites_complete``, ``sites_partial``, ``sites_missing``, ``sites_modelled_gap``, ``sites_unmodelled_gap``,
``estimated_kwh``, ``lower_kwh``, ``upper_kwh``, ``sites_estimated``; for one site ``intervals`` and
``expected_intervals``. The estimate is a separate, hatched, labelled segment on top of the metered total:
it is never merged into the metered numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

import numpy as np
import pandas as pd

from portfolio.figures.style import Trace, bucket_values, day_bar, scatter

MISSING_COLOUR = "#db2777"
MISSING_FILL = "rgba(219, 39, 119, 0.22)"
MISSING_BAND = "rgba(219, 39, 119, 0.12)"
REPORTING_FULL = "#94a3b8"
REPORTING_SHORT = "#f59e0b"


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def interval_word(resolution: str, expected: int) -> str:
    """'half hours' or 'hours': what a bucket's expected intervals are counted in."""
    if resolution == "hh" or (resolution == "hour" and expected == 2) or (resolution == "day" and expected > 25):
        return "half hours"
    return "hours"


def is_partial(frame: pd.DataFrame) -> np.ndarray:
    """Buckets that have a metered value but miss some of their intervals (a site) or some sites (a portfolio)."""
    has = frame["energy_kwh"].notna().to_numpy()
    if "sites_total" in frame:
        short = (frame["sites_partial"].fillna(0) + frame["sites_missing"].fillna(0)).to_numpy() > 0
        return has & short
    if "expected_intervals" in frame:
        return has & (frame["intervals"].to_numpy() < frame["expected_intervals"].to_numpy())
    return np.zeros(len(frame), dtype=bool)


def coverage_text(frame: pd.DataFrame, resolution: str) -> list[str]:
    """Per bucket: '7 of 8 sites reporting · 1 estimated (model)' or '23 of 48 half hours' (empty: nothing to say)."""
    if "sites_total" in frame:
        columns = ("sites_total", "sites_complete", "sites_partial", "sites_estimated", "sites_unmodelled_gap")
        said: dict[tuple[int, ...], str] = {}  # a month of hours has a few dozen distinct counts: each said once
        texts = []
        for counts in zip(*(frame[c].fillna(0).to_numpy(dtype=np.int64).tolist() for c in columns), strict=True):
            text = said.get(counts)
            if text is None:
                total, complete, partial, estimated, unmodelled = counts
                parts = [f"{complete} of {total} sites reporting"]
                if partial:
                    parts.append(f"{partial} partial")
                if estimated:
                    parts.append(f"{estimated} estimated (model)")
                if unmodelled:
                    parts.append(f"{unmodelled} not estimated (no model)")
                text = said[counts] = " · ".join(parts)
            texts.append(text)
        return texts
    if "expected_intervals" in frame:
        return [
            f"{int(got)} of {int(want)} {interval_word(resolution, int(want))}" if 0 < got < want else ""
            for got, want in zip(frame["intervals"], frame["expected_intervals"], strict=True)
        ]
    return [""] * len(frame)


def missing_estimate_traces(frame: pd.DataFrame, resolution: str) -> list[Trace]:
    """The 'estimated for N missing sites' segment on top of the metered total, with its 90 % band."""
    if "estimated_kwh" not in frame or not frame["estimated_kwh"].notna().any():
        return []
    sites = int(frame["sites_estimated"].max())
    name = f"Estimated for {_plural(sites, 'missing site')}"
    estimate = frame["estimated_kwh"]
    custom = np.column_stack(
        [
            frame["label"].to_numpy(dtype=object),
            np.array(coverage_text(frame, resolution), dtype=object),
            frame["lower_kwh"].to_numpy(dtype=np.float64),
            frame["upper_kwh"].to_numpy(dtype=np.float64),
        ]
    )
    hover = (
        "%{customdata[0]}<br><b>+%{y:,.2f} kWh estimated (model, not metered)</b>"
        "<br>90 %: %{customdata[2]:,.2f}–%{customdata[3]:,.2f} kWh<br>%{customdata[1]}<extra></extra>"
    )
    if resolution == "day":
        return [
            day_bar(
                bucket_values(estimate),
                x=frame["local_time"].to_numpy(),
                name=name,
                legendgroup="missing",
                customdata=custom,
                hovertemplate=hover,
                marker={
                    "color": MISSING_FILL,
                    "line": {"color": MISSING_COLOUR, "width": 1},
                    "pattern": {"shape": "x", "fgcolor": MISSING_COLOUR, "size": 5},
                },
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": bucket_values((frame["upper_kwh"] - estimate).clip(lower=0)),
                    "arrayminus": bucket_values((estimate - frame["lower_kwh"]).clip(lower=0)),
                    "color": MISSING_COLOUR,
                    "thickness": 1,
                    "width": 3,
                },
            )
        ]
    base = frame["energy_kwh"].fillna(0).where(estimate.notna())
    total = base + estimate
    band = {"mode": "lines", "line": {"width": 0}, "connectgaps": False, "hoverinfo": "skip", "legendgroup": "missing"}
    return [
        scatter(
            x=frame["local_time"].to_numpy(),
            y=bucket_values(base + frame["lower_kwh"]),
            showlegend=False,
            name="band",
            **band,
        ),
        scatter(
            x=frame["local_time"].to_numpy(),
            y=bucket_values(base + frame["upper_kwh"]),
            fill="tonexty",
            fillcolor=MISSING_BAND,
            showlegend=False,
            name="Estimate band",
            **band,
        ),
        scatter(
            x=frame["local_time"].to_numpy(),
            y=bucket_values(total),
            name=name,
            legendgroup="missing",
            mode="lines",
            connectgaps=False,
            line={"color": MISSING_COLOUR, "width": 1.5, "dash": "dash"},
            customdata=np.column_stack([custom, frame["estimated_kwh"].to_numpy(dtype=np.float64)]),
            hovertemplate=(
                "%{customdata[0]}<br><b>%{y:,.2f} kWh with estimate</b> (+%{customdata[4]:,.2f} kWh model, "
                "not metered)<br>90 %: +%{customdata[2]:,.2f}–%{customdata[3]:,.2f} kWh<br>%{customdata[1]}"
                "<extra></extra>"
            ),
        ),
    ]


def bucket_edges(local_time: np.ndarray) -> np.ndarray:
    """The n + 1 edges of n buckets drawn centred on their starts, as plotly centres bars: halfway between
    neighbouring starts, and half a neighbour's width beyond the first and the last (one bucket: an hour wide)."""
    starts = np.asarray(local_time, dtype="datetime64[ns]")
    if len(starts) == 1:
        half = np.timedelta64(30, "m")
        return np.array([starts[0] - half, starts[0] + half])
    middles = starts[:-1] + (starts[1:] - starts[:-1]) / 2
    return np.concatenate([[starts[0] - (middles[0] - starts[0])], middles, [starts[-1] + (starts[-1] - middles[-1])]])


def step_outline(edges: np.ndarray, heights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One closed outline of bars of ``heights`` between ``edges``, on the zero line: x, y of 2n + 2 points.

    A filled outline is one SVG path; plotly draws a bar trace as one path per bar, and a month of half-hour bars
    took Chromium ~150 ms of a graph's ~200 ms to draw (measured with the same figure with and without them).
    """
    x = np.concatenate([[edges[0]], np.repeat(edges, 2)[1:-1], [edges[-1]]])
    y = np.concatenate([[0.0], np.repeat(np.asarray(heights, dtype=np.float64), 2), [0.0]])
    return x, y


def reporting_traces(frame: pd.DataFrame, resolution: str) -> list[Trace]:
    """Sites reporting per bucket on their own thin axis (y3): grey when all report, amber when some do not.

    Drawn as two filled outlines (all buckets grey, the short ones amber over them) and one line of width 0 through
    the buckets that carries the hover text ("Sites reporting": one point per bucket).
    """
    if "sites_total" not in frame or not len(frame):
        return []
    complete = frame["sites_complete"].to_numpy(dtype=np.float64)
    short = ((frame["sites_complete"] < frame["sites_total"]) & frame["energy_kwh"].notna()).to_numpy()
    edges = bucket_edges(frame["local_time"].to_numpy())
    outline = {"yaxis": "y3", "mode": "lines", "line": {"width": 0}, "fill": "toself", "hoverinfo": "skip"}
    traces = []
    for name, heights, colour in (
        ("all reporting", complete, REPORTING_FULL),
        ("some not reporting", np.where(short, complete, 0.0), REPORTING_SHORT),
    ):
        if not heights.any():
            continue
        x, y = step_outline(edges, heights)
        traces.append(scatter(x=x, y=y, name=name, showlegend=False, fillcolor=colour, **outline))
    traces.append(
        scatter(
            x=frame["local_time"].to_numpy(),
            y=complete,
            yaxis="y3",
            name="Sites reporting",
            showlegend=False,
            mode="lines",
            line={"width": 0},
            customdata=np.column_stack(
                [frame["label"].to_numpy(dtype=object), np.array(coverage_text(frame, resolution), dtype=object)]
            ),
            hovertemplate="%{customdata[0]}<br>%{customdata[1]}<extra></extra>",
        )
    )
    return traces


def describe_chart(title: str, frame: pd.DataFrame, totals: Mapping[str, float | None], resolution_name: str) -> str:
    """The chart in one paragraph of words (screen readers cannot read a plot)."""
    buckets = len(frame)
    reported = int(frame["energy_kwh"].notna().sum())
    parts = [f"{title}: {buckets} {resolution_name} buckets, {reported} with readings."]
    if totals["metered_kwh"] is not None:
        parts.append(f"Metered total {totals['metered_kwh']:,.0f} kWh.")
        peak = frame.loc[cast(int, frame["energy_kwh"].idxmax())]
        parts.append(f"Highest {peak['energy_kwh']:,.1f} kWh at {peak['label']}.")
    if totals["estimated_kwh"] is not None:
        parts.append(f"Estimated for missing sites (model, not metered): {totals['estimated_kwh']:,.0f} kWh.")
    if "sites_missing" in frame:
        short = int(((frame["sites_missing"] + frame["sites_partial"]) > 0).sum())
        if short:
            parts.append(f"{short} buckets have sites missing or partial.")
    elif "expected_intervals" in frame:
        partial = int(((frame["intervals"] > 0) & (frame["intervals"] < frame["expected_intervals"])).sum())
        if partial:
            parts.append(f"{partial} buckets are partial (some intervals missing).")
    return " ".join(parts)
