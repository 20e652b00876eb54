"""In Chromium on the demo: a missing site estimated and labelled, a partial day drawn as partial, the overview
for a customer and a broker, and the Graphs page at 1440 and 390 px wide, all without console errors.

Screenshots go to the ``screenshot_dir`` fixture's folder (``docs/screenshots/`` only when refreshing them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from portfolio.models import DailyUsage, Site
from portfolio.services.demo import demo_logins
from portfolio.services.expected import fit_due_models
from portfolio.timekeeping import local_today
from portfolio.web import ids
from tests.e2e.conftest import copy_demo, open_page, serve
from tests.e2e.test_graphs import GraphApp

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CUSTOMER = "customer@demo.portfolio.example"  # Granta: eight power sites, one short of data in the last month
CAFES = "customer2@demo.portfolio.example"  # Kettle & Crumb: a café without a model is named, not estimated
BROKER = "broker@demo.portfolio.example"
ADMIN = "admin@demo.portfolio.example"
TRACE_NAMES = "Array.from(document.querySelector('#graph-figure .js-plotly-plot').data, t => t.name || '')"


@pytest.fixture(scope="module")
def app(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphApp]:
    settings = copy_demo(demo_template, tmp_path_factory, "coverage")
    passwords = {item["email"]: item["password"] for item in demo_logins(settings)}
    with serve(settings) as (base_url, session_factory):
        fit_due_models(session_factory)  # stored fits: the missing sites are estimated from them
        yield GraphApp(base_url, session_factory, passwords)


@pytest.fixture
def wide(browser: Browser, app: GraphApp) -> Iterator[tuple[Page, list[str]]]:
    with open_page(browser, app.base_url, height=1000) as watched:
        watched.page.set_viewport_size({"width": 1440, "height": 1000})
        yield watched.page, watched.errors


def _sign_in(page: Page, app: GraphApp, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(app.passwords[email])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{app.base_url}/")


def _daily(page: Page) -> None:
    page.locator(f"#{ids.GRAPH_GRANULARITY} label", has_text="Daily").click()
    expect(page.locator(f"#{ids.GRAPH_FIGURE} .gtitle")).to_contain_text("Daily", timeout=30_000)
    page.wait_for_timeout(500)


def _range(days: int, end: dt.date | None = None) -> str:
    last = end or local_today() - dt.timedelta(days=1)
    return f"from={(last - dt.timedelta(days=days - 1)).isoformat()}&to={last.isoformat()}"


def test_a_missing_site_is_estimated_and_labelled_at_1440_px(
    wide: tuple[Page, list[str]], app: GraphApp, screenshot_dir: Path
) -> None:
    page, errors = wide
    _sign_in(page, app, CUSTOMER)
    page.goto(f"/graphs?group=all&{_range(30)}&fuel=power")
    expect(page.locator(f"#{ids.GRAPH_FIGURE} .gtitle")).to_be_visible(timeout=30_000)
    _daily(page)
    names = page.evaluate(TRACE_NAMES)
    assert any(name.startswith("Estimated for ") and "missing site" in name for name in names), names
    assert "Sites reporting" in names and "Temperature" in names
    expect(page.locator(f"#{ids.GRAPH_SUMMARY}")).to_contain_text("Estimated for missing sites")
    page.screenshot(path=str(screenshot_dir / "graphs-missing-site-estimated-1440.png"), full_page=True)
    assert errors == []


def test_a_site_without_a_model_is_named_as_not_estimated(wide: tuple[Page, list[str]], app: GraphApp) -> None:
    page, errors = wide
    _sign_in(page, app, CAFES)
    page.goto(f"/graphs?group=all&{_range(30)}&fuel=power")
    expect(page.locator(f"#{ids.GRAPH_NOTE}")).to_contain_text("not estimated (no model)", timeout=30_000)
    assert errors == []


def test_graphs_page_fits_a_390_px_phone(browser: Browser, app: GraphApp, screenshot_dir: Path) -> None:
    with open_page(browser, app.base_url, height=900) as watched:
        page = watched.page
        page.set_viewport_size({"width": 390, "height": 900})
        _sign_in(page, app, CUSTOMER)
        page.goto(f"/graphs?group=all&{_range(30)}&fuel=power")
        expect(page.locator(f"#{ids.GRAPH_FIGURE} .gtitle")).to_be_visible(timeout=30_000)
        page.wait_for_timeout(800)
        width = page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=str(screenshot_dir / "graphs-390.png"), full_page=True)
        assert width <= 390, f"the page is {width} px wide at 390"
        assert watched.errors == []


def test_a_partial_day_is_drawn_as_partial(wide: tuple[Page, list[str]], app: GraphApp, screenshot_dir: Path) -> None:
    page, errors = wide
    with app.session_factory() as session:
        row = session.execute(
            select(DailyUsage.site_id, DailyUsage.local_date, Site.fuel)
            .join(Site, Site.id == DailyUsage.site_id)
            .where(DailyUsage.intervals > 0, DailyUsage.intervals < 20, DailyUsage.interval_seconds == 1800)
            .order_by(DailyUsage.local_date.desc())
            .limit(1)
        ).one()
    site_id, day, fuel = int(row[0]), row[1], row[2].value
    _sign_in(page, app, ADMIN)
    page.goto(f"/graphs?group=all&{_range(14, day + dt.timedelta(days=3))}&fuel={fuel}&site={site_id}")
    expect(page.locator(f"#{ids.GRAPH_FIGURE} .gtitle")).to_be_visible(timeout=30_000)
    _daily(page)
    names = page.evaluate(TRACE_NAMES)
    assert "Partial day" in names, names
    assert f"site={site_id}" in page.url  # the chosen site stays in the address
    page.screenshot(path=str(screenshot_dir / "graphs-partial-day.png"), full_page=True)
    assert errors == []


@pytest.mark.parametrize(("email", "name"), [(CUSTOMER, "overview-customer.png"), (BROKER, "overview-broker.png")])
def test_overview_after_sign_in(
    wide: tuple[Page, list[str]], app: GraphApp, email: str, name: str, screenshot_dir: Path
) -> None:
    page, errors = wide
    _sign_in(page, app, email)
    cards = page.locator(f"#{ids.OVERVIEW_CARDS} .overview-card")
    expect(cards.first).to_be_visible(timeout=30_000)
    if email == BROKER:
        expect(page.get_by_text("Client organisation").first).to_be_visible()
        assert cards.count() >= 4  # All sites + one per client organisation
    expect(cards.first.get_by_role("link", name="Open the graph →")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / name), full_page=True)
    assert errors == []
