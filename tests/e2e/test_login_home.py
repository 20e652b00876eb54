"""In a real browser: sign in as a customer, see only their sites, sign out, with no console errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from portfolio.models import Organisation, Site, User
from portfolio.services.accounts import find_user
from portfolio.web import ids
from tests.e2e.conftest import BrowserPage, LiveApp

pytestmark = pytest.mark.browser


def _site_names(live_app: LiveApp, email: str) -> tuple[set[str], set[str]]:
    """Names of the sites of the user's organisation, and of every other organisation's sites."""
    with live_app.session_factory() as session:
        user: User | None = find_user(session, email)
        assert user is not None and user.organisation_id is not None
        rows = session.execute(select(Site.name, Organisation.id).join(Organisation)).all()
    own = {name for name, org_id in rows if org_id == user.organisation_id}
    return own, {name for name, _org in rows} - own


def test_customer_signs_in_sees_their_sites_and_signs_out(
    browser_page: BrowserPage, live_app: LiveApp, screenshot_dir: Path
) -> None:
    page, customer = browser_page.page, live_app.world.customer
    own_sites, other_sites = _site_names(live_app, customer.email)

    page.goto("/")
    expect(page).to_have_url(f"{live_app.base_url}/login?next=/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "login.png"), full_page=True)

    page.get_by_label("Email").fill(customer.email)
    page.get_by_label("Password").fill(customer.password)
    page.get_by_role("button", name="Sign in").click()

    expect(page).to_have_url(f"{live_app.base_url}/")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()  # the landing page after sign-in
    page.get_by_role("link", name="All sites table").click()
    names = page.locator(f"#{ids.SITES_TABLE} .ag-cell[col-id='name']")
    expect(names).to_have_count(len(own_sites))
    for _ in range(50):  # the grid may still be laying out its rows (row heights): wait until it settles
        if sorted(names.all_inner_texts()) == sorted(own_sites):
            break
        page.wait_for_timeout(200)
    shown = names.all_inner_texts()
    assert sorted(shown) == sorted(own_sites), f"{len(shown)} name cells: {shown}"
    expect(page.locator(f"#{ids.USER_MENU}")).to_contain_text(customer.email)
    body = page.locator("body").inner_text()
    assert not [name for name in other_sites if name in body]
    page.screenshot(path=str(screenshot_dir / "home.png"), full_page=True)

    page.locator(f"#{ids.ACCOUNT_MENU}").click()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{live_app.base_url}/login")
    page.goto("/")
    expect(page).to_have_url(f"{live_app.base_url}/login?next=/")

    assert browser_page.errors == []


def test_wrong_password_shows_the_generic_message(
    browser_page: BrowserPage, live_app: LiveApp, screenshot_dir: Path
) -> None:
    page = browser_page.page
    page.goto("/login")
    page.get_by_label("Email").fill(live_app.world.admin.email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
    page.screenshot(path=str(screenshot_dir / "login-error.png"), full_page=True)
    assert [error for error in browser_page.errors if "401" not in error] == []


def test_an_ended_session_sends_the_browser_to_sign_in(browser_page: BrowserPage, live_app: LiveApp) -> None:
    page, admin = browser_page.page, live_app.world.admin
    page.goto("/login")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(admin.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(f"#{ids.OVERVIEW_CARDS} .overview-card").first).to_be_visible()
    page.context.clear_cookies()
    page.evaluate("() => { fetch('/_dash-layout'); }")  # what the next Dash request meets: a 401
    expect(page).to_have_url(f"{live_app.base_url}/login?next=%2F")
    assert [error for error in browser_page.errors if "401" not in error] == []
