"""The load profile heat map: mean consumption by local weekday and hour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go

from portfolio.figures.style import TEMPLATE, heatmap, plain_text, unchecked_figure

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
BLUES = [list(stop) for stop in plotly.colors.make_colorscale(plotly.colors.sequential.Blues)]
"""ColorBrewer's Blues, light to dark, spelled out: plotly.js's own "Blues" runs the other way."""


def make_load_profile_figure(profile: pd.DataFrame, *, title: str = "Load profile") -> go.Figure:
    """``profile``: rows weekday 0..6 (Monday first), columns local hour 0..23, mean kWh per hour (NaN = none)."""
    z = [[None if v != v else float(v) for v in row] for row in profile.to_numpy(dtype=np.float64)]
    trace = heatmap(
        z=z,
        x=[f"{h:02d}:00" for h in profile.columns],
        y=WEEKDAYS[: len(profile)],
        colorscale=BLUES,
        hoverongaps=False,
        colorbar={"title": {"text": "kWh/h"}, "thickness": 12, "outlinewidth": 0, "ticks": ""},
        hovertemplate="%{y} %{x}<br><b>%{z:,.2f} kWh</b> per hour (mean)<extra></extra>",
    )
    layout = {
        "title": {"text": plain_text(title), "x": 0.01, "xanchor": "left", "font": {"size": 15}},
        "template": TEMPLATE,
        "margin": {"l": 48, "r": 24, "t": 48, "b": 40},
        "yaxis": {"autorange": "reversed", "fixedrange": True},
        "xaxis": {"fixedrange": True, "dtick": 2},
        "font": {"family": "Inter, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"},
    }
    return unchecked_figure([trace], layout)
