"""BatchList notifications to an application's notify URI: queued once per run date for new data in scope,
delivered to a real HTTP server on loopback, retried with backoff after a failure, given up after the last try."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import viewer_for
from portfolio.api.scope import parse_scope
from portfolio.exports.espi_validation import load_espi_schema
from portfolio.models import ThirdPartyApplication, ThirdPartyNotification
from portfolio.services.third_parties import authorize, register_application, revoke_authorizations
from portfolio.services.third_party_notifications import MAX_ATTEMPTS, deliver_pending, queue_notifications
from tests.world import build_world

NOW = dt.datetime(2026, 12, 4, 6, tzinfo=dt.UTC)
SCOPE = parse_scope("FB=4;IntervalDuration=1800;BlockDuration=daily")


class Receiver:
    """A loopback HTTP server answering POSTs with the queued status codes (then 200), keeping the bodies."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses, self.bodies = list(statuses), []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                receiver.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(receiver.statuses.pop(0) if receiver.statuses else 200)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/notify"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver([500])
    thread = threading.Thread(target=made.server.serve_forever, daemon=True)
    thread.start()
    yield made
    made.server.shutdown()
    made.server.server_close()


def test_new_data_in_scope_notifies_once_with_retry(
    session: Session, session_factory: sessionmaker[Session], receiver: Receiver
) -> None:
    world = build_world(session)
    registered = register_application(
        session, "Energy Coach", ["http://127.0.0.1:9/cb"], notify_uri=receiver.url, approved=True, now=NOW
    )
    application = session.get(ThirdPartyApplication, registered.application_id)
    customer = viewer_for(session, world.customer, NOW)
    granted, other = world.acme_sites[0].id, world.acme_sites[1].id
    common = {"data_types": ["interval_usage"], "valid_until": None, "accepted_terms": True, "now": NOW}
    authorization = authorize(session, customer, application, SCOPE, site_ids=[granted], **common)
    base = "https://portal.example"

    assert queue_notifications(session, [other], NOW.date(), base, NOW) == 0  # not in the authorization's scope
    assert queue_notifications(session, [granted, other], NOW.date(), base, NOW) == 1
    assert queue_notifications(session, [granted], NOW.date(), base, NOW) == 0  # same run date: once

    first = deliver_pending(session_factory, NOW)
    assert (first.sent, first.retrying) == (0, 1)
    session.expire_all()
    notification = session.scalars(select(ThirdPartyNotification)).one()
    assert notification.status == "pending" and notification.attempts == 1 and "HTTP 500" in notification.last_error
    assert notification.next_attempt_at.replace(tzinfo=dt.UTC) == NOW + dt.timedelta(minutes=5)
    assert deliver_pending(session_factory, NOW + dt.timedelta(minutes=4)).sent == 0  # not due yet
    assert deliver_pending(session_factory, NOW + dt.timedelta(minutes=5)).sent == 1

    assert len(receiver.bodies) == 2 and receiver.bodies[0] == receiver.bodies[1]
    root = etree.fromstring(receiver.bodies[-1])
    assert list(load_espi_schema().iter_errors(root)) == []
    uris = [element.text for element in root]
    assert uris == [f"{base}/espi/1_1/resource/Batch/Subscription/{authorization.uuid}"]

    revoke_authorizations(session, customer, [authorization.uuid], now=NOW)
    assert queue_notifications(session, [granted], NOW.date() + dt.timedelta(days=1), base, NOW) == 0


def test_an_unreachable_notify_uri_is_given_up_after_the_last_attempt(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    world = build_world(session)
    registered = register_application(
        session, "Gone", ["http://127.0.0.1:9/cb"], notify_uri="http://127.0.0.1:9/notify", approved=True, now=NOW
    )
    application = session.get(ThirdPartyApplication, registered.application_id)
    customer = viewer_for(session, world.customer, NOW)
    authorize(
        session,
        customer,
        application,
        SCOPE,
        site_ids=None,
        data_types=["interval_usage"],
        valid_until=None,
        accepted_terms=True,
        now=NOW,
    )
    assert queue_notifications(session, [world.acme_sites[0].id], NOW.date(), "https://p", NOW) == 1
    when = NOW
    for _ in range(MAX_ATTEMPTS):
        report = deliver_pending(session_factory, when)
        when += dt.timedelta(days=1)
    assert report.gave_up == 1 and report.errors
    session.expire_all()
    notification = session.scalars(select(ThirdPartyNotification)).one()
    assert notification.status == "failed" and notification.attempts == MAX_ATTEMPTS
