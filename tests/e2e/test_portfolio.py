"""In a real browser on the demo data: build groups, read the list and its coverage, open the missing
locations, use the fuel toggle (and see it absent on a single-fuel group), with no console errors."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import viewer_for
from portfolio.db import transaction
from portfolio.models import PortfolioGroup, Site
from portfolio.services.accounts import find_user
from portfolio.services.demo import demo_logins
from portfolio.services.groups import create_group
from portfolio.timekeeping import local_today
from portfolio.web import ids
from tests.e2e.conftest import copy_demo, open_page, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NEW_SITE = "Canary Wharf print shop (new, awaiting first reading)"


@dataclass(frozen=True)
class DemoApp:
    base_url: str
    session_factory: sessionmaker[Session]
    logins: dict[str, tuple[str, str]]  # role -> (email, password)


@pytest.fixture(scope="module")
def demo_app(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoApp]:
    settings = copy_demo(demo_template, tmp_path_factory, "portfolio")
    logins = {item["role"]: (item["email"], item["password"]) for item in demo_logins(settings)}
    with serve(settings) as (base_url, session_factory):
        yield DemoApp(base_url, session_factory, logins)


@pytest.fixture
def page(browser: Browser, demo_app: DemoApp) -> Iterator[tuple[Page, list[str]]]:
    with open_page(browser, demo_app.base_url, height=860) as watched:
        yield watched.page, watched.errors


def _sign_in(page: Page, demo_app: DemoApp, role: str) -> None:
    email, password = demo_app.logins[role]
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{demo_app.base_url}/")


def _create_group_from_organisation(page: Page, name: str, organisation: str) -> None:
    """Filter the site table by organisation, tick every row shown, name the group and create it."""
    page.goto("/groups")
    table = page.locator(f"#{ids.GROUPS_SITES_TABLE}")
    table.get_by_label("Organisation Filter Input").fill(organisation)  # the filter's accessible label
    names = table.locator(".ag-cell[col-id='organisation']")
    expect(names.first).to_have_text(organisation)
    expect(names.filter(has_not_text=organisation)).to_have_count(0)
    table.locator(".ag-header-select-all input").check()  # selects the filtered rows
    page.locator(f"#{ids.GROUPS_NEW_NAME}").fill(name)
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("status").filter(has_text="Created the group")).to_contain_text(name)


def _group_id(demo_app: DemoApp, name: str) -> int:
    with demo_app.session_factory() as session:
        group_id = session.scalar(select(PortfolioGroup.id).where(PortfolioGroup.name == name))
    assert group_id is not None
    return group_id


def _shot(page: Page, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / name), full_page=True)


def test_broker_builds_a_group_and_finds_the_site_with_no_data(
    page: tuple[Page, list[str]], demo_app: DemoApp, screenshot_dir: Path
) -> None:
    tab, errors = page
    _sign_in(tab, demo_app, "broker")
    _create_group_from_organisation(tab, "Riverside print", "Riverside Print & Copy Ltd")
    members = tab.locator(f"#{ids.GROUPS_MEMBERS_TABLE} .ag-cell[col-id='name']")
    expect(members).to_have_count(6)
    _shot(tab, screenshot_dir, "groups-page.png")

    tab.goto(f"/portfolio?group={_group_id(demo_app, 'Riverside print')}")
    rows = tab.locator(f"#{ids.PORTFOLIO_TABLE} .ag-cell[col-id='name']")
    expect(rows).to_have_count(6)
    expect(tab.locator(f"#{ids.PORTFOLIO_TABLE} .ag-cell[col-id='coverage']").first).to_contain_text("%")
    expect(tab.locator(f"#{ids.PORTFOLIO_FUEL_TOGGLE}")).to_be_hidden()  # one fuel: no toggle
    summary = tab.locator(f"#{ids.PORTFOLIO_MISSING_SUMMARY}")
    expect(summary).to_contain_text("of 6 sites")
    expect(summary).to_contain_text("no data in this range")
    expect(tab).to_have_url(
        f"{demo_app.base_url}/portfolio?group={_group_id(demo_app, 'Riverside print')}"
        f"&from={_range(tab)[0]}&to={_range(tab)[1]}&fuel=both"
    )

    tab.get_by_role("button", name="View missing locations").click()
    panel = tab.locator(f"#{ids.PORTFOLIO_MISSING_PANEL}")
    expect(panel).to_be_visible()
    new_site = panel.locator(".ag-row", has_text=NEW_SITE)
    expect(new_site).to_have_count(1)
    expect(new_site.locator(".ag-cell[col-id='last_reading']")).to_have_text("never")
    _shot(tab, screenshot_dir, "portfolio-missing.png")
    assert errors == []


def _range(tab: Page) -> tuple[str, str]:
    """The from/to the page put in the URL (the default range), read back from the address bar."""
    query = dict(part.split("=") for part in tab.url.split("?", 1)[1].split("&"))
    return query["from"], query["to"]


def test_fuel_toggle_splits_a_mixed_group(
    page: tuple[Page, list[str]], demo_app: DemoApp, screenshot_dir: Path
) -> None:
    tab, errors = page
    _sign_in(tab, demo_app, "broker")
    _create_group_from_organisation(tab, "Fen Edge schools", "Fen Edge Learning Trust")
    tab.goto(f"/portfolio?group={_group_id(demo_app, 'Fen Edge schools')}")
    toggle = tab.locator(f"#{ids.PORTFOLIO_FUEL_TOGGLE}")
    expect(toggle).to_be_visible()
    expect(tab.locator(f"#{ids.PORTFOLIO_TABLE} .ag-cell[col-id='name']")).to_have_count(12)
    expect(tab.locator(f"#{ids.PORTFOLIO_TOTALS} .total-card")).to_have_count(2)  # gas and power side by side
    _shot(tab, screenshot_dir, "portfolio-toggle-both.png")

    toggle.get_by_text("Gas", exact=True).click()
    fuels = tab.locator(f"#{ids.PORTFOLIO_TABLE} .ag-cell[col-id='fuel']")
    expect(fuels).to_have_count(6)
    assert set(fuels.all_inner_texts()) == {"Gas"}
    expect(tab.locator(f"#{ids.PORTFOLIO_TOTALS} .total-card")).to_have_count(1)
    expect(tab).to_have_url(re.compile(r"fuel=gas$"))
    _shot(tab, screenshot_dir, "portfolio-toggle-gas.png")
    assert errors == []


def test_a_forty_site_year_renders_and_a_foreign_group_is_not_available(
    page: tuple[Page, list[str]], demo_app: DemoApp, screenshot_dir: Path
) -> None:
    tab, errors = page
    with transaction(demo_app.session_factory) as session:
        admin = find_user(session, demo_app.logins["admin"][0])
        assert admin is not None
        site_ids = sorted(session.scalars(select(Site.id)))[:40]
        group = create_group(session, viewer_for(session, admin), "Forty sites", site_ids)
        session.flush()
        group_id = group.id
    _sign_in(tab, demo_app, "admin")
    end = local_today() - dt.timedelta(days=1)
    url = f"/portfolio?group={group_id}&from={end - dt.timedelta(days=364)}&to={end}&fuel=both"
    tab.goto(url)  # its speed is measured by benchmarks/list_speed.py and page_speed.py, not here
    expect(tab.locator(f"#{ids.PORTFOLIO_TABLE} .ag-cell[col-id='name']")).to_have_count(40)  # one page of 50
    expect(tab.locator(f"#{ids.PORTFOLIO_MISSING_SUMMARY}")).to_contain_text("40 sites")
    _shot(tab, screenshot_dir, "portfolio-forty-sites.png")

    # The same link in a customer's browser: the group is the admin's, so it is not available.
    tab.context.clear_cookies()
    _sign_in(tab, demo_app, "customer")
    tab.goto(url)
    expect(tab.locator(f"#{ids.PORTFOLIO_MESSAGE}")).to_contain_text("not available")
    expect(tab.locator(f"#{ids.PORTFOLIO_TABLE} .ag-cell")).to_have_count(0)
    tab.goto("/portfolio?from=2026-02-30&fuel=coal")
    expect(tab.locator(f"#{ids.PORTFOLIO_MESSAGE}")).to_contain_text("'from' must be a date")
    expect(tab.locator(f"#{ids.PORTFOLIO_MESSAGE}")).to_contain_text("'fuel' must be one of")
    _shot(tab, screenshot_dir, "portfolio-bad-link.png")
    assert errors == []


def test_account_manager_sees_a_customer_group_read_only(
    page: tuple[Page, list[str]], demo_app: DemoApp, screenshot_dir: Path
) -> None:
    tab, errors = page
    with transaction(demo_app.session_factory) as session:
        customer = find_user(session, demo_app.logins["customer"][0])
        assert customer is not None
        viewer = viewer_for(session, customer)
        own = sorted(session.scalars(select(Site.id).where(Site.organisation_id == customer.organisation_id)))
        create_group(session, viewer, "Granta labs", own[:3])
    _sign_in(tab, demo_app, "account_manager")
    tab.goto("/groups")
    expect(tab.locator(f"#{ids.GROUPS_DETAIL_TITLE}")).to_contain_text("Granta labs")
    expect(tab.locator(f"#{ids.GROUPS_MEMBERS_TABLE} .ag-cell[col-id='name']")).to_have_count(3)
    expect(tab.locator(f"#{ids.GROUPS_READ_ONLY_NOTE}")).to_be_visible()
    for button in ("Create group", "Rename", "Delete group", "Remove ticked sites", "Add pasted sites"):
        expect(tab.get_by_role("button", name=button)).to_be_hidden()
    _shot(tab, screenshot_dir, "groups-account-manager.png")
    assert errors == []
