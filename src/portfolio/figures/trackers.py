"""A tracker's ledger as a small chart: the projection to the period's end (with its 90 % band) and the
consumption so far, per data day, against the amount.

Input: the ledger of one period (``queries.trackers.load_ledger``): ``data_day``, ``evaluated_at``,
``consumption_kwh``, ``projection_kwh``, ``projection_lower_kwh``, ``projection_upper_kwh``, ``target_kwh``.
A day evaluated more than once (restated data) shows its latest evaluation. Days never evaluated are gaps.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go

from portfolio.figures.style import EXPECTED_BAND_COLOUR, EXPECTED_COLOUR, TEMPLATE

AMOUNT_COLOUR = "#dc2626"
CONSUMPTION_COLOUR = "#2563eb"


def _values(series: pd.Series) -> list[float | None]:
    return [None if v is None or v != v else float(v) for v in series]


def make_tracker_ledger_figure(ledger: pd.DataFrame, period_start: dt.date, period_end: dt.date) -> go.Figure:
    """Projection (line, 90 % band shaded) and consumption so far per data day, with the amount as a line."""
    figure = go.Figure(layout={"template": TEMPLATE})
    latest = ledger.sort_values(["data_day", "evaluated_at"]).groupby("data_day", as_index=False).last()
    days = [pd.Timestamp(d) for d in latest["data_day"]]
    if len(latest):
        figure.add_scatter(
            x=days,
            y=_values(latest["projection_upper_kwh"]),
            mode="lines",
            line={"width": 0},
            hoverinfo="skip",
            showlegend=False,
            connectgaps=False,
        )
        figure.add_scatter(
            x=days,
            y=_values(latest["projection_lower_kwh"]),
            mode="lines",
            line={"width": 0},
            fill="tonexty",
            fillcolor=EXPECTED_BAND_COLOUR,
            name="90 % range",
            hovertemplate="90 % range from %{y:,.0f} kWh<extra></extra>",
            connectgaps=False,
        )
        figure.add_scatter(
            x=days,
            y=_values(latest["projection_kwh"]),
            mode="lines+markers",
            line={"color": EXPECTED_COLOUR},
            name="Projection to the period's end",
            hovertemplate="%{x|%a %-d %b}: projection %{y:,.0f} kWh<extra></extra>",
            connectgaps=False,
        )
        figure.add_scatter(
            x=days,
            y=_values(latest["consumption_kwh"]),
            mode="lines+markers",
            line={"color": CONSUMPTION_COLOUR, "dash": "dot"},
            name="Used so far",
            hovertemplate="%{x|%a %-d %b}: %{y:,.0f} kWh used<extra></extra>",
            connectgaps=False,
        )
        amount = latest["target_kwh"].dropna()
        if len(amount):
            figure.add_hline(
                y=float(amount.iloc[-1]),
                line={"color": AMOUNT_COLOUR, "dash": "dash"},
                annotation_text=f"amount {float(amount.iloc[-1]):,.0f} kWh",
                annotation_position="top left",
            )
    figure.update_layout(
        height=220,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        legend={"orientation": "h", "y": -0.25},
        yaxis={"title": "kWh", "rangemode": "tozero"},
        xaxis={
            "range": [
                pd.Timestamp(period_start) - pd.Timedelta(hours=12),
                pd.Timestamp(period_end) + pd.Timedelta(hours=12),
            ]
        },
        hovermode="x unified",
    )
    return figure
