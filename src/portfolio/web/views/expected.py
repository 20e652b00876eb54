"""Expected consumption on the graph page: the model line and band, the portfolio summary, model quality.

Predictions are stored in batch (``portfolio.services.expected_series``); nothing is fitted or predicted in a
request. For a portfolio of any size the panel estimates missing intervals (from the daily roll-up and, on the days
a site fell short only, its reading times and stored predictions) and the next 7 days from the stored predictions.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from dash import html
from sqlalchemy.orm import Session

from portfolio.models import ModelStatus
from portfolio.queries.expected import load_site_model_summaries
from portfolio.services.coverage import meter_interval_seconds
from portfolio.services.expected_summary import (
    FuelSummary,
    compute_portfolio_summary,
)
from portfolio.timekeeping import (
    UK_TIME_ZONE,
)

from ..components import make_data_table


def _sites(count: int) -> str:
    return f"{count} site{'s' if count != 1 else ''}"


def _kwh(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} kWh"


def _range(bounds: tuple[float, float] | None) -> str:
    return "" if bounds is None else f"90 % range {max(bounds[0], 0):,.0f}–{bounds[1]:,.0f} kWh"


def _card(title: str, value: str, lines: list[str], kind: str) -> html.Div:
    return html.Div(
        [
            html.Div(title, className="total-label"),
            html.Div(value, className="total-value"),
            *[html.Div(line, className="total-sub") for line in lines if line],
        ],
        className=f"total-card expected-card {kind}",
    )


def make_summary_cards(summary: FuelSummary) -> html.Div:
    """Metered, estimated-missing and expected-next-week figures side by side, never added together."""
    cards = [
        _card(
            "Metered",
            _kwh(summary.metered_kwh),
            [f"{summary.sites_metered} of {summary.sites} sites reported"],
            "metered",
        ),
        _card(
            "Estimated for missing intervals",
            _kwh(summary.estimated_missing_kwh),
            [
                _range(summary.estimated_missing_range_kwh),
                f"estimated from the models of {_sites(summary.sites_estimated)}"
                + (
                    f"; {_sites(summary.sites_unestimated)} without a model not estimated"
                    if summary.sites_unestimated
                    else ""
                ),
            ],
            "estimated",
        ),
        _card(
            "Expected next 7 days",
            _kwh(summary.expected_next_kwh),
            [
                _range(summary.expected_next_range_kwh),
                f"{summary.sites_forecast} of {summary.sites} sites have a model",
            ],
            "expected",
        ),
    ]
    note = html.P(
        f"Estimates are labelled and kept apart from metered data. Ranges assume: {summary.missing_range_note} "
        f"(missing intervals); {summary.expected_range_note} (next 7 days).",
        className="muted small",
    )
    return html.Div([html.Div(cards, className="totals expected-totals"), note])


def make_model_quality_table(session: Session, sites: pd.DataFrame, table_id: str) -> html.Div:
    """Per site: model status, out-of-sample CV(RMSE) and NMBE (ASHRAE Guideline 14), or why there is none."""
    models = load_site_model_summaries(session, sites["site_id"].tolist())
    rows = []
    for site_id, name in zip(sites["site_id"], sites["name"], strict=True):
        model = models.get(int(site_id))
        if model is None:
            status, detail = "not fitted yet", "run portfolio fit-models"
        elif model.status == ModelStatus.OK:
            status, detail = "ok", f"{model.resolution} model, {model.training_days} days of data"
        else:
            status, detail = model.status, model.message or ""
        rows.append(
            {
                "name": name,
                "status": status,
                "cvrmse": None if model is None or model.cvrmse_pct is None else round(model.cvrmse_pct, 1),
                "nmbe": None if model is None or model.nmbe_pct is None else round(model.nmbe_pct, 1),
                "detail": detail,
            }
        )
    columns: list[dict[str, Any]] = [
        {"id": "name", "name": "Site"},
        {"id": "status", "name": "Model"},
        {"id": "cvrmse", "name": "CV(RMSE) %", "type": "numeric"},
        {"id": "nmbe", "name": "NMBE %", "type": "numeric"},
        {"id": "detail", "name": "Detail", "wrap": True, "min_width": 260},
    ]
    return make_data_table(table_id, columns, data=rows, page_size=10)


def make_expected_panel(
    session: Session,
    sites: pd.DataFrame,
    start_ts: int,
    end_ts: int,
    today_start_ts: int,
    table_id: str,
    time_zone: str = UK_TIME_ZONE,
    as_before: int | None = None,
    sites_before: pd.DataFrame | None = None,
    version: int | None = None,
) -> html.Div:
    """The summary cards for the graph's fuel (``sites`` are all of one fuel) and the model-quality table.
    ``as_before``: while the daily run writes, the version it began with, and ``sites_before`` the sites then, when
    they differ (``services/computed_results.py``); ``version``: the data's version as the request read it."""
    if sites.empty:
        return html.Div()
    heading = html.H2("Expected consumption", className="section-title")
    quality = [
        html.H3("Model quality (out-of-sample backtest, ASHRAE Guideline 14)", className="subsection-title"),
        make_model_quality_table(session, sites, table_id),
    ]
    (summary,) = compute_portfolio_summary(
        session,
        _with_intervals(sites),
        start_ts,
        end_ts,
        today_start_ts,
        time_zone,
        as_before=as_before,
        sites_before=None if sites_before is None else _with_intervals(sites_before),
        version=version,
    )
    return html.Div([heading, make_summary_cards(summary), *quality], className="card expected-panel")


def _with_intervals(sites: pd.DataFrame) -> pd.DataFrame:
    """site_id, fuel and each site's meter interval [s], as the summary reads them."""
    return sites.assign(interval_seconds=meter_interval_seconds(sites))[["site_id", "fuel", "interval_seconds"]]
