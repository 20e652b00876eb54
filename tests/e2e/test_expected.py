"""In a real browser on the demo data: the graph shows the models' expected consumption as a line in a
shaded 90 % band that continues past today, and the summary keeps metered and expected figures apart."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portfolio.models import Site, User
from portfolio.services.expected import fit_due_models
from portfolio.web import ids
from tests.e2e.conftest import BrowserPage, LiveApp

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TRACE_NAMES = f"""() => Array.from(document.querySelectorAll('#{ids.GRAPH_FIGURE} .js-plotly-plot'))
    .flatMap(plot => plot._fullData.map(trace => ({{name: trace.name, fill: trace.fill || null, points: (trace.y || []).length}})))"""


def test_graph_shows_the_expected_line_and_band(browser_page: BrowserPage, live_app: LiveApp) -> None:
    customer = live_app.world.customer
    with live_app.session_factory() as session:
        organisation_id = session.scalar(select(User.organisation_id).where(User.email == customer.email))
        site_ids = list(session.scalars(select(Site.id).where(Site.organisation_id == organisation_id)))
    report = fit_due_models(live_app.session_factory, site_ids=site_ids, now=dt.datetime.now(dt.UTC))
    assert report.fitted and not report.failed

    page = browser_page.page
    page.goto("/login?next=/graphs")
    page.get_by_label("Email").fill(customer.email)
    page.get_by_label("Password").fill(customer.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(f"#{ids.GRAPH_NOTE}")).to_contain_text(
        "expected consumption from the temperature models", timeout=20_000
    )

    traces = {trace["name"]: trace for trace in page.evaluate(TRACE_NAMES)}
    line, band = traces["Expected (temperature model)"], traces["Expected, 90 % interval"]
    assert band["fill"] == "tonexty" and "Expected, 90 % interval (lower)" in traces
    consumption = traces["Metered"]
    assert line["points"] > consumption["points"]  # the expected line runs on into the forecast days
    expect(page.get_by_text("Expected next 7 days")).to_be_visible()
    expect(page.locator(f"#{ids.GRAPH_EXPECTED}").get_by_text("Metered", exact=True)).to_be_visible()
    expect(page.get_by_text("Model quality (out-of-sample backtest, ASHRAE Guideline 14)")).to_be_visible()
    assert browser_page.errors == []
