"""In a real browser on the demo: a customer shares a view with their account manager, who opens it read-only;
the customer sees who opened it, revokes it, and the account manager's next request is refused; the customer's
Data sharing page and audit show all of it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from portfolio.models import AuditEntry
from portfolio.services.demo import demo_logins
from portfolio.web import ids
from tests.e2e.conftest import BrowserPage, LiveApp, open_page
from tests.web.world import Credentials

pytestmark = pytest.mark.browser


def _sign_in(page: Page, who: Credentials) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(who.email)
    page.get_by_label("Password").fill(who.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(f"#{ids.USER_MENU}")).to_contain_text(who.email)


def _login(live_app: LiveApp, role: str) -> Credentials:
    item = next(i for i in demo_logins(live_app.settings) if i["role"] == role)
    return Credentials(item["email"], item["password"])


def test_share_a_view_open_it_read_only_and_revoke_it(
    browser: Browser, browser_page: BrowserPage, live_app: LiveApp, screenshot_dir: Path
) -> None:
    customer_page = browser_page.page
    manager = _login(live_app, "account_manager")
    _sign_in(customer_page, live_app.world.customer)
    customer_page.goto("/consent")
    expect(customer_page.get_by_role("heading", name="Data sharing", exact=True)).to_be_visible()
    expect(customer_page.locator(f"#{ids.CONSENT_GRANTS}")).to_contain_text(manager.email)  # the standing grant

    customer_page.get_by_text("Share a view", exact=True).click()
    customer_page.locator(f"#{ids.SHARE_NAME}").fill("Last month, all sites")
    customer_page.locator(f"#{ids.SHARE_EMAILS}").fill("not-an-email")
    customer_page.get_by_role("button", name="Share read-only").click()
    expect(customer_page.locator(f"#{ids.CONSENT_MESSAGE}")).to_contain_text("is not an email address")
    customer_page.locator(f"#{ids.SHARE_EMAILS}").fill(manager.email)
    customer_page.get_by_role("button", name="Share read-only").click()
    expect(customer_page.locator(f"#{ids.CONSENT_MESSAGE}")).to_contain_text("Shared “Last month, all sites”")
    expect(customer_page.locator(f"#{ids.CONSENT_MY_VIEWS}")).to_contain_text("not opened yet")

    with open_page(browser, live_app.base_url) as manager_watch:
        manager_page = manager_watch.page
        _sign_in(manager_page, manager)
        manager_page.goto("/consent")
        expect(manager_page.locator(f"#{ids.SHARE_SUBMIT}")).to_be_hidden()  # read-only: no control to share
        manager_page.get_by_role("link", name="Last month, all sites").click()
        expect(manager_page.locator(f"#{ids.SHARED_VIEW_TITLE}")).to_have_text("Last month, all sites")
        expect(manager_page.locator(f"#{ids.SHARED_VIEW_META}")).to_contain_text("read-only")
        expect(manager_page.locator(f"#{ids.SHARED_VIEW_TABLE}")).to_contain_text("kWh")
        shared_url = manager_page.url
        manager_page.screenshot(path=str(screenshot_dir / "consent-shared-view.png"), full_page=True)

        customer_page.reload()
        expect(customer_page.locator(f"#{ids.CONSENT_MY_VIEWS}")).to_contain_text(manager.email)
        customer_page.get_by_role("button", name="Revoke shared view Last month, all sites").first.click()
        expect(customer_page.locator(f"#{ids.CONSENT_MESSAGE}")).to_contain_text("Shared view revoked")
        expect(customer_page.locator(f"#{ids.CONSENT_MY_VIEWS}")).to_contain_text("revoked")

        manager_page.goto(shared_url)  # the next request after the revocation
        expect(manager_page.locator(f"#{ids.SHARED_VIEW_REFUSED}")).to_contain_text("no longer shared with you")
        expect(manager_page.locator(f"#{ids.SHARED_VIEW_TABLE}")).to_have_count(0)
        assert manager_watch.errors == []

    customer_page.locator(f"#{ids.AUDIT_USER}").fill(manager.email)
    customer_page.locator(f"#{ids.AUDIT_USER}").press("Enter")
    expect(customer_page.locator(f"#{ids.AUDIT_TABLE}")).to_contain_text("viewed_by")
    customer_page.locator(f"#{ids.AUDIT_USER}").fill("")
    customer_page.locator(f"#{ids.AUDIT_USER}").press("Enter")
    audit_table = customer_page.locator(f"#{ids.AUDIT_TABLE}")
    expect(audit_table).to_contain_text("view_shared")
    expect(audit_table).to_contain_text("share_revoked")
    with customer_page.expect_download() as download:
        customer_page.get_by_role("button", name="Download CSV").click()
    csv_text = Path(download.value.path()).read_text()
    assert csv_text.startswith("at_utc,") and re.search(r"share_revoked", csv_text)
    customer_page.screenshot(path=str(screenshot_dir / "consent-page.png"), full_page=True)
    assert browser_page.errors == []


def test_a_broker_switches_between_clients_and_builds_a_cross_client_group(
    browser_page: BrowserPage, live_app: LiveApp, screenshot_dir: Path
) -> None:
    page = browser_page.page
    broker = _login(live_app, "broker")
    _sign_in(page, broker)
    page.goto("/sites")
    names = page.locator(f"#{ids.SITES_TABLE} .ag-cell[col-id='organisation']")
    expect(names.first).to_be_visible()
    assert {"Fen Edge Learning Trust", "Northcote Pharmacy Group Ltd"} <= set(names.all_inner_texts())

    page.locator(f"#{ids.SHELL_CLIENT}").click()
    page.get_by_role("link", name="Northcote Pharmacy Group Ltd").click()
    expect(page).to_have_url(re.compile(r"/sites\?client=\d+$"))
    expect(page.locator(f"#{ids.SITES_TABLE}")).not_to_contain_text("Fen Edge Learning Trust")
    expect(names.first).to_have_text("Northcote Pharmacy Group Ltd")
    assert set(names.all_inner_texts()) == {"Northcote Pharmacy Group Ltd"}
    page.screenshot(path=str(screenshot_dir / "broker-client-switcher.png"), full_page=True)
    page.locator(f"#{ids.SHELL_CLIENT}").click()
    page.get_by_role("link", name="All clients").click()
    expect(page.locator(f"#{ids.SITES_TABLE}")).to_contain_text("Fen Edge Learning Trust")

    # A group spanning two clients: filter by a name part both share, tick the shown rows, create it.
    page.goto("/groups")
    table = page.locator(f"#{ids.GROUPS_SITES_TABLE}")
    organisations = table.locator(".ag-cell[col-id='organisation']")
    expect(organisations.first).to_be_visible()
    table.locator(".ag-header-select-all input").check()  # every site of every client
    page.locator(f"#{ids.GROUPS_NEW_NAME}").fill("All my clients")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("status").filter(has_text="Created the group")).to_contain_text("All my clients")
    members = page.locator(f"#{ids.GROUPS_MEMBERS_TABLE} .ag-cell[col-id='organisation']")
    expect(members.first).to_be_visible()
    assert len(set(members.all_inner_texts())) > 1  # the group spans clients

    # The Portfolio page totals it per client; each client's audit reads "broker X for client Y".
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Portfolio").click()
    page.locator(f"#{ids.PORTFOLIO_GROUP}").click()
    page.get_by_role("option", name="All my clients").click()
    by_client = page.locator(f"#{ids.PORTFOLIO_CLIENT_TOTALS}")
    expect(by_client).to_contain_text("Fen Edge Learning Trust")
    expect(by_client).to_contain_text("Northcote Pharmacy Group Ltd")
    page.screenshot(path=str(screenshot_dir / "broker-portfolio-by-client.png"), full_page=True)
    with live_app.session_factory() as session:
        created = session.scalars(select(AuditEntry).where(AuditEntry.action == "group_created")).all()
    assert len({e.organisation_id for e in created}) > 1
    assert {e.detail["by"] for e in created} == {broker.email}
    assert browser_page.errors == []
