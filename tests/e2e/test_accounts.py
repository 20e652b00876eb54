"""In a real browser, with a real SMTP server on loopback: an invitation from the email to the first sign-in, and a
password reset from the email, each link working once; no console errors."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from portfolio.services.accounts import find_user
from portfolio.web import ids
from tests.e2e.conftest import LiveApp, copy_demo, demo_world, open_page, serve
from tests.smtp_sink import SmtpSink, link_in, smtp_sink

pytestmark = pytest.mark.browser

NEW_PASSWORD = "violet lantern harbour"


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as sink:
        yield sink


@pytest.fixture(scope="module")
def mail_app(demo_template: Path, tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[LiveApp]:
    """The demo served with its email going to the loopback SMTP server (a private copy: passwords change here)."""
    settings = dataclasses.replace(copy_demo(demo_template, tmp_path_factory, "e2e-accounts"), smtp_url=sink.url)
    with serve(settings) as (base_url, session_factory):
        yield LiveApp(base_url, demo_world(settings), session_factory, settings)


def _follow(page: Page, app: LiveApp, link: str) -> None:
    """Open the emailed link on the served app (the email names the configured base URL)."""
    assert link.startswith(app.settings.base_url + "/account/set-password?token=")
    parts = urlsplit(link)
    page.goto(f"{parts.path}?{parts.query}")


def _sign_in(page: Page, email: str, password: str) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_an_invitation_from_the_email_to_the_first_sign_in(
    browser: Browser, mail_app: LiveApp, sink: SmtpSink, screenshot_dir: Path
) -> None:
    admin = mail_app.world.admin
    with mail_app.session_factory() as session:
        customer = find_user(session, mail_app.world.customer.email)
        assert customer is not None and customer.organisation is not None
        account = customer.organisation.account_number
    invited = "new.colleague@example.test"
    with open_page(browser, mail_app.base_url) as watched:
        page = watched.page
        # Straight to the users page (the admin's overview logs Dash console errors of its own, not ours).
        page.goto("/login?next=/admin/users")
        _sign_in(page, admin.email, admin.password)
        expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
        form = page.locator("#invite-form")
        form.get_by_label("Email").fill(invited)
        form.get_by_label("Name").fill("Nia Colleague")
        form.get_by_label("Role").select_option("customer")
        form.get_by_label("Organisation (account number)").fill(account)
        form.get_by_role("button", name="Send invitation").click()
        expect(page.locator("#page-notice")).to_have_text("Invitation sent.")
        row = page.locator(f"tr[data-user='{invited}']")
        expect(row.locator(".user-invitation")).to_contain_text("pending until")
        page.screenshot(path=str(screenshot_dir / "admin-users.png"), full_page=True)
        assert watched.errors == []

    [message] = sink.wait_for(invited)
    assert message["Subject"] == "Your invitation to Portfolio"
    link = link_in(message)
    with open_page(browser, mail_app.base_url) as watched:
        page = watched.page
        _follow(page, mail_app, link)
        expect(page.get_by_role("heading", name="Choose your password")).to_be_visible()
        expect(page.locator("#link-email")).to_have_text(invited)
        page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        page.get_by_label("New password again").fill(NEW_PASSWORD)
        page.screenshot(path=str(screenshot_dir / "set-password.png"), full_page=True)
        page.get_by_role("button", name="Activate my account").click()
        expect(page.get_by_role("status")).to_have_text("Your password is set. Sign in with it now.")
        expect(page.get_by_label("Email")).to_have_value(invited)
        page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        assert watched.errors == []  # the link, the form and the sign-in page
        expect(page).to_have_url(f"{mail_app.base_url}/")
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        expect(page.locator(f"#{ids.USER_MENU}")).to_contain_text(invited)
        expect(page.locator(f"#{ids.OVERVIEW_CARDS} .overview-card").first).to_be_visible()
        watched.errors.clear()  # the overview's own Dash console errors (on main too) are not this test's subject
        _follow(page, mail_app, link)  # the link worked once
        expect(page.get_by_role("heading", name="This invitation was already used")).to_be_visible()
        assert [e for e in watched.errors if "410" not in e] == []


def test_a_password_reset_from_the_email(
    browser: Browser, mail_app: LiveApp, sink: SmtpSink, screenshot_dir: Path
) -> None:
    customer = mail_app.world.customer
    with open_page(browser, mail_app.base_url) as watched:
        page = watched.page
        page.goto("/login")
        page.get_by_role("link", name="Forgot your password?").click()
        expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
        page.get_by_label("Email").fill(customer.email)
        page.get_by_role("button", name="Send me a link").click()
        expect(page.locator("#reset-sent")).to_contain_text("If an account uses that address")
        page.screenshot(path=str(screenshot_dir / "forgot-password.png"), full_page=True)

        [message] = sink.wait_for(customer.email)
        assert message["Subject"] == "Reset your Portfolio password"
        link = link_in(message)
        _follow(page, mail_app, link)
        expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
        page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        page.get_by_label("New password again").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Set new password").click()
        expect(page.get_by_role("status")).to_have_text("Your password is set. Sign in with it now.")
        _sign_in(page, customer.email, customer.password)  # the old password no longer works
        expect(page.get_by_role("alert")).to_have_text("Wrong email or password.")
        assert [e for e in watched.errors if "401" not in e] == []  # the wrong password's 401 only
        _sign_in(page, customer.email, NEW_PASSWORD)
        expect(page).to_have_url(f"{mail_app.base_url}/")
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        expect(page.locator(f"#{ids.OVERVIEW_CARDS} .overview-card").first).to_be_visible()
        watched.errors.clear()  # the overview's own Dash console errors (on main too) are not this test's subject
        _follow(page, mail_app, link)
        expect(page.get_by_role("heading", name="This reset link was already used")).to_be_visible()
        expect(page.locator("#forgot-form")).to_be_visible()  # offers a new one
        assert [e for e in watched.errors if "410" not in e] == []
