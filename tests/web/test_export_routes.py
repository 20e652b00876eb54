"""``GET /export/download`` and the export page's pre-check, on the app with the export world loaded."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from portfolio.access import viewer_for
from portfolio.exports.espi_validation import validate_espi
from portfolio.models import AuditEntry, User
from portfolio.web.views.exports import check_export
from tests.exports.export_world import PASSWORD, ExportWorld, build_export_world
from tests.web.browsing import HTML, log_in
from tests.web.pages.dash_requests import call_callback, response_values

SPRING_DAY = {"from": "2024-03-31", "to": "2024-03-31"}


@pytest.fixture
def export_world(world, world_session_factory) -> ExportWorld:
    del world  # the small web world first (its organisations and users), then ours beside it
    return build_export_world(world_session_factory)


@pytest.fixture
def kestrel_client(client: FlaskClient, export_world: ExportWorld) -> FlaskClient:
    assert log_in(client, export_world.kestrel_buyer, PASSWORD).status_code == 303
    return client


def audit_actions(factory) -> list[tuple[str, int | None, int | None]]:
    """The export entries (sign-ins are audited too, but are not what these tests are about)."""
    with factory() as session:
        exports = select(AuditEntry).where(AuditEntry.action.startswith("export")).order_by(AuditEntry.id)
        return [(e.action, e.user_id, e.detail.get("rows")) for e in session.scalars(exports)]


def test_csv_download_streams_an_attachment_and_is_audited(kestrel_client, export_world, world_session_factory):
    response = kestrel_client.get(
        "/export/download",
        query_string={"site": export_world.bakery, **SPRING_DAY, "shape": "interval", "format": "csv"},
    )
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="site-{export_world.bakery}_interval_2024-03-31_2024-03-31.csv"'
    )
    rows = pd.read_csv(io.BytesIO(response.get_data()))
    assert len(rows) == 46 and rows["energy_kwh"].sum() == pytest.approx(23.0)
    buyer = export_world.kestrel_buyer_id
    assert audit_actions(world_session_factory) == [("export_started", buyer, None), ("export_completed", buyer, 46)]


def test_group_daily_download_has_only_the_viewers_sites(kestrel_client, export_world):
    response = kestrel_client.get(
        "/export/download",
        query_string={"group": "all", "from": "2024-03-01", "to": "2024-10-31", "shape": "daily", "format": "csv"},
    )
    rows = pd.read_csv(io.BytesIO(response.get_data()))
    assert set(rows["site_name"]) == {"Kestrel Bakery", "Kestrel Office", "Kestrel Boilers"}
    assert rows["energy_kwh"].sum() == pytest.approx(23 + 12.5 + 10 + 44)


def test_green_button_download_validates(kestrel_client, export_world):
    response = kestrel_client.get(
        "/export/download",
        query_string={"site": export_world.boilers, **SPRING_DAY, "shape": "interval", "format": "espi"},
    )
    assert response.status_code == 200 and response.mimetype == "application/atom+xml"
    assert validate_espi(response.get_data()) == []


def test_another_organisations_site_is_refused_with_no_data(kestrel_client, export_world, world_session_factory):
    response = kestrel_client.get(
        "/export/download",
        query_string={"site": export_world.wren_store, **SPRING_DAY, "shape": "interval", "format": "csv"},
    )
    assert response.status_code == 403
    assert response.is_json and "may not see" in response.json["error"]
    assert b"Wren" not in response.get_data() and b"energy_kwh" not in response.get_data()
    assert "attachment" not in response.headers.get("Content-Disposition", "")
    assert audit_actions(world_session_factory) == []


def test_another_users_group_is_refused(kestrel_client, export_world, world_session_factory):
    from portfolio.services.groups import create_group

    with world_session_factory() as session:
        wren = viewer_for(session, session.scalar(select(User).where(User.email == export_world.wren_buyer)))
        group = create_group(session, wren, "Wren stores", [export_world.wren_store])
        session.commit()
        group_id = group.id
    response = kestrel_client.get(
        "/export/download", query_string={"group": group_id, **SPRING_DAY, "shape": "daily", "format": "csv"}
    )
    assert response.status_code == 403 and "energy" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            {"group": "all", "from": "2024-04-02", "to": "2024-04-01", "shape": "daily", "format": "csv"},
            "before it starts",
        ),
        (
            {"group": "all", "from": "2023-01-01", "to": "2024-04-01", "shape": "daily", "format": "csv"},
            "at most 400 days",
        ),
        ({"group": "all", **SPRING_DAY, "shape": "daily", "format": "docx"}, "'format' must be"),
        ({"group": "all", **SPRING_DAY, "shape": "hourly", "format": "csv"}, "'shape' must be"),
        ({"group": "all", **SPRING_DAY, "shape": "portfolio", "format": "espi"}, "interval data only"),
        ({"site": "<script>", **SPRING_DAY, "shape": "interval", "format": "csv"}, "'site' must be a site number"),
        (
            {"group": "all", "from": "31/03/2024", "to": "2024-04-01", "shape": "daily", "format": "csv"},
            "'from' must be a date",
        ),
    ],
)
def test_bad_requests_get_400_before_any_byte(kestrel_client, export_world, world_session_factory, query, message):
    response = kestrel_client.get("/export/download", query_string=query)
    assert response.status_code == 400 and message in response.json["error"]
    assert not response.is_streamed and audit_actions(world_session_factory) == []


def test_a_browser_gets_the_error_as_a_page(kestrel_client, export_world):
    response = kestrel_client.get(
        "/export/download",
        query_string={"site": "<script>", **SPRING_DAY, "shape": "interval", "format": "csv"},
        headers=HTML,
    )
    assert response.status_code == 400 and response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    assert "Export not possible" in body and "&#39;&lt;script&gt;&#39;" in body and "<script>" not in body


def test_anonymous_requests_get_nothing(client, export_world):
    response = client.get(
        "/export/download", query_string={"group": "all", **SPRING_DAY, "shape": "daily", "format": "csv"}
    )
    assert response.status_code == 401 and b"energy" not in response.get_data()


def test_page_check_builds_the_link_or_says_what_is_wrong(app, export_world, world_session_factory, settings):
    with world_session_factory() as session:
        viewer = viewer_for(session, session.scalar(select(User).where(User.email == export_world.kestrel_buyer)))
        ready = check_export(
            session,
            viewer,
            {"group": "all", **SPRING_DAY, "shape": "interval", "format": "xlsx", "fuel": "gas"},
            settings,
        )
        assert ready.error is None and ready.fuels == ("power", "gas")
        assert (
            ready.href == "/export/download?group=all&from=2024-03-31&to=2024-03-31&shape=interval&format=xlsx&fuel=gas"
        )
        assert ready.file_name == "portfolio-gas_interval_2024-03-31_2024-03-31.xlsx" and ready.summary.startswith(
            "1 site · 31 Mar 2024"
        )
        single = check_export(
            session,
            viewer,
            {"site": str(export_world.bakery), **SPRING_DAY, "shape": "daily", "format": "csv", "fuel": "gas"},
            settings,
        )
        assert (
            single.error is None and single.fuels == ("power",) and "fuel=both" in single.href
        )  # no toggle: fuel ignored
        refused = check_export(
            session,
            viewer,
            {"site": str(export_world.wren_store), **SPRING_DAY, "shape": "daily", "format": "csv"},
            settings,
        )
        assert refused.href is None and "not available to you" in refused.error
        bad = check_export(
            session,
            viewer,
            {"group": "all", "from": "2024-04-02", "to": "2024-04-01", "shape": "daily", "format": "csv"},
            settings,
        )
        assert bad.href is None and bad.error.startswith("The range ends (2024-04-01) before it starts")


def test_export_page_and_its_callback_through_dash(kestrel_client, export_world):
    page = kestrel_client.get("/export", headers=HTML)
    assert page.status_code == 200
    layout = kestrel_client.get("/_dash-layout").get_data(as_text=True)
    assert "Kestrel Bakery" not in layout  # the page body is built by the pages' own request, not the shell
    values = {
        "export-scope.value": "site",
        "export-group.value": "all",
        "export-site.value": str(export_world.wren_store),
        "export-dates.start_date": "2024-03-31",
        "export-dates.end_date": "2024-03-31",
        "export-fuel.value": "both",
        "export-shape.value": "interval",
        "export-format.value": "csv",
    }
    refused = response_values(call_callback(kestrel_client, "export-download.href", values, ["export-site.value"]))
    assert refused["export-download"]["href"] == "#" and "hidden" in refused["export-download"]["className"]
    assert "not available to you" in str(refused["export-message"]["children"])
    values["export-site.value"] = str(export_world.bakery)
    ready = response_values(call_callback(kestrel_client, "export-download.href", values, ["export-site.value"]))
    href = ready["export-download"]["href"]
    assert href.startswith("/export/download?site=") and ready["export-download"]["children"] == "Download CSV"
    download = kestrel_client.get(href)
    assert download.status_code == 200 and len(pd.read_csv(io.BytesIO(download.get_data()))) == 46
