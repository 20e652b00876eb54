"""The audit log: daily "viewed by" summaries, who may read which entries, filters and the CSV export."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, viewer_for
from portfolio.models import AuditEntry
from portfolio.services import audit
from portfolio.services.portfolio import load_group_site_list
from tests.world import build_world

NOW = dt.datetime(2026, 12, 4, 9, tzinfo=dt.UTC)


@pytest.fixture(params=["returning", "select then update"])
def later_looks(request: pytest.FixtureRequest, session: Session, monkeypatch: pytest.MonkeyPatch) -> str:
    """A later look moves ``last_at`` in one ``UPDATE ... RETURNING`` where the database has it (PostgreSQL, SQLite
    3.35+), else a SELECT then an UPDATE: both ways are checked on every database."""
    if request.param == "select then update":
        monkeypatch.setattr(session.get_bind().dialect, "update_returning", False)
    return str(request.param)


def test_viewed_by_is_one_entry_per_outside_person_organisation_and_day(session: Session, later_looks: str) -> None:
    world = build_world(session)
    broker = viewer_for(session, world.broker, NOW)
    both = [world.acme_sites[0].id, world.acme_sites[1].id, world.birch_sites[0].id]
    assert audit.record_viewed(session, broker, both, NOW) == 2
    assert audit.record_viewed(session, broker, both, NOW + dt.timedelta(hours=3)) == 0
    assert audit.record_viewed(session, broker, both, NOW + dt.timedelta(days=1)) == 2
    # Members looking at their own data are not "viewed by" anyone outside.
    assert audit.record_viewed(session, viewer_for(session, world.customer, NOW), both[:2], NOW) == 0
    session.commit()
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.organisation_id, e.user_id, e.detail["day"]) for e in entries] == [
        (world.acme.id, world.broker.id, "2026-12-04"),
        (world.birch.id, world.broker.id, "2026-12-04"),
        (world.acme.id, world.broker.id, "2026-12-05"),
        (world.birch.id, world.broker.id, "2026-12-05"),
    ]
    last = entries[0].last_at.replace(tzinfo=entries[0].last_at.tzinfo or dt.UTC)
    assert last == NOW + dt.timedelta(hours=3)


def test_customers_read_entries_about_their_own_data_only_and_admins_all(session: Session) -> None:
    world = build_world(session)
    audit.record(session, "export_completed", user_id=world.broker.id, organisation_id=world.acme.id, now=NOW)
    audit.record(session, "export_completed", user_id=world.broker.id, organisation_id=world.birch.id, now=NOW)
    audit.record(session, "login", user_id=world.admin.id, now=NOW)
    audit.record_viewed(session, viewer_for(session, world.account_manager, NOW), [world.birch_sites[0].id], NOW)
    session.commit()
    customer = viewer_for(session, world.customer, NOW)
    mine = audit.load_audit(session, customer)
    assert list(mine["organisation"]) == ["Acme Foods Ltd"] and list(mine["user"]) == ["broker@example.com"]
    with pytest.raises(AccessDenied):
        audit.load_audit(session, customer, organisation_id=world.birch.id)
    with pytest.raises(AccessDenied):
        audit.load_audit(session, viewer_for(session, world.account_manager, NOW))
    birch = viewer_for(session, world.other_customer, NOW)
    seen = audit.who_has_seen(session, birch)
    assert list(seen["user"]) == ["am@example.com"] and list(seen["action"]) == ["viewed_by"]
    admin = viewer_for(session, world.admin, NOW)
    assert len(audit.load_audit(session, admin)) == 4
    assert len(audit.load_audit(session, admin, organisation_id=world.birch.id)) == 2
    assert list(audit.load_audit(session, admin, user_email="ADMIN@")["action"]) == ["login"]
    assert audit.load_audit(session, admin, date_from="2026-12-05").empty
    assert len(audit.load_audit(session, admin, date_from="2026-12-04", date_to="2026-12-04")) == 4
    with pytest.raises(audit.AuditError, match="not a date"):
        audit.load_audit(session, admin, date_from="yesterday")

    rows = list(csv.reader(io.StringIO(audit.audit_csv(mine))))
    assert rows[0] == audit.CSV_COLUMNS
    assert rows[1][:5] == ["2026-12-04T09:00:00+00:00", "", "export_completed", "broker@example.com", "Acme Foods Ltd"]


def test_a_refusal_is_audited_and_nothing_else_is_kept(session: Session) -> None:
    world = build_world(session)
    customer = viewer_for(session, world.customer, NOW)
    audit.record(session, "should_not_stay", user_id=world.customer.id, now=NOW)  # the refused request's own work
    audit.record_refusal(session, customer, "site", "999999", ip="127.0.0.1")
    actions = [(e.action, e.detail) for e in session.scalars(select(AuditEntry))]
    assert actions == [("access_refused", {"what": "site", "requested": "999999"})]


def test_a_brokers_portfolio_list_is_audited_once_a_day_per_client(session: Session) -> None:
    world = build_world(session)
    broker = viewer_for(session, world.broker, NOW)
    start, end = dt.date(2023, 11, 14), dt.date(2023, 11, 15)
    load_group_site_list(session, broker, "all", start, end)
    load_group_site_list(session, broker, "all", start, end)
    load_group_site_list(session, viewer_for(session, world.customer, NOW), "all", start, end)  # a member
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "viewed_by")).all()
    assert sorted(e.organisation_id for e in entries) == sorted([world.acme.id, world.birch.id])
    assert {e.user_id for e in entries} == {world.broker.id} and entries[0].detail["via"] == "portfolio list"
