"""In a real browser on the demo data: the portfolio graph opens daily over a year, a drag across the plot
refines it to hourly or half-hourly without a reload, and year/week/day views render with no console errors."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.models import Site, User
from portfolio.models.enums import Fuel
from portfolio.services.demo import demo_logins
from portfolio.services.expected import fit_due_models
from portfolio.timekeeping import local_today
from portfolio.web import ids
from tests.e2e.conftest import copy_demo, open_page, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LONDON_CUSTOMER = "customer2@demo.portfolio.example"  # Kettle & Crumb: London half-hourly smart meters
ADMIN = "admin@demo.portfolio.example"


@dataclass(frozen=True)
class GraphApp:
    base_url: str
    session_factory: sessionmaker[Session]
    passwords: dict[str, str]


@pytest.fixture(scope="module")
def graph_app(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphApp]:
    settings = copy_demo(demo_template, tmp_path_factory, "graphs")
    passwords = {item["email"]: item["password"] for item in demo_logins(settings)}
    with serve(settings) as (base_url, session_factory):
        with session_factory() as session:  # the London customer's models, so the graphs show the forecast
            london = list(
                session.scalars(
                    select(Site.id)
                    .join(User, User.organisation_id == Site.organisation_id)
                    .where(User.email == LONDON_CUSTOMER)
                )
            )
        fit_due_models(session_factory, site_ids=london)
        yield GraphApp(base_url, session_factory, passwords)


@pytest.fixture
def page(browser: Browser, graph_app: GraphApp) -> Iterator[tuple[Page, list[str]]]:
    with open_page(browser, graph_app.base_url, height=1000) as watched:
        yield watched.page, watched.errors


def _sign_in(page: Page, app: GraphApp, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(app.passwords[email])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{app.base_url}/")


def _open(page: Page, days: int) -> None:
    yesterday = local_today() - dt.timedelta(days=1)
    start = yesterday - dt.timedelta(days=days - 1)
    page.goto(f"/graphs?group=all&from={start.isoformat()}&to={yesterday.isoformat()}&fuel=power")


def _points(page: Page) -> int:
    """Buckets drawn: the sites-reporting strip's hover line has one point per bucket (bars only the days with a
    value)."""
    return int(
        page.evaluate(
            f"document.getElementById('{ids.GRAPH_FIGURE}').querySelector('.js-plotly-plot').data"
            ".find(t => t.name === 'Sites reporting').x.length"
        )
    )


def test_zooming_in_refines_the_resolution_without_a_reload(
    page: tuple[Page, list[str]], graph_app: GraphApp, screenshot_dir: Path
) -> None:
    browser_page, errors = page
    _sign_in(browser_page, graph_app, LONDON_CUSTOMER)
    _open(browser_page, 365)
    title = browser_page.locator(f"#{ids.GRAPH_FIGURE} .gtitle")
    expect(title).to_contain_text("Daily", timeout=20_000)
    expect(browser_page.locator(f"#{ids.GRAPH_HEATMAP} .heatmaplayer")).to_have_count(1, timeout=20_000)
    browser_page.screenshot(path=str(screenshot_dir / "graph-year.png"), full_page=True)
    daily_points = _points(browser_page)
    assert daily_points >= 360
    browser_page.evaluate("window.__sameDocument = true")

    plot = browser_page.locator(f"#{ids.GRAPH_FIGURE} .nsewdrag").first.bounding_box()
    assert plot is not None
    y = plot["y"] + plot["height"] / 2
    browser_page.mouse.move(plot["x"] + plot["width"] * 0.80, y)
    browser_page.mouse.down()
    browser_page.mouse.move(plot["x"] + plot["width"] * 0.82, y, steps=8)
    browser_page.mouse.move(plot["x"] + plot["width"] * 0.835, y, steps=8)
    browser_page.mouse.up()

    expect(title).to_contain_text("Half-hourly", timeout=20_000)
    assert _points(browser_page) != daily_points
    assert browser_page.evaluate("window.__sameDocument === true")  # no page reload happened
    assert errors == []


def test_week_and_day_views_render(page: tuple[Page, list[str]], graph_app: GraphApp, screenshot_dir: Path) -> None:
    browser_page, errors = page
    _sign_in(browser_page, graph_app, LONDON_CUSTOMER)
    for days, name, resolution in ((7, "graph-week.png", "Half-hourly"), (1, "graph-day.png", "Half-hourly")):
        _open(browser_page, days)
        expect(browser_page.locator(f"#{ids.GRAPH_FIGURE} .gtitle")).to_contain_text(resolution, timeout=20_000)
        expect(browser_page.locator(f"#{ids.GRAPH_HEATMAP} .heatmaplayer")).to_have_count(1, timeout=20_000)
        browser_page.wait_for_timeout(300)
        browser_page.screenshot(path=str(screenshot_dir / name), full_page=True)
    assert errors == []


def test_hourly_meters_are_never_shown_as_half_hours(page: tuple[Page, list[str]], graph_app: GraphApp) -> None:
    browser_page, errors = page
    _sign_in(browser_page, graph_app, ADMIN)
    _open(browser_page, 7)
    expect(browser_page.locator(f"#{ids.GRAPH_FIGURE} .gtitle")).to_contain_text("Hourly", timeout=20_000)
    expect(browser_page.locator(f"#{ids.GRAPH_NOTE}")).to_contain_text("hourly is the finest")
    assert errors == []


def test_a_second_page_load_takes_plotly_and_the_app_scripts_from_the_browser_cache(
    page: tuple[Page, list[str]], graph_app: GraphApp
) -> None:
    """plotly.js (its cartesian bundle) comes from its versioned URL, and a reload reads it and every versioned script from the browser's
    cache (no bytes over the network): a page load asks the server only for the page and its data."""
    browser_page, errors = page
    _sign_in(browser_page, graph_app, LONDON_CUSTOMER)
    for _ in range(2):
        _open(browser_page, 7)
        expect(browser_page.locator(f"#{ids.GRAPH_FIGURE} .gtitle")).to_contain_text("Half-hourly", timeout=20_000)
    fetched = browser_page.evaluate(
        "performance.getEntriesByType('resource').filter(e => e.initiatorType === 'script')"
        ".map(e => [new URL(e.name).pathname + new URL(e.name).search, e.transferSize])"
    )
    plotly = [(url, size) for url, size in fetched if "/vendor/" in url or "/plotly/" in url]
    assert [url.split("?")[0] for url, _ in plotly] == ["/assets/vendor/plotly-cartesian.min.js"], plotly
    assert "?m=" in plotly[0][0]  # its versioned URL
    versioned = [(url, size) for url, size in fetched if "?m=" in url or ".v" in url.rsplit("/", 1)[1].split("?")[0]]
    assert len(versioned) >= 10, fetched
    assert [(url, size) for url, size in versioned if size > 0] == []  # all from the cache on the second load
    assert errors == []


def _graph_requests(sent: list[str]) -> dict[str, int]:
    """How many requests each of the graph, profile and panel callbacks got, and the selection callback."""
    outputs = {
        "graph": f"{ids.GRAPH_FIGURE}.figure",
        "profile": f"{ids.GRAPH_HEATMAP}.figure",
        "panel": f"{ids.GRAPH_EXPECTED}.children",
        "selection": f"{ids.GRAPH_SITE}.options",
    }
    return {name: sum(output in request for request in sent) for name, output in outputs.items()}


def test_one_request_per_graph_for_a_page_load_a_range_and_a_fuel_toggle(
    page: tuple[Page, list[str]], graph_app: GraphApp
) -> None:
    """The graph, profile and panel are asked for once per user action. A fuel toggle goes to them at once, with no
    selection callback before them (that was a second server round on every toggle); it shows the whole portfolio's
    gas, as it did, and the URL follows. A range button goes through the selection callback, which offers the sites."""
    browser_page, errors = page
    _sign_in(browser_page, graph_app, ADMIN)
    with graph_app.session_factory() as session:
        power_site = session.scalars(select(Site.id).where(Site.fuel == Fuel.POWER).order_by(Site.id)).first()
    sent: list[str] = []
    browser_page.on(
        "request",
        lambda request: (
            sent.append(json.loads(request.post_data or "{}").get("output", ""))
            if "/_dash-update-component" in request.url
            else None
        ),
    )
    yesterday = local_today() - dt.timedelta(days=1)
    start = yesterday - dt.timedelta(days=29)
    browser_page.goto(f"/graphs?group=all&from={start}&to={yesterday}&fuel=power&site={power_site}")
    title = browser_page.locator(f"#{ids.GRAPH_FIGURE} .gtitle")
    expect(title).to_contain_text("Electricity", timeout=20_000)
    expect(title).not_to_contain_text("Whole portfolio")  # the linked site
    expect(browser_page.locator(f"#{ids.GRAPH_HEATMAP} .heatmaplayer")).to_have_count(1, timeout=20_000)
    browser_page.wait_for_timeout(500)  # nothing else on its way
    assert _graph_requests(sent) == {"graph": 1, "profile": 1, "panel": 1, "selection": 1}, sent
    nav = browser_page.locator(".top-nav")  # the page on screen is marked in the browser, with no request for it
    expect(nav.get_by_role("link", name="Graphs", exact=True)).to_have_class(re.compile(r"\bactive\b"))
    expect(nav.get_by_role("link", name="Portfolio", exact=True)).not_to_have_class(re.compile(r"\bactive\b"))
    assert not any(ids.NAV_LINK in request for request in sent), sent

    sent.clear()
    browser_page.locator(f"#{ids.GRAPH_FUEL} label", has_text="Gas").click()
    expect(title).to_contain_text("Whole portfolio · Gas", timeout=20_000)
    expect(browser_page).to_have_url(re.compile(r"fuel=gas"))
    assert "site=" not in browser_page.url
    browser_page.wait_for_timeout(500)
    assert _graph_requests(sent) == {"graph": 1, "profile": 1, "panel": 1, "selection": 0}, sent

    sent.clear()
    browser_page.get_by_role("button", name="7 days").click()
    expect(browser_page).to_have_url(re.compile(rf"from={yesterday - dt.timedelta(days=6)}&to={yesterday}&fuel=gas"))
    expect(title).to_contain_text("Whole portfolio · Gas · Hourly", timeout=20_000)
    browser_page.wait_for_timeout(500)
    assert _graph_requests(sent) == {"graph": 1, "profile": 1, "panel": 1, "selection": 1}, sent
    assert errors == []


DASH_IDLE = Path(__file__).resolve().parents[2] / "benchmarks" / "dash_idle.js"
"""The benchmarks' timer (page_speed.py, load.py): it must see Plotly's draws, or a view's time ends at the replies."""


def _dash_idle(page: Page, count_before: int) -> dict[str, float]:
    """window.__dashIdle once no request nor draw has been in progress for 600 ms (as page_speed.py waits)."""
    for _ in range(400):
        state: dict[str, float] = page.evaluate("({...window.__dashIdle, now: performance.now()})")
        busy = state["pending"] + state["drawing"]
        if state["count"] > count_before and busy == 0 and state["now"] - state["last"] >= 600:
            return state
        page.wait_for_timeout(50)
    raise AssertionError(f"Dash never went idle: {state}")


def test_the_benchmarks_timer_ends_after_plotly_has_drawn_the_graph(
    page: tuple[Page, list[str]], graph_app: GraphApp
) -> None:
    """The page-speed timer counts Plotly's draws (dcc.Graph calls the global Plotly): a fuel toggle's time ends
    after the gas graph's title is on the page, not when the replies' headers arrive (Plotly drew after those in
    about half the runs, which made the instant floor look twice as fast as it is)."""
    browser_page, errors = page
    browser_page.add_init_script(path=str(DASH_IDLE))
    _sign_in(browser_page, graph_app, ADMIN)
    _open(browser_page, 30)
    opened = _dash_idle(browser_page, 0)
    assert opened["draws"] >= 2, opened  # the graph and the load profile
    assert "Electricity" in (browser_page.locator(f"#{ids.GRAPH_FIGURE} .gtitle").text_content() or "")

    browser_page.evaluate(  # when the gas graph's title appears [performance.now() ms]
        "() => { window.__gasTitleAt = null; new MutationObserver(() => {"
        " const title = document.querySelector('#graph-figure .gtitle');"
        " if (window.__gasTitleAt === null && title && title.textContent.includes('Gas'))"
        " window.__gasTitleAt = performance.now(); }).observe(document.body, {subtree: true, childList: true,"
        " characterData: true}); }"
    )
    browser_page.locator(f"#{ids.GRAPH_FUEL} label", has_text="Gas").click()
    toggled = _dash_idle(browser_page, int(opened["count"]))
    title_at = browser_page.evaluate("window.__gasTitleAt")
    assert toggled["draws"] > opened["draws"], toggled
    assert title_at is not None and toggled["last"] >= title_at, (toggled, title_at)
    assert errors == []
