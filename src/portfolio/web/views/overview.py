"""The overview cards as HTML: numbers in words a screen reader can read, links straight to the graph."""

from __future__ import annotations

from collections.abc import Sequence

from dash import dcc, html

from portfolio.services.overview import FuelFigures, OverviewCard

from .. import ids
from ..components import aria

FUEL_NAMES = {"power": "Electricity", "gas": "Gas"}


def _kwh(value: float | None) -> str:
    return "no data" if value is None else f"{value:,.0f} kWh"


def _against(actual: float | None, expected: float | None) -> html.Span:
    """'+12 % vs expected' coloured by direction; nothing when either side is unknown."""
    if actual is None or expected is None or expected <= 0:
        return html.Span("no expected figure", className="muted small")
    change = actual / expected - 1
    kind = "over" if change > 0.05 else "under" if change < -0.05 else "even"
    return html.Span(
        f"{change:+.0%} vs expected",
        className=f"against against-{kind} small",
        title=f"{actual:,.0f} kWh metered against {expected:,.0f} kWh expected, over the same fully reported site-days",
    )


def _fuel_block(figures: FuelFigures, card: OverviewCard) -> html.Div:
    short = figures.sites - figures.sites_reporting
    missing = (
        html.P(
            [
                f"{short} of {figures.sites} site{'s' if figures.sites != 1 else ''} missing or partial yesterday: ",
                dcc.Link("see which", href=card.missing_link),
            ],
            className="overview-missing small",
            title=", ".join(figures.missing),
        )
        if short
        else html.P(f"All {figures.sites} sites reported yesterday.", className="muted small")
    )
    return html.Div(
        [
            html.H3(FUEL_NAMES.get(figures.fuel, figures.fuel), className="overview-fuel"),
            html.Dl(
                [
                    html.Dt("Yesterday"),
                    html.Dd(
                        [
                            html.Strong(_kwh(figures.yesterday_kwh)),
                            " ",
                            _against(figures.yesterday_kwh, figures.yesterday_expected_kwh),
                        ]
                    ),
                    html.Dt("This week"),
                    html.Dd(
                        [
                            html.Strong(_kwh(figures.week_kwh)),
                            " ",
                            _against(figures.week_kwh, figures.week_expected_kwh),
                        ]
                    ),
                    html.Dt("Reporting"),
                    html.Dd(f"{figures.sites_reporting} of {figures.sites} sites (yesterday, all half hours)"),
                ],
                className="overview-figures",
            ),
            missing,
            html.P(figures.expected_note, className="muted small") if figures.expected_note else None,
        ],
        className="overview-fuel-block",
    )


def make_card(card: OverviewCard) -> html.Article:
    last = (
        card.last_data.tz_convert("Europe/London").strftime("%a %-d %b %H:%M")
        if card.last_data is not None
        else "never"
    )
    trackers = (
        html.Ul(
            [
                html.Li(
                    [html.Strong(line.name), f" · {'over' if line.exceeded else 'near'}: {line.text}"],
                    className="tracker-over" if line.exceeded else "tracker-near",
                )
                for line in card.trackers
            ],
            className="overview-trackers small",
            **aria(label="Trackers near or over their amount"),
        )
        if card.trackers
        else None
    )
    return html.Article(
        [
            html.Header(
                [
                    html.H2(card.title),
                    html.Span(
                        f"{card.subtitle} · {card.sites} site{'s' if card.sites != 1 else ''}", className="muted small"
                    ),
                ]
            ),
            *[_fuel_block(f, card) for f in card.fuels],
            trackers,
            html.P(f"Last data received: {last} (UK time)", className="muted small"),
            dcc.Link("Open the graph →", href=card.graph_link, className="button button-secondary"),
        ],
        className="card overview-card",
        **aria(label=card.title),
    )


def make_overview_layout(cards: Sequence[OverviewCard], today_text: str) -> html.Section:
    return html.Section(
        [
            html.Div(
                [
                    html.H1("Overview"),
                    html.P(
                        [f"Yesterday and this week to {today_text}. ", dcc.Link("All sites table", href="/sites")],
                        className="muted",
                    ),
                ],
                className="page-header",
            ),
            html.Div([make_card(c) for c in cards], id=ids.OVERVIEW_CARDS, className="overview-grid"),
            html.P(
                "Expected figures come from each site's temperature model (stored fits); a site is reporting when "
                "all its half hours of the day arrived.",
                className="muted small",
            ),
        ],
        className="page overview-page",
    )
