"""In a real browser on a copy of the demo: an admin drops a wide file on Upload, reads the preview, imports it,
with no console errors; screenshots (upload-preview.png, upload-done.png) go to the ``screenshot_dir`` fixture's folder."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.models import Meter, Reading
from portfolio.services.demo import demo_logins
from portfolio.web.views.uploads import UPLOAD_DROP
from tests.e2e.conftest import copy_demo, open_page, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SAMPLE = Path(__file__).parents[1] / "data" / "layouts" / "wide_end_2400_sep_line.csv"  # 144 readings, 1 MPAN


@dataclass(frozen=True)
class UploadApp:
    base_url: str
    session_factory: sessionmaker[Session]
    admin: tuple[str, str]


@pytest.fixture(scope="module")
def upload_app(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UploadApp]:
    settings = copy_demo(demo_template, tmp_path_factory, "upload")
    admin = next((i["email"], i["password"]) for i in demo_logins(settings) if i["role"] == "admin")
    with serve(settings) as (base_url, session_factory):
        yield UploadApp(base_url, session_factory, admin)


def test_admin_uploads_a_wide_file_after_the_preview(
    browser: Browser, upload_app: UploadApp, screenshot_dir: Path
) -> None:
    with open_page(browser, upload_app.base_url, height=1100) as watched:
        page = watched.page
        page.goto("/login")
        page.get_by_label("Email").fill(upload_app.admin[0])
        page.get_by_label("Password").fill(upload_app.admin[1])
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{upload_app.base_url}/")
        page.goto("/upload")
        expect(page.get_by_role("heading", name="Upload meter data")).to_be_visible()
        page.locator(f"#{UPLOAD_DROP} input[type=file]").set_input_files(str(SAMPLE))
        expect(page.get_by_role("heading", name="How the file will be read")).to_be_visible(timeout=20_000)
        expect(page.get_by_text("new: Unassigned queue")).to_be_visible()
        expect(page.get_by_text("00:30..24:00")).to_be_visible()
        with upload_app.session_factory() as session:
            assert (
                session.scalar(select(func.count()).select_from(Meter).where(Meter.identifier == "1234567890126")) == 0
            )
        page.screenshot(path=str(screenshot_dir / "upload-preview.png"), full_page=True)
        page.get_by_role("button", name="Import").click()
        expect(page.get_by_text("Imported 144 readings for 1 sites")).to_be_visible(timeout=20_000)
        page.screenshot(path=str(screenshot_dir / "upload-done.png"), full_page=True)
        assert watched.errors == [], "\n".join(watched.errors)
    with upload_app.session_factory() as session:
        count = session.scalar(
            select(func.count())
            .select_from(Reading)
            .join(Meter, Meter.site_id == Reading.site_id)
            .where(Meter.identifier == "1234567890126")
        )
        assert count == 144
