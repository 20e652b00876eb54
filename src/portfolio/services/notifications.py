"""Notifications: in-app (the bell) and email through an outbox, sent over SMTP with retries.

An email is first a row in ``email_outbox`` written in the same transaction as the event that caused it,
then sent by :func:`deliver_pending` (the pipeline's last step). A failed send keeps the row with its
error, counts the attempt and waits ``RETRY_BASE`` x 2^(attempts-1) (at most ``RETRY_MAX``) before the
next run tries again; after ``MAX_ATTEMPTS`` it is marked failed and the user is told in the app. Nothing
is dropped silently: every failure is logged and visible to the user (trackers page) and admins (Pipeline).

SMTP URL: ``smtp://host:port`` (plain, default port 25), ``smtp://user:pass@host:587?starttls=1``
(STARTTLS), ``smtps://user:pass@host`` (implicit TLS, default port 465); ``timeout=SECONDS`` (default 20).
User and password are percent-decoded.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import socket
import ssl
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy.orm import Session, sessionmaker

from portfolio.config import Settings
from portfolio.db import transaction
from portfolio.models import Notification, NotificationPreference, OutboxEmail, OutboxStatus, User
from portfolio.queries import notifications as notification_queries

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
RETRY_BASE = dt.timedelta(minutes=10)
RETRY_MAX = dt.timedelta(hours=6)  # below a day, so a daily pipeline retries on every run
_TRUE = {"1", "true", "yes", "on"}


class SmtpUrlError(ValueError):
    """An SMTP URL this module cannot use."""


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout_s: float = 20.0
    helo: str = ""
    """The name we greet the server with; empty means this machine's host name (no DNS lookup, which can stall)."""


@dataclass(frozen=True)
class Channels:
    email: bool = True
    in_app: bool = True


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    gave_up: int = 0
    errors: list[dict[str, object]] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {"sent": self.sent, "retrying": self.retrying, "gave_up": self.gave_up, "errors": self.errors}


def parse_smtp_url(url: str) -> SmtpTarget:
    """Read ``smtp://[user:pass@]host[:port][?starttls=1&timeout=20&helo=mail.example.com]`` or ``smtps://...``."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("smtp", "smtps"):
        raise SmtpUrlError(f"SMTP URL must start with smtp:// or smtps://, not {parts.scheme or '(none)'}://")
    if not parts.hostname:
        raise SmtpUrlError("SMTP URL has no host")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    implicit = parts.scheme == "smtps"
    try:
        port = parts.port or (465 if implicit else 25)
        timeout = float(query.get("timeout", "20"))
    except ValueError as error:
        raise SmtpUrlError(f"SMTP URL: {error}") from None
    return SmtpTarget(
        host=parts.hostname,
        port=port,
        implicit_tls=implicit,
        starttls=not implicit and query.get("starttls", "").lower() in _TRUE,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        timeout_s=timeout,
        helo=query.get("helo", "").strip(),
    )


def send_email(target: SmtpTarget, mail_from: str, to: str, subject: str, body: str) -> None:
    """Send one plain-text email; raises ``smtplib.SMTPException`` or ``OSError`` on any failure."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = mail_from, to, subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=mail_from.rpartition("@")[2] or None)
    message.set_content(body)
    context = ssl.create_default_context()
    # smtplib's default greeting name is socket.getfqdn(), a reverse DNS lookup that can stall for seconds where
    # DNS is slow or absent; the host name needs no lookup and an operator can name the machine with ?helo=.
    helo = target.helo or socket.gethostname() or "localhost"
    client: smtplib.SMTP
    if target.implicit_tls:
        client = smtplib.SMTP_SSL(
            target.host, target.port, local_hostname=helo, timeout=target.timeout_s, context=context
        )
    else:
        client = smtplib.SMTP(target.host, target.port, local_hostname=helo, timeout=target.timeout_s)
    with client:
        if target.starttls:
            client.starttls(context=context)
        if target.username:
            client.login(target.username, target.password or "")
        client.send_message(message)


def channels_for(session: Session, user_id: int) -> Channels:
    preference = notification_queries.load_preference(session, user_id)
    return Channels() if preference is None else Channels(email=bool(preference.email), in_app=bool(preference.in_app))


def save_channels(session: Session, user_id: int, *, email: bool, in_app: bool) -> Channels:
    preference = notification_queries.load_preference(session, user_id)
    if preference is None:
        session.add(NotificationPreference(user_id=user_id, email=email, in_app=in_app))
    else:
        preference.email, preference.in_app = email, in_app
    session.flush()
    return Channels(email=email, in_app=in_app)


def update_channels(session: Session, user_id: int, *, email: bool, in_app: bool) -> Channels:
    """Save the user's channels from the page and commit."""
    channels = save_channels(session, user_id, email=email, in_app=in_app)
    session.commit()
    return channels


def mark_read(session: Session, user_id: int, notification_ids: Sequence[int] | None, now: dt.datetime) -> None:
    """Mark the user's notifications read (all of them when ``notification_ids`` is None) and commit.

    Ids of other users' notifications change nothing.
    """
    if notification_ids is None:
        notification_queries.mark_all_read(session, user_id, now)
    else:
        notification_queries.mark_read(session, user_id, notification_ids, now)
    session.commit()


def add_in_app(
    session: Session, user_id: int, *, key: str | None, title: str, body: str, link: str | None, now: dt.datetime
) -> bool:
    """Add a bell notification unless one with ``key`` exists; return whether one was added."""
    if key is not None and notification_queries.notification_exists(session, key):
        return False
    session.add(
        Notification(
            user_id=user_id,
            dedupe_key=key,
            title=title[:200],
            body=body[:2000],
            link=link[:1000] if link else None,
            created_at=now,
        )
    )
    session.flush()
    return True


def queue_email(session: Session, user: User, *, key: str | None, subject: str, body: str, now: dt.datetime) -> bool:
    """Put an email in the outbox unless one with ``key`` exists; sending happens in :func:`deliver_pending`."""
    if key is not None and notification_queries.outbox_exists(session, key):
        return False
    session.add(
        OutboxEmail(
            user_id=user.id,
            dedupe_key=key,
            to_address=user.email,
            subject=subject[:300],
            body=body[:10000],
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )
    session.flush()
    return True


def notify(
    session: Session,
    user: User,
    *,
    key: str,
    title: str,
    body: str,
    link: str | None,
    email_subject: str,
    email_body: str,
    now: dt.datetime,
) -> Channels:
    """Notify ``user`` on the channels they chose; ``key`` keeps each channel to one message per event."""
    channels = channels_for(session, user.id)
    sent_in_app = channels.in_app and add_in_app(
        session, user.id, key=f"{key}:app", title=title, body=body, link=link, now=now
    )
    sent_email = channels.email and queue_email(
        session, user, key=f"{key}:email", subject=email_subject, body=email_body, now=now
    )
    return Channels(email=bool(sent_email), in_app=bool(sent_in_app))


def retry_delay(attempts: int) -> dt.timedelta:
    """Wait before attempt ``attempts + 1``: 10 min, 20 min, 40 min ... at most 6 hours."""
    return min(RETRY_BASE * (2 ** max(attempts - 1, 0)), RETRY_MAX)


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        message = (
            error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else str(error.smtp_error)
        )
        return f"SMTP {error.smtp_code}: {message}"[:1000]
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return f"recipient refused: {error.recipients}"[:1000]
    return f"{type(error).__name__}: {error}"[:1000]


def deliver_pending(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    now: dt.datetime | None = None,
    only: Collection[int] | None = None,
) -> DeliveryReport:
    """Send the outbox emails that are due, each in its own transaction; failures wait and are retried later.

    ``only`` limits the run to these outbox ids (an account link is sent at once, not at the next daily run).
    """
    now = now or dt.datetime.now(dt.UTC)
    report = DeliveryReport()
    try:
        target = parse_smtp_url(settings.smtp_url)
    except SmtpUrlError as error:
        log.error("cannot send email: %s", error)
        report.errors.append({"email_id": None, "error": str(error)})
        target = None
    with factory() as session:
        due = notification_queries.load_due_email_ids(session, now)
    if only is not None:
        due = [email_id for email_id in due if email_id in set(only)]
    for email_id in due:
        with transaction(factory) as session:
            email = notification_queries.load_email_for_update(session, email_id)
            if email is None or email.status != OutboxStatus.PENDING:
                continue
            try:
                if target is None:
                    raise SmtpUrlError(f"the SMTP URL is unusable: {settings.smtp_url!r}")
                send_email(target, settings.mail_from, email.to_address, email.subject, email.body)
            except (smtplib.SMTPException, OSError, SmtpUrlError) as error:
                _record_failure(session, email, _describe(error), now, report)
                continue
            email.status, email.sent_at, email.attempts = OutboxStatus.SENT, now, email.attempts + 1
            email.last_error = None
            report.sent += 1
    return report


def _record_failure(session: Session, email: OutboxEmail, error: str, now: dt.datetime, report: DeliveryReport) -> None:
    email.attempts += 1
    email.last_error = error
    report.errors.append({"email_id": email.id, "to": email.to_address, "attempt": email.attempts, "error": error})
    if email.attempts >= MAX_ATTEMPTS:
        email.status = OutboxStatus.FAILED
        report.gave_up += 1
        log.error("email %s to %s failed %s times; giving up: %s", email.id, email.to_address, email.attempts, error)
        if email.user_id is not None:
            add_in_app(
                session,
                email.user_id,
                key=f"outbox-failed:{email.id}",
                title="An email could not be delivered",
                body=f"“{email.subject}” could not be sent after {email.attempts} attempts: {error}",
                link="/trackers",
                now=now,
            )
        return
    email.next_attempt_at = now + retry_delay(email.attempts)
    report.retrying += 1
    log.warning(
        "email %s to %s not sent (attempt %s), retrying after %s: %s",
        email.id,
        email.to_address,
        email.attempts,
        email.next_attempt_at.isoformat(),
        error,
    )
