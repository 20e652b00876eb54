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

from portfolio.figures.style import Trace, bar, bucket_values, scatter

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
        texts = []
        columns = ("sites_total", "sites_complete", "sites_partial", "sites_estimated", "sites_unmodelled_gap")
        for total, complete, partial, estimated, unmodelled in zip(
            *(frame[c].fillna(0).to_numpy(dtype=np.int64) for c in columns), strict=True
        ):
            parts = [f"{complete} of {total} sites reporting"]
            if partial:
                parts.append(f"{partial} partial")
            if estimated:
                parts.append(f"{estimated} estimated (model)")
            if unmodelled:
                parts.append(f"{unmodelled} not estimated (no model)")
            texts.append(" · ".join(parts))
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
            bar(
                x=frame["local_time"].to_numpy(),
                y=bucket_values(estimate),
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


def reporting_traces(frame: pd.DataFrame, resolution: str) -> list[Trace]:
    """Sites reporting per bucket on their own thin axis (y3): grey when all report, amber when some do not."""
    if "sites_total" not in frame or not len(frame):
        return []
    short = (frame["sites_complete"] < frame["sites_total"]) & frame["energy_kwh"].notna()
    return [
        bar(
            x=frame["local_time"].to_numpy(),
            y=frame["sites_complete"].to_numpy(dtype=np.float64),
            yaxis="y3",
            name="Sites reporting",
            showlegend=False,
            # colour by number on a two-colour scale: an array of colour names costs a check per bar
            marker={
                "color": short.to_numpy(dtype=np.float64),
                "colorscale": [
                    [0.0, REPORTING_FULL],
                    [0.5, REPORTING_FULL],
                    [0.5, REPORTING_SHORT],
                    [1.0, REPORTING_SHORT],
                ],
                "cmin": 0.0,
                "cmax": 1.0,
                "line": {"width": 0},
            },
            customdata=np.column_stack(
                [frame["label"].to_numpy(dtype=object), np.array(coverage_text(frame, resolution), dtype=object)]
            ),
            hovertemplate="%{customdata[0]}<br>%{customdata[1]}<extra></extra>",
        )
    ]


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
