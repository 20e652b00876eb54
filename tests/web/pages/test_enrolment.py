"""Enrolment in the web app, called as a browser would: the admin upload, the contact-details prompt, and the
half-hourly opt-out by button and by signed link."""

from __future__ import annotations

import base64
import json
import re

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.config import Settings
from portfolio.models import Enrolment, Organisation
from portfolio.services import opt_out
from portfolio.services.customers import import_customer_list
from portfolio.web.views.opt_out import OPT_OUT_BUTTON, OPT_OUT_MESSAGE
from portfolio.web.views.organisations import ORGANISATIONS_RESULT, ORGANISATIONS_TABLE, ORGANISATIONS_UPLOAD
from tests.web.browsing import HTML, csrf_cookie, log_in
from tests.web.pages.dash_requests import call_callback, response_values
from tests.web.world import World

HEADER = "Account Number,Organisation Name,Micro Business,Billing Portal User,Contact Name,Contact Email,Contact Type"
ACME_MICRO_NO_CONTACT = f"{HEADER}\nACME-001,Acme Foods,Yes,No,,,\n"


def upload(client: FlaskClient, text: str) -> dict[str, dict[str, object]]:
    contents = "data:text/csv;base64," + base64.b64encode(text.encode()).decode()
    values = {f"{ORGANISATIONS_UPLOAD}.contents": contents, f"{ORGANISATIONS_UPLOAD}.filename": "customers.csv"}
    changed = [f"{ORGANISATIONS_UPLOAD}.contents"]
    return response_values(call_callback(client, f"{ORGANISATIONS_RESULT}.children", values, changed))


def test_admin_uploads_the_list_and_sees_the_states(client: FlaskClient, world: World) -> None:
    log_in(client, world.admin.email, world.admin.password)
    client.get("/organisations", headers=HTML)
    out = upload(client, f"{HEADER}\nNEW-1,New Co,No,Yes,Nia,nia@new.example,Primary\n")
    assert "1 created, 0 changed, 0 unchanged; 1 invited" in json.dumps(out[ORGANISATIONS_RESULT]["children"])
    assert "invited" in json.dumps(out[ORGANISATIONS_TABLE]["children"])
    refused = upload(client, f"{HEADER}\nNEW-1,New Co,No,Yes,Nia,nia@@new,Primary\n")
    shown = json.dumps(refused[ORGANISATIONS_RESULT]["children"])
    assert "nothing was changed" in shown and "line 2" in shown and ORGANISATIONS_TABLE not in refused


def test_customers_cannot_upload_the_list(customer_client: FlaskClient) -> None:
    out = upload(customer_client, f"{HEADER}\nNEW-1,New Co,No,No,,,\n")
    assert "only administrators" in json.dumps(out[ORGANISATIONS_RESULT]["children"])


def test_prompt_then_opt_out_by_button(
    client: FlaskClient, world: World, world_session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with world_session_factory() as session:
        import_customer_list(session, "c.csv", ACME_MICRO_NO_CONTACT.encode(), settings=settings)
    log_in(client, world.customer.email, world.customer.password)
    assert client.get("/", headers=HTML).headers["Location"] == "/contact-details"
    page = client.get("/contact-details", headers=HTML)
    assert page.status_code == 200 and b"Primary contact" in page.data
    token = csrf_cookie(client)
    bad = client.post("/contact-details", data={"csrf_token": token, "primary_name": "Pat", "primary_email": "x"})
    assert bad.status_code == 200 and b"is not an email address" in bad.data  # the form again, with the problem
    good = {"csrf_token": token, "primary_name": "Pat", "primary_email": "pat@acme.example"}
    assert client.post("/contact-details", data=good).status_code == 303
    assert client.get("/", headers=HTML).status_code == 200
    values = {f"{OPT_OUT_BUTTON}.n_clicks": 1}
    out = response_values(call_callback(client, f"{OPT_OUT_MESSAGE}.children", values, [f"{OPT_OUT_BUTTON}.n_clicks"]))
    assert "Opted out" in out[OPT_OUT_MESSAGE]["children"]
    with world_session_factory() as session:
        acme = session.scalars(select(Organisation.id).where(Organisation.account_number == "ACME-001")).one()
        assert session.get(Enrolment, acme).opted_out_at is not None


def test_the_signed_link_opts_out_without_signing_in(
    client: FlaskClient, world: World, world_session_factory: sessionmaker[Session], settings: Settings
) -> None:
    with world_session_factory() as session:
        import_customer_list(session, "c.csv", ACME_MICRO_NO_CONTACT.encode(), settings=settings)
        acme = session.scalars(select(Organisation.id).where(Organisation.account_number == "ACME-001")).one()
    link = opt_out.make_token(settings, acme)
    assert client.get("/opt-out?token=forged", headers=HTML).status_code == 400
    shown = client.get(f"/opt-out?token={link}", headers=HTML)
    assert shown.status_code == 200 and b"opt-out-confirm" in shown.data
    form_token = re.search(rb'name="csrf_token" value="([^"]+)"', shown.data)
    assert form_token is not None
    done = client.post("/opt-out", data={"csrf_token": form_token.group(1).decode(), "token": link})
    assert done.status_code == 200 and b"You have opted out" in done.data
    with world_session_factory() as session:
        assert session.get(Enrolment, acme).opted_out_at is not None
