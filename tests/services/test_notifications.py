"""Email through the outbox to a real SMTP server on loopback; failures wait, are retried, and are never lost."""

from __future__ import annotations

import datetime as dt
import email.policy
import socket
from email import message_from_bytes
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.config import load_settings
from portfolio.models import Notification, OutboxEmail, Role, User
from portfolio.services import notifications
from portfolio.services.notifications import SmtpUrlError, deliver_pending, parse_smtp_url, retry_delay, send_email
from tests.smtp_sink import smtp_sink

NOW = dt.datetime(2026, 11, 26, 6, tzinfo=dt.UTC)


def test_smtp_urls() -> None:
    plain = parse_smtp_url("smtp://mail.example.test:2525")
    assert (plain.host, plain.port, plain.implicit_tls, plain.starttls, plain.username) == (
        "mail.example.test",
        2525,
        False,
        False,
        None,
    )
    submission = parse_smtp_url("smtp://us%40er:p%3Ass@mail.example.test:587?starttls=1&timeout=5")
    assert (submission.username, submission.password, submission.starttls, submission.timeout_s) == (
        "us@er",
        "p:ss",
        True,
        5.0,
    )
    tls = parse_smtp_url("smtps://u:p@mail.example.test")
    assert (tls.port, tls.implicit_tls) == (465, True)
    assert parse_smtp_url("smtp://localhost").port == 25
    for bad in ("http://mail", "smtp://", "smtp://host:notaport"):
        with pytest.raises(SmtpUrlError):
            parse_smtp_url(bad)


def test_the_greeting_name_is_configurable_and_needs_no_dns_lookup() -> None:
    with smtp_sink() as sink:
        target = parse_smtp_url(f"{sink.url}&helo=portfolio.example.test")
        assert target.helo == "portfolio.example.test"
        send_email(target, "portfolio@example.test", "a@example.test", "Named", "body")
        send_email(parse_smtp_url(sink.url), "portfolio@example.test", "a@example.test", "Default", "body")
        sink.wait_for("a@example.test", count=2)
    assert sink.greetings == ["portfolio.example.test", socket.gethostname()]


def test_retry_delays_double_up_to_six_hours() -> None:
    assert [retry_delay(n).total_seconds() / 60 for n in (1, 2, 3)] == [10, 20, 40]
    assert retry_delay(10) == dt.timedelta(hours=6)


class _Sink:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001 - aiosmtpd's hook signature
        self.messages.append(message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _user(factory: sessionmaker[Session]) -> int:
    with factory.begin() as session:
        user = User(email="ops@example.test", password_hash="x", role=Role.ADMIN)
        session.add(user)
        session.flush()
        notifications.queue_email(session, user, key="k1", subject="Hello", body="Body £ and “quotes”", now=NOW)
        assert not notifications.queue_email(session, user, key="k1", subject="Again", body="x", now=NOW)
        return user.id


def test_nothing_listening_keeps_the_email_then_gives_up_telling_the_user(
    session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    user_id = _user(session_factory)
    port = _free_port()  # nothing listens there: connection refused
    settings = load_settings(
        {}, instance_path=tmp_path, database_url="unused", secret_key="x", smtp_url=f"smtp://127.0.0.1:{port}?timeout=2"
    )
    now = NOW
    for attempt in range(1, notifications.MAX_ATTEMPTS + 1):
        report = deliver_pending(session_factory, settings, now=now)
        assert report.sent == 0 and len(report.errors) == 1
        with session_factory() as session:
            stored = session.scalar(select(OutboxEmail))
            assert stored.attempts == attempt and "Connection refused" in (stored.last_error or "")
        assert deliver_pending(session_factory, settings, now=now).errors == []  # not due again yet
        now += dt.timedelta(days=1)
    with session_factory() as session:
        assert session.scalar(select(OutboxEmail)).status == "failed"
        [told] = session.scalars(select(Notification).where(Notification.user_id == user_id)).all()
        assert told.title == "An email could not be delivered" and "Hello" in told.body


def test_an_email_goes_out_once(session_factory: sessionmaker[Session], tmp_path: Path) -> None:
    _user(session_factory)
    sink, port = _Sink(), _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = load_settings(
            {},
            instance_path=tmp_path,
            database_url="unused",
            secret_key="x",
            smtp_url=f"smtp://127.0.0.1:{port}",
            mail_from="portfolio@example.test",
        )
        assert deliver_pending(session_factory, settings, now=NOW).sent == 1
        assert deliver_pending(session_factory, settings, now=NOW + dt.timedelta(days=1)).sent == 0
    finally:
        controller.stop()
    [message] = sink.messages
    assert message["Subject"] == "Hello" and message["From"] == "portfolio@example.test"
    assert message.get_content().strip() == "Body £ and “quotes”"
