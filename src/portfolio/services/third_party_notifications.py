"""ESPI notifications: after the daily run stores new readings in a subscription's scope, POST a ``BatchList`` of
the resources to fetch to the application's notification URI; failures retry with backoff and show to admins.

One notification per application and run date (``dedupe_key``), listing the ``Batch/Subscription`` URI of each
active authorization whose granted sites (interval usage) got new readings. Delivery is at least once: a failed
POST is retried after 5, 10, 20, 40 and 80 minutes, then given up ("failed"), with the last error kept.
"""

from __future__ import annotations

import datetime as dt
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field

from lxml import etree
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import application_site_ids
from portfolio.models import DataType, ThirdPartyNotification
from portfolio.queries import third_parties as queries

ESPI = "http://naesb.org/espi"
MAX_ATTEMPTS = 6
FIRST_RETRY = dt.timedelta(minutes=5)
TIMEOUT_S = 10.0


@dataclass
class NotifyReport:
    queued: int = 0
    sent: int = 0
    retrying: int = 0
    gave_up: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)


def batch_list(resource_uris: Iterable[str]) -> bytes:
    """An ESPI BatchList document naming the resources to GET."""
    root = etree.Element(f"{{{ESPI}}}BatchList", nsmap={None: ESPI})
    for uri in resource_uris:
        etree.SubElement(root, f"{{{ESPI}}}resources").text = uri
    return etree.tostring(root, xml_declaration=True, encoding="utf-8")


def queue_notifications(
    session: Session, site_ids: Iterable[int], run_date: dt.date, base_url: str, now: dt.datetime
) -> int:
    """Queue one BatchList per application whose active authorizations cover any of ``site_ids``; returns how many."""
    touched = set(site_ids)
    if not touched:
        return 0
    rows = queries.load_notifiable_authorizations(session)
    resources: dict[int, list[str]] = {}
    for authorization, application in rows:
        granted = application_site_ids(session, authorization.grant_id, DataType.INTERVAL_USAGE, now) or []
        if touched.intersection(granted):
            uri = f"{base_url.rstrip('/')}/espi/1_1/resource/Batch/Subscription/{authorization.uuid}"
            resources.setdefault(application.id, []).append(uri)
    queued = 0
    for application_id, uris in resources.items():
        try:
            with session.begin_nested():
                session.add(
                    ThirdPartyNotification(
                        application_id=application_id,
                        dedupe_key=f"batchlist:{application_id}:{run_date.isoformat()}",
                        body=batch_list(uris).decode("utf-8"),
                        status="pending",
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
            queued += 1
        except IntegrityError:
            continue  # already queued for this run date: running the pipeline twice notifies once
    session.commit()
    return queued


def deliver_pending(factory: sessionmaker[Session], now: dt.datetime) -> NotifyReport:
    """POST every due notification; each outcome is committed on its own so one failure never loses another."""
    report = NotifyReport()
    with factory() as session:
        due = queries.load_due_notifications(session, now)
        for notification in due:
            error = _post(notification.application.notify_uri or "", notification.body.encode("utf-8"))
            notification.attempts += 1
            if error is None:
                notification.status, notification.sent_at, notification.last_error = "sent", now, None
                report.sent += 1
            elif notification.attempts >= MAX_ATTEMPTS:
                notification.status, notification.last_error = "failed", error[:1000]
                report.gave_up += 1
                report.errors.append({"application": notification.application.name, "error": error})
            else:
                notification.last_error = error[:1000]
                notification.next_attempt_at = now + FIRST_RETRY * 2 ** (notification.attempts - 1)
                report.retrying += 1
            session.commit()
    return report


def _post(uri: str, body: bytes) -> str | None:
    """POST the BatchList; None on a 2xx answer, else what went wrong."""
    request = urllib.request.Request(uri, data=body, method="POST", headers={"Content-Type": "application/xml"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310 - registered http(s) URI
            status = response.status
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code} from {uri}"
    except (urllib.error.URLError, OSError) as error:
        return f"{uri}: {error}"
    return None if 200 <= status < 300 else f"HTTP {status} from {uri}"


def load_notifications(session: Session, limit: int = 50) -> list[ThirdPartyNotification]:
    """The latest notifications, for the admin page (failures and retries visible)."""
    return queries.load_latest_notifications(session, limit)
