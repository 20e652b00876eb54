"""In a real browser on the demo data: open Export, download the default CSV (all sites, last 30 local days,
interval data) and check its rows against the database, with no console errors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import viewer_for, visible_site_ids
from portfolio.models import AuditEntry, Reading, Site
from portfolio.services.accounts import find_user
from portfolio.services.demo import demo_logins
from portfolio.timekeeping import local_range_ts, local_today
from portfolio.web import ids
from portfolio.web.url_state import default_range
from tests.e2e.conftest import copy_demo, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@dataclass(frozen=True)
class DemoApp:
    base_url: str
    session_factory: sessionmaker[Session]
    logins: dict[str, tuple[str, str]]


@pytest.fixture(scope="module")
def demo_app(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoApp]:
    settings = copy_demo(demo_template, tmp_path_factory, "export")
    logins = {item["role"]: (item["email"], item["password"]) for item in demo_logins(settings)}
    with serve(settings) as (base_url, session_factory):
        yield DemoApp(base_url, session_factory, logins)


def expected_totals(factory: sessionmaker[Session], email: str) -> tuple[int, float]:
    """Readings and kWh of the user's sites over the default range, each site in its own local days."""
    start, end = default_range(local_today())
    rows, kwh = 0, 0.0
    with factory() as session:
        viewer = viewer_for(session, find_user(session, email))
        for site_id, zone in session.execute(
            select(Site.id, Site.time_zone).where(Site.id.in_(visible_site_ids(session, viewer)))
        ):
            first, after = local_range_ts(start, end, zone)
            count, total = session.execute(
                select(func.count(), func.coalesce(func.sum(Reading.energy_kwh), 0.0)).where(
                    Reading.site_id == site_id, Reading.start_ts >= first, Reading.start_ts < after
                )
            ).one()
            rows, kwh = rows + count, kwh + total
    return rows, kwh


def test_download_the_default_csv_from_the_export_page(
    browser: Browser, demo_app: DemoApp, tmp_path: Path, screenshot_dir: Path
) -> None:
    email, password = demo_app.logins["customer"]
    context = browser.new_context(
        base_url=demo_app.base_url, viewport={"width": 1366, "height": 900}, accept_downloads=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(error.message))
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{demo_app.base_url}/")
    page.get_by_role("link", name="Export").click()
    download_link = page.locator(f"#{ids.EXPORT_DOWNLOAD}")
    expect(download_link).to_have_text("Download CSV")
    expect(download_link).to_be_visible()
    expect(page.locator(f"#{ids.EXPORT_SUMMARY}")).to_contain_text("local days")
    page.screenshot(path=str(screenshot_dir / "export_page.png"), full_page=True)
    with page.expect_download() as download_info:
        download_link.click()
    download = download_info.value
    assert download.suggested_filename.startswith("portfolio_interval_") and download.suggested_filename.endswith(
        ".csv"
    )
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    rows = pd.read_csv(path)
    expected_rows, expected_kwh = expected_totals(demo_app.session_factory, email)
    assert expected_rows > 0
    assert len(rows) == expected_rows
    assert rows["energy_kwh"].sum() == pytest.approx(expected_kwh, rel=1e-9)
    assert list(rows.columns[:4]) == ["site_id", "site_name", "meter_identifier", "fuel"]
    with demo_app.session_factory() as session:
        done = session.scalars(select(AuditEntry).where(AuditEntry.action == "export_completed")).all()
    assert [entry.detail["rows"] for entry in done] == [expected_rows]
    assert errors == []
    context.close()
