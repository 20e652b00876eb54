"""Micro-business half-hourly opt-out: the 7-day notice, opting out (and back in), and removing what must go.

A micro-business customer with an AMR or smart meter is told, by email and in the app, that half-hourly data
will be collected unless it opts out within :data:`NOTICE_DAYS` days. One click (the signed link in the email, or
the button on the Data sharing page) opts the organisation out; it may opt back in at any time. While opted out,
:mod:`portfolio.access` gives nobody its interval usage and imports keep its daily totals only
(:mod:`portfolio.ingest.loader`). Opting out before the deadline also removes the half-hourly and hourly readings
already imported (daily totals stay) and brings the derived series up to date in the same transaction. Everything
is audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, Viewer, can_manage_consent
from portfolio.config import Settings
from portfolio.models import Enrolment
from portfolio.queries import enrolment as queries
from portfolio.queries.missing_estimates import forget_estimates
from portfolio.services import audit
from portfolio.services import series as portfolio_series
from portfolio.services.expected_scope_sums import forget_site_predictions
from portfolio.services.notifications import add_in_app, queue_email

NOTICE_DAYS = 7
_SALT = "portfolio.hh-opt-out"
WHY_DAILY_ONLY = (
    "This organisation opted out of half-hourly data as a micro-business: only daily totals are kept and shown "
    "for its sites (graphs, exports, trackers and connected applications)."
)


class OptOutError(ValueError):
    """An opt-out or opt-in that cannot be made; the message says why."""


@dataclass(frozen=True)
class OptOutState:
    """What the Data sharing page shows about an organisation's half-hourly data."""

    organisation_id: int
    micro_business: bool
    notice_at: dt.datetime | None
    deadline: dt.datetime | None
    opted_out_at: dt.datetime | None

    @property
    def opted_out(self) -> bool:
        return self.opted_out_at is not None


@dataclass(frozen=True)
class OptOutResult:
    changed: bool
    within_deadline: bool
    readings_removed: int


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def deadline_of(enrolment: Enrolment) -> dt.datetime | None:
    notice = _utc(enrolment.notice_at)
    return notice + dt.timedelta(days=NOTICE_DAYS) if notice else None


def make_token(settings: Settings, organisation_id: int) -> str:
    """The signed part of the one-click opt-out link (no secret in it: only the organisation, signed)."""
    return str(URLSafeSerializer(settings.secret_key, salt=_SALT).dumps({"o": int(organisation_id)}))


def read_token(settings: Settings, token: object) -> int:
    """The organisation a link names; AccessDenied for anything not signed by this install."""
    if not isinstance(token, str) or not 0 < len(token) <= 200:
        raise AccessDenied("this opt-out link is not valid")
    try:
        payload = URLSafeSerializer(settings.secret_key, salt=_SALT).loads(token)
        return int(payload["o"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise AccessDenied("this opt-out link is not valid") from None


def opt_out_link(settings: Settings, organisation_id: int) -> str:
    return f"{settings.base_url.rstrip('/')}/opt-out?token={make_token(settings, organisation_id)}"


def send_due_notices(
    session: Session, settings: Settings, now: dt.datetime, organisation_ids: Iterable[int] | None = None
) -> int:
    """Send the opt-out notice to micro-businesses with AMR/smart meters and users that have not had it.

    Email (outbox) and in-app, to every active customer user of the organisation; ``notice_at`` starts the 7 days.
    Organisations without a user yet wait (their users get it once enrolled). The caller commits.
    """
    enrolments = [
        e
        for e in queries.load_enrolments(session, organisation_ids).values()
        if e.micro_business and e.notice_at is None and e.opted_out_at is None
    ]
    metered = queries.load_interval_meter_organisation_ids(session, [e.organisation_id for e in enrolments])
    users = queries.load_customer_users(session, metered)
    sent = 0
    for enrolment in enrolments:
        recipients = users.get(enrolment.organisation_id, [])
        if enrolment.organisation_id not in metered or not recipients:
            continue
        enrolment.notice_at = now
        deadline = now + dt.timedelta(days=NOTICE_DAYS)
        link = opt_out_link(settings, enrolment.organisation_id)
        when = f"{deadline:%d %B %Y %H:%M} UTC"
        body = (
            "As a micro-business with a smart or AMR meter, your half-hourly consumption will be collected and shown "
            f"in the portal. You may opt out of half-hourly data retrieval by {when}: we then keep and show daily "
            f"totals only, and remove the half-hourly readings already collected. Opt out with one click:\n\n{link}\n\n"
            "or on the Data sharing page of the portal. You can opt back in at any time."
        )
        for user in recipients:
            queue_email(
                session,
                user,
                key=f"hh-notice:{enrolment.organisation_id}:{user.id}",
                subject="Half-hourly data: you may opt out within 7 days",
                body=body,
                now=now,
            )
            add_in_app(
                session,
                user.id,
                key=f"hh-notice:{enrolment.organisation_id}:{user.id}",
                title="Half-hourly data: you may opt out within 7 days",
                body=f"You may opt out of half-hourly data retrieval until {when}.",
                link="/consent",
                now=now,
            )
        audit.record(
            session,
            "hh_notice_sent",
            user_id=None,
            organisation_id=enrolment.organisation_id,
            detail={"deadline": deadline.isoformat(), "recipients": len(recipients)},
            now=now,
        )
        sent += 1
    session.flush()
    return sent


def opt_out_state(session: Session, viewer: Viewer, organisation_id: int | None = None) -> OptOutState | None:
    """The viewer's organisation's opt-out state (admins: any), or None when it is not on the customer list."""
    organisation = viewer.own_organisation_id if organisation_id is None else organisation_id
    if organisation is None or not can_manage_consent(viewer, organisation):
        return None
    enrolment = queries.load_enrolment(session, organisation)
    if enrolment is None:
        return None
    return OptOutState(
        organisation_id=organisation,
        micro_business=bool(enrolment.micro_business),
        notice_at=_utc(enrolment.notice_at),
        deadline=deadline_of(enrolment),
        opted_out_at=_utc(enrolment.opted_out_at),
    )


def set_opt_out(
    session: Session,
    organisation_id: int,
    opt_out: bool,
    *,
    user_id: int | None,
    via: str,
    now: dt.datetime,
    ip: str | None = None,
) -> OptOutResult:
    """Opt a micro-business out of half-hourly data (or back in) and commit; the caller has checked who asks.

    Opting out before the notice's deadline (or before any notice) removes the interval readings already stored.
    """
    enrolment = queries.load_enrolment(session, organisation_id)
    if enrolment is None or not enrolment.micro_business:
        raise OptOutError("only micro-business customers can opt out of half-hourly data")
    try:
        if opt_out == (enrolment.opted_out_at is not None):
            return OptOutResult(changed=False, within_deadline=False, readings_removed=0)
        deadline = deadline_of(enrolment)
        within = opt_out and (deadline is None or now <= deadline)
        removed = remove_interval_data(session, organisation_id) if within else 0
        enrolment.opted_out_at = now if opt_out else None
        enrolment.updated_at = now
        audit.record(
            session,
            "hh_opted_out" if opt_out else "hh_opted_in",
            user_id=user_id,
            organisation_id=organisation_id,
            detail={"via": via, "within_deadline": within, "readings_removed": removed},
            ip=ip,
            now=now,
        )
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return OptOutResult(changed=True, within_deadline=within, readings_removed=removed)


def update_opt_out(
    session: Session, viewer: Viewer, opt_out: bool, *, now: dt.datetime, ip: str | None = None
) -> OptOutResult:
    """The Data sharing page's button: the organisation's own people (not read-only viewers) decide."""
    organisation = viewer.own_organisation_id
    if organisation is None or not can_manage_consent(viewer, organisation):
        raise AccessDenied("only the customer's own people can opt out of half-hourly data")
    return set_opt_out(session, organisation, opt_out, user_id=viewer.user_id, via="page", now=now, ip=ip)


def opt_out_by_link(
    session: Session, settings: Settings, token: object, *, now: dt.datetime, ip: str | None = None
) -> OptOutResult:
    """The email's one-click link: the signature is the authority (no sign-in needed)."""
    organisation = read_token(settings, token)
    return set_opt_out(session, organisation, True, user_id=None, via="link", now=now, ip=ip)


def remove_interval_data(session: Session, organisation_id: int) -> int:
    """Delete the organisation's half-hourly and hourly readings, keep the daily roll-up, and refresh what derives.

    The portfolio series of every scope holding a site are recomputed over the removed span (their hh and hour
    buckets lose the site, day buckets stay); stored half-hourly and hourly predictions go too, and the estimates of
    missing intervals made from them. The caller commits.
    """
    removed = 0
    site_ids = queries.load_organisation_site_ids(session, organisation_id)
    spans = []
    for site_id in site_ids:
        span = queries.load_interval_span(session, site_id)
        if span is not None:
            spans.append(span)
            removed += queries.delete_interval_readings(session, site_id)
    if spans:  # every scope holding the sites recomputed once, over the union of the removed spans
        portfolio_series.refresh_for_sites(session, site_ids, min(s[0] for s in spans), max(s[1] for s in spans))
    forget_site_predictions(session, site_ids, ("hh", "hour"))  # out of the scope sums too
    forget_estimates(session, site_ids)  # their gaps are whole days now: estimated afresh until the next run
    session.flush()
    return removed
