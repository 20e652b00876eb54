"""One-time account links: hashed storage, single use, expiry at the boundary, no enumeration, sessions ended.

Emails go through the outbox and a real SMTP server on loopback (aiosmtpd); runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.config import Settings, load_settings
from portfolio.models import AccountToken, AuditEntry, Organisation, OutboxEmail, Role, TokenPurpose, User
from portfolio.queries import account_tokens as token_queries
from portfolio.queries.sessions import count_user_sessions, insert_session
from portfolio.services import account_tokens
from portfolio.services.account_tokens import LinkError, LinkState
from portfolio.services.accounts import UserError, check_password, create_user
from portfolio.services.notifications import deliver_pending
from tests.smtp_sink import SmtpSink, body_of, link_in, smtp_sink

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with smtp_sink() as sink:
        yield sink


@pytest.fixture
def settings(tmp_path: Path, sink: SmtpSink) -> Settings:
    return load_settings(
        {},
        instance_path=tmp_path,
        database_url="unused",
        secret_key="x",
        smtp_url=sink.url,
        base_url="https://portfolio.example.test",
    )


@pytest.fixture
def people(session_factory: sessionmaker[Session]) -> dict[str, int]:
    with session_factory.begin() as session:
        acme = Organisation(name="Acme Foods", account_number="ACME-001")
        session.add(acme)
        session.flush()
        buyer = create_user(session, "buyer@acme.example", Role.CUSTOMER, PASSWORD, organisation=acme)
        admin = create_user(session, "admin@portfolio.example", Role.ADMIN, PASSWORD)
        return {"buyer": buyer.id, "admin": admin.id}


def _sessions(session: Session, user_id: int, count: int = 2) -> None:
    for n in range(count):
        insert_session(
            session,
            id_hash=hashlib.sha256(f"{user_id}-{n}".encode()).hexdigest(),
            user_id=user_id,
            created_ts=1,
            now_ts=1,
            client_hash="c",
            privilege_hash="p",
            ip=None,
        )


def _invite(factory: sessionmaker[Session], settings: Settings, user_id: int, now: dt.datetime = NOW) -> None:
    with factory.begin() as session:
        account_tokens.send_invitation(session, session.get(User, user_id), settings=settings, now=now)


def _sent_link(factory: sessionmaker[Session], settings: Settings, sink: SmtpSink, to: str, now: dt.datetime) -> str:
    deliver_pending(factory, settings, now=now)
    return link_in(sink.to(to)[-1])


def _token(link: str) -> str:
    return parse_qs(urlsplit(link).query)["token"][0]


def test_an_invitation_is_emailed_with_a_link_whose_token_is_stored_only_hashed(
    session_factory: sessionmaker[Session], settings: Settings, sink: SmtpSink, people: dict[str, int]
) -> None:
    _invite(session_factory, settings, people["buyer"])
    link = _sent_link(session_factory, settings, sink, "buyer@acme.example", NOW)
    assert link.startswith("https://portfolio.example.test/account/set-password?token=")
    raw = _token(link)
    assert len(raw) >= 40
    with session_factory() as session:
        [stored] = session.scalars(select(AccountToken)).all()
        assert stored.token_hash == hashlib.sha256(raw.encode()).hexdigest()
        assert raw not in repr([getattr(stored, c.key) for c in AccountToken.__table__.columns])
        assert stored.purpose == TokenPurpose.INVITATION
        assert account_tokens._utc(stored.expires_at) - NOW == dt.timedelta(days=7)
    [message] = sink.to("buyer@acme.example")
    assert message["Subject"] == "Your invitation to Portfolio" and "expires in 7 days" in body_of(message)


def test_a_link_sets_the_password_once_and_ends_every_session(
    session_factory: sessionmaker[Session], settings: Settings, sink: SmtpSink, people: dict[str, int]
) -> None:
    _invite(session_factory, settings, people["buyer"])
    raw = _token(_sent_link(session_factory, settings, sink, "buyer@acme.example", NOW))
    with session_factory.begin() as session:
        _sessions(session, people["buyer"])
    later = NOW + dt.timedelta(days=2)
    with session_factory() as session:
        user = account_tokens.redeem(session, raw, NEW_PASSWORD, confirm=NEW_PASSWORD, now=later, ip="192.0.2.1")
        assert check_password(user, NEW_PASSWORD) and not check_password(user, PASSWORD)
        assert count_user_sessions(session, people["buyer"]) == 0
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "invitation_accepted")).all()
        assert entry.user_id == people["buyer"] and entry.detail == {"sessions_ended": 2}
    with session_factory() as session:
        with pytest.raises(LinkError) as refused:
            account_tokens.redeem(session, raw, "yet another passphrase", now=later, ip=None)
        assert refused.value.check.state is LinkState.USED
        assert account_tokens.check_link(session, raw, later).state is LinkState.USED
        assert check_password(session.get(User, people["buyer"]), NEW_PASSWORD)


@pytest.mark.parametrize(
    ("purpose", "lifetime"), [("invitation", dt.timedelta(days=7)), ("reset", dt.timedelta(hours=1))]
)
def test_a_link_works_until_the_last_second_of_its_lifetime_and_not_at_it(
    session_factory: sessionmaker[Session],
    settings: Settings,
    sink: SmtpSink,
    people: dict[str, int],
    purpose: str,
    lifetime: dt.timedelta,
) -> None:
    with session_factory.begin() as session:
        user = session.get(User, people["buyer"])
        if purpose == "invitation":
            account_tokens.send_invitation(session, user, settings=settings, now=NOW)
        else:
            assert account_tokens.send_password_reset(session, user, settings=settings, now=NOW)
    raw = _token(_sent_link(session_factory, settings, sink, "buyer@acme.example", NOW))
    with session_factory() as session:
        assert (
            account_tokens.check_link(session, raw, NOW + lifetime - dt.timedelta(seconds=1)).state is LinkState.VALID
        )
        assert account_tokens.check_link(session, raw, NOW + lifetime).state is LinkState.EXPIRED
        with pytest.raises(LinkError) as refused:
            account_tokens.redeem(session, raw, NEW_PASSWORD, now=NOW + lifetime, ip=None)
        assert refused.value.check.state is LinkState.EXPIRED
        assert refused.value.check.purpose == TokenPurpose(purpose)
    with session_factory() as session:
        user = account_tokens.redeem(session, raw, NEW_PASSWORD, now=NOW + lifetime - dt.timedelta(seconds=1), ip=None)
        assert check_password(user, NEW_PASSWORD)


def test_lifetimes_come_from_the_environment() -> None:
    settings = load_settings(
        {"PORTFOLIO_INVITATION_VALID_DAYS": "3", "PORTFOLIO_RESET_VALID_MINUTES": "15"},
        instance_path="/tmp",
        secret_key="x",
    )
    assert (settings.invitation_valid_seconds, settings.reset_valid_seconds) == (3 * 86400, 15 * 60)
    defaults = load_settings({}, instance_path="/tmp", secret_key="x")
    assert (defaults.invitation_valid_seconds, defaults.reset_valid_seconds) == (7 * 86400, 3600)


def test_a_newer_link_ends_the_older_one_and_a_weak_password_spends_nothing(
    session_factory: sessionmaker[Session], settings: Settings, sink: SmtpSink, people: dict[str, int]
) -> None:
    _invite(session_factory, settings, people["buyer"])
    first = _token(_sent_link(session_factory, settings, sink, "buyer@acme.example", NOW))
    _invite(session_factory, settings, people["buyer"], NOW + dt.timedelta(minutes=5))
    second = _token(_sent_link(session_factory, settings, sink, "buyer@acme.example", NOW + dt.timedelta(minutes=5)))
    later = NOW + dt.timedelta(minutes=10)
    with session_factory() as session:
        assert account_tokens.check_link(session, first, later).state is LinkState.EXPIRED
        for weak, confirm in (("short", "short"), (NEW_PASSWORD, "something else entirely")):
            with pytest.raises(UserError):
                account_tokens.redeem(session, second, weak, confirm=confirm, now=later, ip=None)
        assert account_tokens.check_link(session, second, later).state is LinkState.VALID
        for junk in ("", "x" * 500, first[:-1], "\x00"):
            assert account_tokens.check_link(session, junk, later).state is LinkState.UNKNOWN


def test_reset_answers_alike_for_unknown_and_known_addresses_and_emails_only_the_real_one(
    session_factory: sessionmaker[Session], settings: Settings, sink: SmtpSink, people: dict[str, int]
) -> None:
    with session_factory() as session:
        assert (
            account_tokens.request_password_reset(
                session, "nobody@acme.example", settings=settings, now=NOW, ip="192.0.2.9"
            )
            is None
        )
        assert session.scalars(select(OutboxEmail)).all() == []
        sent = account_tokens.request_password_reset(
            session, " Buyer@ACME.example ", settings=settings, now=NOW, ip="192.0.2.9"
        )
        assert sent is not None
    assert deliver_pending(session_factory, settings, now=NOW, only=[sent]).sent == 1
    assert [m["To"] for m in sink.messages] == ["buyer@acme.example"]
    assert sink.messages[0]["Subject"] == "Reset your Portfolio password"
    assert "expires in 1 hour" in body_of(sink.messages[0])
    with session_factory() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "password_reset_requested")).all()
        assert [e.detail["sent"] for e in entries] == [False, True]


def test_deactivated_accounts_get_no_reset_and_their_links_stop_working(
    session_factory: sessionmaker[Session], settings: Settings, sink: SmtpSink, people: dict[str, int]
) -> None:
    _invite(session_factory, settings, people["buyer"])
    raw = _token(_sent_link(session_factory, settings, sink, "buyer@acme.example", NOW))
    with session_factory.begin() as session:
        session.get(User, people["buyer"]).is_active = False
    with session_factory() as session:
        assert account_tokens.check_link(session, raw, NOW).state is LinkState.UNKNOWN
        assert (
            account_tokens.request_password_reset(session, "buyer@acme.example", settings=settings, now=NOW, ip=None)
            is None
        )


def test_an_account_receives_at_most_three_reset_emails_an_hour(
    session_factory: sessionmaker[Session], settings: Settings, people: dict[str, int]
) -> None:
    with session_factory() as session:
        sent = [
            account_tokens.request_password_reset(
                session, "buyer@acme.example", settings=settings, now=NOW + dt.timedelta(minutes=n), ip=None
            )
            for n in range(5)
        ]
        assert [s is not None for s in sent] == [True, True, True, False, False]
        assert (
            account_tokens.request_password_reset(
                session, "buyer@acme.example", settings=settings, now=NOW + dt.timedelta(minutes=61), ip=None
            )
            is not None
        )


def test_a_reset_ends_sessions_and_the_pending_invitation(
    session_factory: sessionmaker[Session], settings: Settings, sink: SmtpSink, people: dict[str, int]
) -> None:
    _invite(session_factory, settings, people["buyer"])
    invitation = _token(_sent_link(session_factory, settings, sink, "buyer@acme.example", NOW))
    with session_factory() as session:
        account_tokens.request_password_reset(session, "buyer@acme.example", settings=settings, now=NOW, ip=None)
    reset = _token(_sent_link(session_factory, settings, sink, "buyer@acme.example", NOW))
    with session_factory.begin() as session:
        _sessions(session, people["buyer"], 3)
    with session_factory() as session:
        account_tokens.redeem(session, reset, NEW_PASSWORD, now=NOW + dt.timedelta(minutes=1), ip=None)
        assert count_user_sessions(session, people["buyer"]) == 0
        assert account_tokens.check_link(session, invitation, NOW + dt.timedelta(minutes=2)).state is LinkState.EXPIRED


def test_an_expired_invitation_can_ask_for_a_new_one_but_an_accepted_one_cannot(
    session_factory: sessionmaker[Session], settings: Settings, sink: SmtpSink, people: dict[str, int]
) -> None:
    _invite(session_factory, settings, people["buyer"])
    old = _token(_sent_link(session_factory, settings, sink, "buyer@acme.example", NOW))
    later = NOW + dt.timedelta(days=8)
    with session_factory() as session:
        assert account_tokens.renew_invitation(session, old, settings=settings, now=NOW, ip=None) is None  # still live
        assert account_tokens.renew_invitation(session, "made-up", settings=settings, now=later, ip=None) is None
        assert account_tokens.renew_invitation(session, old, settings=settings, now=later, ip=None) is not None
    new = _token(_sent_link(session_factory, settings, sink, "buyer@acme.example", later))
    assert new != old
    with session_factory() as session:
        account_tokens.redeem(session, new, NEW_PASSWORD, now=later, ip=None)
        assert account_tokens.renew_invitation(session, old, settings=settings, now=later, ip=None) is None
        assert account_tokens.renew_invitation(session, new, settings=settings, now=later, ip=None) is None


def test_short_reset_lifetime_from_settings_is_honoured(
    session_factory: sessionmaker[Session], settings: Settings, sink: SmtpSink, people: dict[str, int]
) -> None:
    quick = dataclasses.replace(settings, reset_valid_seconds=600)
    with session_factory() as session:
        account_tokens.request_password_reset(session, "buyer@acme.example", settings=quick, now=NOW, ip=None)
    raw = _token(_sent_link(session_factory, quick, sink, "buyer@acme.example", NOW))
    assert "expires in 10 minutes" in body_of(sink.messages[-1])
    with session_factory() as session:
        assert account_tokens.check_link(session, raw, NOW + dt.timedelta(minutes=10)).state is LinkState.EXPIRED


def test_two_requests_spending_one_link_at_once_let_only_one_win(
    session_factory: sessionmaker[Session], settings: Settings, people: dict[str, int]
) -> None:
    _invite(session_factory, settings, people["buyer"])
    with session_factory() as session:
        [token_id] = session.scalars(select(AccountToken.id)).all()
    with session_factory() as first, session_factory() as second:
        assert token_queries.mark_used(first, token_id, NOW)
        first.commit()
        assert not token_queries.mark_used(second, token_id, NOW)
