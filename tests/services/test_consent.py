"""Consent use cases: grants and shared views change who sees what at the next request, and are audited."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portfolio.access import AccessDenied, DataType, Right, viewer_for, visible_site_ids
from portfolio.models import AuditEntry, Grant, GranteeKind, OutboxEmail, Role, SharedViewOpen
from portfolio.queries.groups import add_group_sites, insert_group
from portfolio.services.consent import ConsentError, consent_rows, give_grant, revoke_grant
from portfolio.services.groups import create_group, group_site_ids
from portfolio.services.shared_views import (
    open_shared_view,
    revoke_shared_view,
    share_view,
    views_of_organisation,
    views_shared_by,
    views_shared_with,
)
from tests.world import add_user, build_world

NOW = dt.datetime(2026, 12, 4, 12, tzinfo=dt.UTC)


def _audit(session: Session) -> list[tuple[str, int | None]]:
    return [(e.action, e.organisation_id) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_a_grant_by_email_reaches_the_person_once_they_sign_up_and_stops_when_revoked(session: Session) -> None:
    world = build_world(session)
    acme_ids = {s.id for s in world.acme_sites}
    customer = viewer_for(session, world.customer, NOW)
    grant = give_grant(
        session,
        customer,
        grantee_email=" Energy.Consultant@Example.com ",
        site_ids=[world.acme_sites[0].id],
        data_types=[DataType.DAILY_TOTALS],
        valid_until="2026-12-31",
        now=NOW,
    )
    assert grant.grantee_email == "energy.consultant@example.com" and not grant.all_sites
    consultant = add_user(session, "energy.consultant@example.com", Role.CUSTOMER, organisation=world.birch)
    session.commit()
    viewer = viewer_for(session, consultant, NOW)
    assert visible_site_ids(session, viewer, DataType.DAILY_TOTALS) == {world.acme_sites[0].id} | {
        s.id for s in world.birch_sites
    }
    assert world.acme_sites[0].id not in visible_site_ids(session, viewer, DataType.INTERVAL_USAGE)
    # Expires after the last local day given.
    later = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    assert not visible_site_ids(session, viewer_for(session, consultant, later)) & acme_ids

    assert revoke_grant(session, customer, grant.id, now=NOW) is True
    assert not visible_site_ids(session, viewer_for(session, consultant, NOW)) & acme_ids
    assert revoke_grant(session, customer, grant.id, now=NOW) is False
    assert _audit(session) == [("grant_created", world.acme.id), ("grant_revoked", world.acme.id)]
    rows = consent_rows(session, customer, now=NOW)
    assert [(r.grantee, r.status, r.scope, r.data, r.rights) for r in rows] == [
        ("energy.consultant@example.com (invited)", "revoked", "1 site: Acme Bakery", "daily totals", "read"),
        (
            "broker@example.com",
            "active",
            "All sites",
            "interval usage, daily totals, site and account details",
            "manage",
        ),
    ]
    assert rows[0].revoked.endswith(f"by {world.customer.email}")


def test_grants_outside_ones_organisation_are_refused_like_missing_ones(session: Session) -> None:
    world = build_world(session)
    birch_grant = session.scalar(select(Grant).where(Grant.organisation_id == world.birch.id))
    assert birch_grant is not None
    customer = viewer_for(session, world.customer, NOW)
    with pytest.raises(AccessDenied) as foreign:
        revoke_grant(session, customer, birch_grant.id, now=NOW)
    with pytest.raises(AccessDenied) as missing:
        revoke_grant(session, customer, 999_999, now=NOW)
    assert str(foreign.value).replace(str(birch_grant.id), "N") == str(missing.value).replace("999999", "N")
    for junk in ("1 OR 1=1", "", None, 10**30):
        with pytest.raises(AccessDenied):
            revoke_grant(session, customer, junk, now=NOW)
    with pytest.raises(AccessDenied):
        consent_rows(session, customer, organisation_id=world.birch.id, now=NOW)
    with pytest.raises(AccessDenied):  # a broker manages clients' data, not their consent
        give_grant(session, viewer_for(session, world.broker, NOW), grantee_email="x@y.example", now=NOW)
    assert birch_grant.revoked_at is None and _audit(session) == []


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"grantee_email": "not an email"}, ConsentError, "not an email address"),
        ({"grantee_email": "x@y.example", "rights": "manage"}, ConsentError, "only a broker"),
        ({"grantee_email": "cust@birch.example", "grantee_kind": "broker"}, ConsentError, "not a broker"),
        ({"grantee_email": "x@y.example", "data_types": []}, ConsentError, "at least one kind of data"),
        ({"grantee_email": "x@y.example", "valid_until": "2020-01-01"}, ConsentError, "in the past"),
        ({"grantee_email": "x@y.example", "grantee_kind": "application"}, ConsentError, "applications"),
        ({"grantee_email": "x@y.example", "site_ids": ["BIRCH"]}, AccessDenied, "no site"),
    ],
)
def test_bad_grants_are_refused_and_change_nothing(
    session: Session, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    world = build_world(session)
    before = session.scalar(select(func.count()).select_from(Grant))
    if kwargs.get("site_ids") == ["BIRCH"]:
        kwargs = {**kwargs, "site_ids": [world.birch_sites[0].id]}
    with pytest.raises(error, match=message):
        give_grant(session, viewer_for(session, world.customer, NOW), now=NOW, **kwargs)  # type: ignore[arg-type]
    assert session.scalar(select(func.count()).select_from(Grant)) == before and _audit(session) == []


def test_shared_view_is_opened_read_only_recorded_and_refused_after_revocation(session: Session) -> None:
    world = build_world(session)
    group = insert_group(session, world.customer.id, "Bakery only")
    add_group_sites(session, group.id, [world.acme_sites[0].id])
    session.commit()
    customer = viewer_for(session, world.customer, NOW)
    view = share_view(
        session,
        customer,
        name="Bakery November",
        group_id=group.id,
        date_from="2026-11-01",
        date_to="2026-11-30",
        fuel="power",
        granularity="day",
        emails="am@example.com, newcomer@example.org",
        now=NOW,
    )
    manager = viewer_for(session, world.account_manager, NOW)
    assert manager.read_only
    assert [v.name for v in views_shared_with(session, manager, NOW)] == ["Bakery November"]
    opened = open_shared_view(session, manager, view.id, now=NOW + dt.timedelta(minutes=5))
    assert opened.site_ids == (world.acme_sites[0].id,) and opened.shared_by == world.customer.email
    assert world.acme_sites[1].id not in visible_site_ids(session, manager)  # only the view's sites
    with pytest.raises(AccessDenied):  # shared read-only: the manager may not manage or re-share it
        share_view(
            session,
            manager,
            name="again",
            group_id=None,
            date_from="2026-11-01",
            date_to="2026-11-30",
            fuel="power",
            granularity="day",
            emails="x@y.example",
            now=NOW,
        )
    (row,) = views_shared_by(session, customer, NOW)
    assert row.recipients == ("am@example.com", "newcomer@example.org")
    assert [who for who, _ in row.opens] == ["am@example.com"]
    assert [r.id for r in views_of_organisation(session, customer, now=NOW)] == [view.id]
    invitation = session.scalar(select(OutboxEmail))
    assert invitation is not None and invitation.to_address == "newcomer@example.org"
    rows = {r.grantee: r for r in consent_rows(session, customer, now=NOW + dt.timedelta(minutes=6))}
    assert rows["am@example.com"].shared_view == "Bakery November"
    assert rows["am@example.com"].last_access == NOW + dt.timedelta(minutes=5)

    assert revoke_shared_view(session, customer, view.id, now=NOW + dt.timedelta(hours=1)) == 2
    later = NOW + dt.timedelta(hours=1, seconds=1)
    manager = viewer_for(session, world.account_manager, later)
    with pytest.raises(AccessDenied, match="no shared view"):
        open_shared_view(session, manager, view.id, now=later)
    assert world.acme_sites[0].id not in visible_site_ids(session, manager)
    assert views_shared_with(session, manager, later) == []
    assert session.scalar(select(func.count()).select_from(SharedViewOpen)) == 1
    assert [a for a, _ in _audit(session)] == ["view_shared", "viewed_by", "share_revoked"]


def test_sharing_beyond_ones_scope_or_with_bad_emails_is_refused(session: Session) -> None:
    world = build_world(session)
    # The broker manages Acme, but only reads Birch from now on.
    birch = session.scalar(
        select(Grant).where(Grant.organisation_id == world.birch.id, Grant.grantee_user_id == world.broker.id)
    )
    assert birch is not None
    birch.rights = Right.READ
    group = insert_group(session, world.broker.id, "Cross-client")
    add_group_sites(session, group.id, [world.acme_sites[0].id, world.birch_sites[0].id])
    session.commit()
    broker = viewer_for(session, world.broker, NOW)
    share = {
        "name": "Cross",
        "group_id": group.id,
        "date_from": "2026-11-01",
        "date_to": "2026-11-30",
        "fuel": "both",
        "granularity": "auto",
        "now": NOW,
    }
    with pytest.raises(AccessDenied, match="beyond your own scope"):
        share_view(session, broker, emails="x@y.example", **share)  # type: ignore[arg-type]
    with pytest.raises(ConsentError, match="'nope' is not an email address"):
        share_view(session, broker, emails="ok@y.example, nope", **share)  # type: ignore[arg-type]
    with pytest.raises(AccessDenied, match="no group"):
        share_view(session, viewer_for(session, world.customer, NOW), emails="x@y.example", **share)  # type: ignore[arg-type]

    birch.rights = Right.MANAGE
    session.commit()
    broker = viewer_for(session, world.broker, NOW)
    view = share_view(session, broker, emails="x@y.example", **share)  # type: ignore[arg-type]
    grants = session.scalars(select(Grant).where(Grant.shared_view_id == view.id)).all()
    assert sorted(g.organisation_id for g in grants) == sorted([world.acme.id, world.birch.id])
    assert all(g.grantee_kind is GranteeKind.PERSON and g.rights is Right.READ for g in grants)
    entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "view_shared")).all()
    assert {(e.organisation_id, e.detail["on_behalf"], e.user_id) for e in entries} == {
        (world.acme.id, True, world.broker.id),
        (world.birch.id, True, world.broker.id),
    }
    # Birch cuts off its part of the broker's share; Acme's part stays.
    assert revoke_shared_view(session, viewer_for(session, world.other_customer, NOW), view.id, now=NOW) == 1
    session.expire_all()
    assert {g.organisation_id for g in grants if g.revoked_at is None} == {world.acme.id}


def test_data_types_and_rights_decide_what_each_use_case_may_read_or_change(session: Session) -> None:
    world = build_world(session)
    grant = session.scalar(
        select(Grant).where(Grant.grantee_user_id == world.broker.id, Grant.organisation_id == world.birch.id)
    )
    assert grant is not None
    grant.interval_usage, grant.rights = False, Right.READ  # Birch: daily totals only, read only
    session.commit()
    broker = viewer_for(session, world.broker, NOW)
    birch, acme = world.birch_sites[0].id, world.acme_sites[0].id
    assert birch in group_site_ids(session, broker, "all", DataType.DAILY_TOTALS)  # portfolio list, trackers
    assert birch not in group_site_ids(session, broker, "all", DataType.INTERVAL_USAGE)  # graphs, interval exports
    with pytest.raises(AccessDenied, match=f"may not manage site\\(s\\) {birch}"):
        create_group(session, broker, "Cross-client", [acme, birch])
    session.rollback()
    assert create_group(session, broker, "Acme only", [acme]).name == "Acme only"


def test_a_broker_acting_for_clients_is_audited_once_per_client(session: Session) -> None:
    """A cross-client group and a tracker over it read "broker X for client Y" on each client's audit."""
    from portfolio.services.audit import load_audit
    from portfolio.services.trackers import create_tracker

    world = build_world(session)
    broker = viewer_for(session, world.broker, NOW)
    both = [world.acme_sites[0].id, world.birch_sites[0].id]
    group = create_group(session, broker, "Both clients", both)
    create_tracker(
        session,
        broker,
        name="Both, weekly",
        scope_kind="group",
        scope_id=group.id,
        fuel=world.acme_sites[0].fuel.value,
        period="week",
        target_kind="kwh",
        target_value=1000,
    )
    session.commit()
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    on_behalf = [(e.action, e.organisation_id, e.user_id, e.detail["by"]) for e in entries]
    assert on_behalf[:2] == [
        ("group_created", world.acme.id, world.broker.id, world.broker.email),
        ("group_created", world.birch.id, world.broker.id, world.broker.email),
    ]
    assert {(a, o) for a, o, _, _ in on_behalf[2:]} <= {
        ("tracker_created", world.acme.id),
        ("tracker_created", world.birch.id),
    }
    assert ("tracker_created", world.acme.id) in {(a, o) for a, o, _, _ in on_behalf}
    # the customer reads the broker's actions for them, and nothing about the other client
    mine = load_audit(session, viewer_for(session, world.customer, NOW), limit=100)
    assert set(mine["action"]) >= {"group_created", "tracker_created"}
    assert set(mine["organisation"]) == {world.acme.name}
    # a customer's own group of their own sites is not "on behalf" of anyone
    create_group(session, viewer_for(session, world.customer, NOW), "Mine", [world.acme_sites[0].id])
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == len(entries)
