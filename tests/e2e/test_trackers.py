"""In a real browser on the demo: create a tracker, see its progress bar, then after the evaluation the bell."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from portfolio.config import Settings
from portfolio.services.trackers import data_day_for, evaluate_all
from portfolio.timekeeping import local_today
from portfolio.web import ids
from tests.e2e.conftest import BrowserPage, LiveApp
from tests.web.world import Credentials

pytestmark = pytest.mark.browser


def _sign_in(page: Page, who: Credentials) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(who.email)
    page.get_by_label("Password").fill(who.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(f"#{ids.USER_MENU}")).to_contain_text(who.email)


def test_create_a_tracker_and_get_notified(
    browser_page: BrowserPage, live_app: LiveApp, e2e_settings: Settings, screenshot_dir: Path
) -> None:
    page = browser_page.page
    _sign_in(page, live_app.world.customer)
    page.goto("/trackers")
    expect(page.get_by_role("heading", name="Trackers", exact=True)).to_be_visible()
    expect(page.locator(f"#{ids.TRACKER_LIST}")).to_contain_text("No trackers yet")

    page.locator(f"#{ids.TRACKER_NAME}").fill("Weekly power, all sites")
    page.locator(f"#{ids.TRACKER_TARGET_VALUE}").fill("100")
    page.get_by_role("button", name="Create tracker").click()
    expect(page.locator(f"#{ids.TRACKER_FEEDBACK}")).to_contain_text("created")
    card = page.locator(".tracker-card", has_text="Weekly power, all sites")
    expect(card).to_be_visible()
    bar = card.get_by_role("progressbar")
    expect(bar).to_be_visible()
    expect(card).to_contain_text("used so far")
    expect(card).to_contain_text("Projected by")
    expect(card).to_contain_text("sites reported for")
    expect(page.locator(f"#{ids.BELL_COUNT}")).to_be_hidden()

    # Refused with a message, not a crash: a second tracker with the same name.
    page.locator(f"#{ids.TRACKER_NAME}").fill("Weekly power, all sites")
    page.get_by_role("button", name="Create tracker").click()
    expect(page.locator(f"#{ids.TRACKER_FEEDBACK}")).to_contain_text("already have a tracker")

    report = evaluate_all(live_app.session_factory, e2e_settings, data_day_for(local_today()), dt.datetime.now(dt.UTC))
    assert report.errors == [] and report.notified >= 1

    page.reload()
    count = page.locator(f"#{ids.BELL_COUNT}")
    expect(count).to_have_text("1")
    expect(card).to_contain_text("you were notified")
    page.screenshot(path=str(screenshot_dir / "trackers.png"), full_page=True)

    page.locator(f"#{ids.BELL_BUTTON}").click()
    panel = page.locator(f"#{ids.BELL_PANEL}")
    expect(panel).to_be_visible()
    expect(panel.locator(".bell-item.unread")).to_have_count(1)
    expect(panel).to_contain_text("“Weekly power, all sites” is over its amount")
    page.screenshot(path=str(screenshot_dir / "bell.png"))

    panel.get_by_role("button", name="Mark all read").click()
    expect(count).to_be_hidden()
    expect(panel.locator(".bell-item.unread")).to_have_count(0)
    assert browser_page.errors == []


def test_pipeline_page_is_for_admins_only(browser_page: BrowserPage, live_app: LiveApp, screenshot_dir: Path) -> None:
    page = browser_page.page
    _sign_in(page, live_app.world.customer)
    expect(page.get_by_role("link", name="Pipeline")).to_have_count(0)
    page.goto("/pipeline")
    expect(page.get_by_role("alert")).to_have_text("This page is for administrators only.")
    page.locator(f"#{ids.ACCOUNT_MENU}").click()
    page.get_by_role("button", name="Log out").click()

    _sign_in(page, live_app.world.admin)
    page.locator(f"#{ids.ADMIN_MENU}").click()  # the admins' pages are in one menu
    page.get_by_role("link", name="Pipeline").click()
    expect(page.get_by_role("heading", name="Pipeline", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Emails not delivered")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "pipeline.png"), full_page=True)
    assert browser_page.errors == []
