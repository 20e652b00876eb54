"""Expected consumption on the graph page: the model line and band, the portfolio summary, model quality.

Predictions come from models fitted in batch (``portfolio fit-models``); nothing is fitted in a request.
Up to ``MAX_EXPECTED_SITES`` sites a request sums its sites' forecasts itself; a larger portfolio that maps
to maintained scopes (the graph's ``scopes``) reads the sums the batch stored (``portfolio.services.expected_series``),
and any other larger set of sites says that expected consumption is shown for up to that many sites.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pandas as pd
from dash import dash_table, html
from sqlalchemy.orm import Session

from portfolio.analytics.expected import (
    add_expected_sums,
    compute_expected_bounds,
    compute_expected_series,
    compute_expected_sums,
    compute_expected_total,
)
from portfolio.analytics.resolution import compute_local_axis, local_midnight_ts
from portfolio.queries.expected_series import load_expected_refreshes, load_expected_sums, load_scope_members
from portfolio.queries.forecasting import load_site_model_summaries
from portfolio.queries.graphs import PORTFOLIO_ZONE, Scope
from portfolio.queries.usage import DEFAULT_INTERVAL_SECONDS
from portfolio.services import expected_series
from portfolio.services.expected import (
    EXPECTED_RANGE_NOTE,
    FORECAST_DAYS,
    FuelSummary,
    compute_portfolio_summary,
    predict_expected,
)

from .tables import make_data_table

INDEPENDENT = "site errors taken as independent"


def max_expected_sites() -> int:
    """The live limit (read at call time, so tests can lower it in one place)."""
    return expected_series.MAX_EXPECTED_SITES


def too_many() -> str:
    return f"expected consumption is shown for up to {max_expected_sites()} sites"


def pending() -> str:
    return (
        f"expected consumption of more than {max_expected_sites()} sites is precomputed in batch: it appears "
        "after the next daily run (or portfolio fit-models)"
    )


@dataclass(frozen=True)
class StoredSums:
    """Bucket sums for a large portfolio: stored per scope, plus any small unrefreshed scopes predicted now."""

    sums: pd.DataFrame  # start_ts, expected_kwh, variance_kwh2, sites
    sites_modelled: int
    refreshed_at: dt.datetime
    window: tuple[int, int]  # the range every part covers [UTC epoch s)


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)  # SQLite drops the zone


def load_stored_sums(
    session: Session,
    site_ids: Sequence[int],
    scopes: Sequence[Scope],
    fuel: str,
    resolution: str,
    lo_ts: int,
    hi_ts: int,
) -> StoredSums | None:
    """The stored sums of ``scopes`` over [lo_ts, hi_ts), or None when they are not (all) precomputed yet.

    ``site_ids`` are the graph's sites (already access-checked); scopes of the union that were never
    refreshed (e.g. an organisation linked since the last run) are predicted live when they are small.
    """
    refreshes = load_expected_refreshes(session, scopes, fuel)
    if not refreshes:
        return None
    missing = [scope for scope in scopes if scope not in refreshes]
    live_ids: list[int] = []
    if missing:
        members = load_scope_members(session, missing)
        live_ids = sorted(set(members.loc[members["fuel"] == fuel, "site_id"].astype(int)) & {int(s) for s in site_ids})
        if len(live_ids) > max_expected_sites():
            return None
    window = (max(r.lo_ts for r in refreshes.values()), min(r.hi_ts for r in refreshes.values()))
    sums = load_expected_sums(session, list(refreshes), fuel, resolution, lo_ts, hi_ts)
    modelled = sum(r.sites_modelled for r in refreshes.values())
    lo, hi = max(lo_ts, window[0]), min(hi_ts, window[1])
    if live_ids and lo < hi:
        forecasts = predict_expected(session, live_ids, lo, hi, per_local_day=resolution == "day")
        modelled += len(forecasts)
        sums = add_expected_sums(sums, compute_expected_sums(forecasts, resolution))
    return StoredSums(sums, modelled, min(_aware(r.refreshed_at) for r in refreshes.values()), window)


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(ZoneInfo(PORTFOLIO_ZONE)).strftime("%-d %b %Y %H:%M %Z")


def _day(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, ZoneInfo(PORTFOLIO_ZONE)).strftime("%-d %b %Y")


def _precomputed_series(
    session: Session,
    site_ids: Sequence[int],
    scopes: Sequence[Scope],
    fuel: str,
    resolution: str,
    lo_ts: int,
    hi_ts: int,
    time_zone: str,
) -> tuple[pd.DataFrame | None, str]:
    stored = load_stored_sums(session, site_ids, scopes, fuel, resolution, lo_ts, hi_ts)
    if stored is None:
        return None, pending()
    if stored.sites_modelled == 0:
        return None, "no site has a consumption model yet"
    if stored.sums.empty:
        return None, (
            f"expected consumption is precomputed for {_day(stored.window[0])} to {_day(stored.window[1] - 1)}"
            f" only (last computed {_when(stored.refreshed_at)})"
        )
    series = compute_expected_bounds(stored.sums)
    on_axis = compute_local_axis(lo_ts, hi_ts, resolution, time_zone).merge(series, on="start_ts", how="left")
    return on_axis, (
        f"expected consumption from the temperature models of {stored.sites_modelled} of {len(site_ids)} "
        f"sites, precomputed {_when(stored.refreshed_at)} ({INDEPENDENT})"
    )


def make_expected_series(
    session: Session,
    site_ids: Sequence[int],
    resolution: str,
    lo_ts: int,
    hi_ts: int,
    time_zone: str,
    scopes: Sequence[Scope] | None = None,
    fuel: str | None = None,
) -> tuple[pd.DataFrame | None, str]:
    """The expected series on the graph's local axis over [lo_ts, hi_ts), and a note on what it covers.

    ``scopes``: the maintained scopes whose union is exactly ``site_ids`` (graph_view's ``_scopes``), or
    None; with ``fuel`` they let a portfolio over the live limit read the precomputed sums.
    """
    if not site_ids:
        return None, ""
    if resolution == "day":  # whole local days, as stored: never a part-day total in the first or last bucket
        first, last = (dt.datetime.fromtimestamp(t, ZoneInfo(time_zone)).date() for t in (lo_ts, hi_ts - 1))
        lo_ts, hi_ts = local_midnight_ts(first, time_zone), local_midnight_ts(last + dt.timedelta(days=1), time_zone)
    if len(site_ids) > max_expected_sites():
        if scopes is None or fuel is None:
            return None, too_many()
        return _precomputed_series(session, site_ids, scopes, fuel, resolution, lo_ts, hi_ts, time_zone)
    forecasts = predict_expected(session, site_ids, lo_ts, hi_ts, per_local_day=resolution == "day")
    if not forecasts:
        return None, "no site has a consumption model yet"
    series = compute_expected_series(forecasts, resolution)
    axis = compute_local_axis(lo_ts, hi_ts, resolution, time_zone)
    on_axis = axis.merge(series, on="start_ts", how="left")
    return on_axis, f"expected consumption from the temperature models of {len(forecasts)} of {len(site_ids)} sites"


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
                f"estimated from {_sites(summary.sites_estimated)}' models"
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


def make_model_quality_table(session: Session, sites: pd.DataFrame, table_id: str) -> dash_table.DataTable:
    """Per site: model status, out-of-sample CV(RMSE) and NMBE (ASHRAE Guideline 14), or why there is none."""
    models = load_site_model_summaries(session, sites["site_id"].tolist())
    rows = []
    for site_id, name in zip(sites["site_id"], sites["name"], strict=True):
        model = models.get(int(site_id))
        if model is None:
            status, detail = "not fitted yet", "run portfolio fit-models"
        elif model.status == "ok":
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
    columns = [
        {"id": "name", "name": "Site"},
        {"id": "status", "name": "Model"},
        {"id": "cvrmse", "name": "CV(RMSE) %", "type": "numeric"},
        {"id": "nmbe", "name": "NMBE %", "type": "numeric"},
        {"id": "detail", "name": "Detail"},
    ]
    return make_data_table(
        table_id,
        columns,
        data=rows,
        page_size=10,
        padding="8px 12px",
        style_cell_conditional=[{"if": {"column_id": "detail"}, "whiteSpace": "normal", "minWidth": "260px"}],
    )


def make_stored_summary_cards(
    session: Session, site_ids: Sequence[int], scopes: Sequence[Scope], fuel: str, today_start_ts: int
) -> html.Div:
    """Over the live limit: "Expected next 7 days" from the precomputed daily sums; the other figures stay limited."""
    today = dt.datetime.fromtimestamp(today_start_ts, ZoneInfo(PORTFOLIO_ZONE)).date()
    end_ts = local_midnight_ts(today + dt.timedelta(days=FORECAST_DAYS), PORTFOLIO_ZONE)
    stored = load_stored_sums(session, site_ids, scopes, fuel, "day", today_start_ts, end_ts)
    limited = html.P(
        f"Metered and estimated-for-missing-interval figures are shown for up to {max_expected_sites()} "
        "sites; the graph shows this portfolio's metered consumption.",
        className="muted small",
    )
    if stored is None:
        return html.Div([html.P(pending().capitalize() + ".", className="muted"), limited])
    total = compute_expected_total(stored.sums)
    card = _card(
        "Expected next 7 days",
        _kwh(total[0] if total else None),
        [
            _range(total[1] if total else None),
            f"{stored.sites_modelled} of {len(site_ids)} sites have a model",
            f"precomputed {_when(stored.refreshed_at)}",
        ],
        "expected",
    )
    note = html.P(f"Ranges assume: {EXPECTED_RANGE_NOTE} (next 7 days).", className="muted small")
    return html.Div([html.Div([card], className="totals expected-totals"), note, limited])


def make_expected_panel(
    session: Session,
    sites: pd.DataFrame,
    start_ts: int,
    end_ts: int,
    today_start_ts: int,
    table_id: str,
    scopes: Sequence[Scope] | None = None,
    time_zone: str = PORTFOLIO_ZONE,
) -> html.Div:
    """The summary cards for the graph's fuel and the model-quality table of its sites.

    ``scopes``: as for :func:`make_expected_series`; over the live limit they give "Expected next 7 days"
    from the precomputed sums (``sites`` are all of one fuel).
    """
    if sites.empty:
        return html.Div()
    heading = html.H2("Expected consumption", className="section-title")
    quality = [
        html.H3("Model quality (out-of-sample backtest, ASHRAE Guideline 14)", className="subsection-title"),
        make_model_quality_table(session, sites, table_id),
    ]
    if len(sites) > max_expected_sites():
        if scopes is None:
            return html.Div(
                [heading, html.P(too_many().capitalize() + ".", className="muted"), *quality],
                className="card expected-panel",
            )
        cards = make_stored_summary_cards(
            session, [int(s) for s in sites["site_id"]], scopes, str(sites["fuel"].iloc[0]), today_start_ts
        )
        return html.Div([heading, cards, *quality], className="card expected-panel")
    frame = sites.assign(interval_seconds=sites["meter_type"].map(DEFAULT_INTERVAL_SECONDS).fillna(1800))
    (summary,) = compute_portfolio_summary(
        session, frame[["site_id", "fuel", "interval_seconds"]], start_ts, end_ts, today_start_ts, time_zone
    )
    return html.Div([heading, make_summary_cards(summary), *quality], className="card expected-panel")
