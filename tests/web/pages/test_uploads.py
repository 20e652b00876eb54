"""The upload page's callbacks, called as a browser would: preview stores nothing, confirm imports, roles hold."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.models import Organisation, Reading, Site
from portfolio.web.views.uploads import UPLOAD_CONFIRM, UPLOAD_DROP, UPLOAD_PREVIEW, UPLOAD_RESULT, UPLOAD_TOKEN
from tests.web.browsing import HTML, log_in
from tests.web.pages.dash_requests import call_callback, response_values
from tests.web.world import World

SAMPLE = Path(__file__).parents[2] / "data" / "layouts" / "wide_end_2400_sep_line.csv"  # 144 readings, 1 MPAN


def drop(client: FlaskClient, data: bytes, filename: str) -> dict[str, dict[str, object]]:
    contents = "data:text/csv;base64," + base64.b64encode(data).decode()
    values = {f"{UPLOAD_DROP}.contents": contents, f"{UPLOAD_DROP}.filename": filename}
    return response_values(call_callback(client, f"{UPLOAD_PREVIEW}.children", values, [f"{UPLOAD_DROP}.contents"]))


def confirm(client: FlaskClient, token: object) -> dict[str, dict[str, object]]:
    values = {f"{UPLOAD_CONFIRM}.n_clicks": 1, f"{UPLOAD_TOKEN}.data": token}
    return response_values(call_callback(client, f"{UPLOAD_RESULT}.children", values, [f"{UPLOAD_CONFIRM}.n_clicks"]))


def readings(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(Reading)) or 0)


def test_admin_previews_then_imports_into_the_unassigned_queue(
    client: FlaskClient, world: World, world_session_factory: sessionmaker[Session]
) -> None:
    log_in(client, world.admin.email, world.admin.password)
    client.get("/upload", headers=HTML)
    before = readings(world_session_factory)
    out = drop(client, SAMPLE.read_bytes(), SAMPLE.name)
    shown = json.dumps(out[UPLOAD_PREVIEW]["children"])
    assert "wide" in shown and "uk-local" in shown and "1234567890126" in shown and "new: Unassigned queue" in shown
    assert "00:30..24:00" in shown and out[UPLOAD_CONFIRM]["disabled"] is False
    assert readings(world_session_factory) == before  # the preview stores nothing
    result = confirm(client, out[UPLOAD_TOKEN]["data"])
    assert "Imported 144 readings for 1 sites" in json.dumps(result[UPLOAD_RESULT]["children"])
    assert readings(world_session_factory) == before + 144
    with world_session_factory() as session:
        organisation = session.scalar(
            select(Organisation.account_number).join(Site).where(Site.name == "1234567890126")
        )
        assert organisation == "UNASSIGNED"
    again = confirm(client, out[UPLOAD_TOKEN]["data"])  # a token is used once
    assert "expired" in json.dumps(again[UPLOAD_RESULT]["children"])


def test_a_bad_file_names_file_line_and_problem_and_stores_nothing(
    client: FlaskClient, world: World, world_session_factory: sessionmaker[Session]
) -> None:
    log_in(client, world.admin.email, world.admin.password)
    client.get("/upload", headers=HTML)
    before = readings(world_session_factory)
    bad = b"MPAN,datetime,kWh\n1234567890123,2024-01-01 00:00,1\n"
    out = drop(client, bad, "typo.csv")
    message = json.dumps(out[UPLOAD_PREVIEW]["children"])
    assert "typo.csv (line 2)" in message and "wrong check digit" in message
    assert out[UPLOAD_TOKEN]["data"] is None and readings(world_session_factory) == before


def test_customers_cannot_upload(customer_client: FlaskClient, world_session_factory: sessionmaker[Session]) -> None:
    before = readings(world_session_factory)
    out = drop(customer_client, SAMPLE.read_bytes(), SAMPLE.name)
    assert "only administrators and brokers" in json.dumps(out[UPLOAD_PREVIEW]["children"])
    assert confirm(customer_client, "made-up-token")[UPLOAD_RESULT]["children"]  # refused, says why
    assert readings(world_session_factory) == before
