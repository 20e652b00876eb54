"""The Data sharing page and shared views render for the signed-in user; other people's views read as missing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import viewer_for
from portfolio.models import AuditEntry, Role, User
from portfolio.services.accounts import create_user
from portfolio.services.shared_views import share_view
from portfolio.services.trackers import READ_ONLY_MESSAGE
from portfolio.web.views.shared_views import REFUSED_VIEW
from tests.web.browsing import HTML, log_in, render_page
from tests.web.world import PASSWORD, World


def _body(client: FlaskClient, path: str) -> str:
    response = render_page(client, path)
    assert response.status_code == 200
    return json.dumps(response.get_json())


def test_the_customer_sees_their_data_sharing_page(customer_client: FlaskClient) -> None:
    body = _body(customer_client, "/consent")
    assert "Data sharing" in body and "Who can see your data" in body and "Share read-only" in body
    assert "Audit: who has seen your data" in body


def test_a_shared_view_opens_for_its_recipient_only(
    client: FlaskClient, world: World, world_session_factory: sessionmaker[Session]
) -> None:
    with world_session_factory() as session:
        customer = session.scalar(select(User).where(User.email == world.customer.email))
        assert customer is not None
        view = share_view(
            session,
            viewer_for(session, customer),
            name="Acme last month",
            group_id="all",
            date_from="2026-01-01",
            date_to="2026-01-31",
            fuel="both",
            granularity="day",
            emails=world.admin.email,
        )
    log_in(client, world.customer.email, world.customer.password)
    client.get("/", headers=HTML)
    assert REFUSED_VIEW in _body(client, f"/shared/{view.id}")  # the sharer is no recipient
    assert REFUSED_VIEW in _body(client, "/shared/999999")
    assert REFUSED_VIEW in _body(client, "/shared/1%20OR%201=1")
    with world_session_factory() as session:
        refused = session.scalars(select(AuditEntry).where(AuditEntry.action == "access_refused")).all()
        assert len(refused) == 3
    recipient = client.application.test_client()
    log_in(recipient, world.admin.email, world.admin.password)
    recipient.get("/", headers=HTML)
    body = _body(recipient, f"/shared/{view.id}")
    assert "Acme last month" in body and "read-only" in body and REFUSED_VIEW not in body


def test_account_managers_are_shown_no_controls_they_may_not_use(
    client: FlaskClient, world: World, world_session_factory: sessionmaker[Session]
) -> None:
    with world_session_factory() as session:
        customer = session.scalar(select(User).where(User.email == world.customer.email))
        assert customer is not None and customer.organisation is not None
        create_user(
            session,
            "am@portfolio.example",
            Role.ACCOUNT_MANAGER,
            PASSWORD,
            linked_organisations=[customer.organisation],
        )
        session.commit()
    log_in(client, "am@portfolio.example", PASSWORD)
    client.get("/", headers=HTML)
    trackers = render_page(client, "/trackers").get_json()
    forms = _find(trackers, lambda props: str(props.get("className", "")).startswith("card tracker-form"))
    assert forms == []  # no form at all, not a disabled one
    assert READ_ONLY_MESSAGE in json.dumps(trackers) and "create one below" not in json.dumps(trackers)
    consent = render_page(client, "/consent").get_json()
    assert not _find(consent, lambda props: props.get("className") == "share-form")  # no share form at all
    assert "Shared with me" in json.dumps(consent)


def _find(node: object, wanted: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        props = node.get("props")
        if isinstance(props, dict) and wanted(props):
            found.append(props)
        for value in node.values():
            found += _find(value, wanted)
    elif isinstance(node, list):
        for value in node:
            found += _find(value, wanted)
    return found
