"""In a real browser on the demo: a customer whose organisation the customer list left without a usable contact is
asked for one at sign-in (and the prompt validates it); a micro-business customer opts out of half-hourly data on the
Data sharing page, after which the graph is daily and the interval export is refused while the daily one works."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.config import Settings
from portfolio.models import OrganisationContact, Reading, Site, User
from portfolio.services.customers import import_customer_list
from portfolio.services.demo import demo_logins
from portfolio.services.graphs import DAILY_ONLY_NOTE
from portfolio.timekeeping import local_today
from portfolio.web import ids
from portfolio.web.views.opt_out import OPT_OUT_BUTTON, OPT_OUT_MESSAGE
from tests.e2e.conftest import copy_demo, open_page, serve
from tests.web.world import Credentials

pytestmark = [pytest.mark.browser, pytest.mark.slow]
HEADER = "Account Number,Organisation Name,Micro Business,Billing Portal User,Contact Name,Contact Email,Contact Type"


@dataclass(frozen=True)
class EnrolApp:
    base_url: str
    session_factory: sessionmaker[Session]
    settings: Settings
    customer: Credentials
    organisation_id: int


@pytest.fixture(scope="module")
def enrol_app(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EnrolApp]:
    """The demo, with the first customer's organisation on the customer list as a micro-business with only a
    General mailbox (so its contact details are needed)."""
    settings = copy_demo(demo_template, tmp_path_factory, "enrol")
    login = next(item for item in demo_logins(settings) if item["role"] == "customer")
    with serve(settings) as (base_url, factory):
        with factory() as session:
            user = session.scalars(select(User).where(User.email == login["email"])).one()
            organisation = user.organisation
            assert organisation is not None
            line = f"{organisation.account_number},{organisation.name},Yes,No,Front desk,info@example.com,General"
            import_customer_list(session, "customers.csv", f"{HEADER}\n{line}\n".encode(), settings=settings)
            organisation_id = organisation.id
        yield EnrolApp(base_url, factory, settings, Credentials(login["email"], login["password"]), organisation_id)


def _sign_in(page: Page, who: Credentials) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(who.email)
    page.get_by_label("Password").fill(who.password)
    page.get_by_role("button", name="Sign in").click()


def _interval_readings(factory: sessionmaker[Session], organisation_id: int) -> int:
    with factory() as session:
        sites = select(Site.id).where(Site.organisation_id == organisation_id)
        statement = select(func.count()).where(Reading.site_id.in_(sites), Reading.interval_seconds <= 3600)
        return int(session.scalar(statement) or 0)


def test_contact_details_prompt_then_micro_business_opt_out(
    browser: Browser, enrol_app: EnrolApp, screenshot_dir: Path
) -> None:
    with open_page(browser, enrol_app.base_url) as watched:
        page = watched.page
        _sign_in(page, enrol_app.customer)
        page.wait_for_url(re.compile(r"/contact-details$"))
        expect(page.locator("#general-contacts")).to_contain_text("Front desk")  # shown, not editable
        page.goto("/graphs")  # every page of the app waits for the contact details
        page.wait_for_url(re.compile(r"/contact-details$"))
        page.get_by_label("Primary contact: name").fill("Pat Primary")
        page.get_by_label("Primary contact: email").fill("not-an-email")
        page.get_by_role("button", name="Save and continue").click()
        expect(page.get_by_role("alert")).to_contain_text("is not an email address")
        page.get_by_label("Primary contact: email").fill("pat@example.com")
        page.get_by_role("button", name="Save and continue").click()
        page.wait_for_url(f"{enrol_app.base_url}/")
        expect(page.locator(f"#{ids.USER_MENU}")).to_contain_text(enrol_app.customer.email)
        with enrol_app.session_factory() as session:
            emails = session.scalars(
                select(OrganisationContact.email).where(
                    OrganisationContact.organisation_id == enrol_app.organisation_id
                )
            ).all()
        assert "pat@example.com" in emails

        assert _interval_readings(enrol_app.session_factory, enrol_app.organisation_id) > 0
        page.goto("/consent")
        page.locator(f"#{OPT_OUT_BUTTON}").click()
        expect(page.locator(f"#{OPT_OUT_MESSAGE}")).to_contain_text("Opted out", timeout=90_000)
        expect(page.locator("#opt-out-why")).to_contain_text("only daily totals are kept and shown")
        page.screenshot(path=str(screenshot_dir / "opt-out.png"), full_page=True)
        assert _interval_readings(enrol_app.session_factory, enrol_app.organisation_id) == 0  # within the 7 days

        page.goto("/graphs")
        expect(page.locator(f"#{ids.GRAPH_NOTE}")).to_contain_text(DAILY_ONLY_NOTE, timeout=20_000)
        today = local_today()
        query = f"group=all&from={today - dt.timedelta(days=7)}&to={today - dt.timedelta(days=1)}&format=csv"
        refused = page.request.get(f"/export/download?{query}&shape=interval")
        assert refused.status == 400 and "opted out of half-hourly data" in refused.text()
        daily = page.request.get(f"/export/download?{query}&shape=daily")
        assert daily.status == 200
        rows = pd.read_csv(io.BytesIO(daily.body()), comment="#")
        assert len(rows) > 0 and set(rows["interval_seconds"]) <= {82800, 86400, 90000}
        # Dash 4's renderer validation ("ID not found in layout" for the trackers page's callbacks, "Invalid prop"
        # for the audit table) is logged on main without this branch too (tests/e2e/test_consent.py fails on it);
        # every other console error and page error counts.
        known = ("ID not found in layout", "Invalid prop for this component")
        errors = [e for e in watched.errors if not any(k in e for k in known)]
        assert not errors, errors
