"""Two tenants and every role: Acme's people attack, Globex's data must never reach them.

Built on :func:`tests.web.world.build_small_world` (Acme and Globex with sites and readings), plus a Globex
customer owning a group, a tracker and a notification, and a broker and an account manager linked to Acme only.
``MARKERS`` are strings that exist only in Globex's data: any of them in a response to an Acme role is a leak.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.config import Settings
from portfolio.db import transaction
from portfolio.models import Fuel, Notification, Organisation, PortfolioGroup, Role, Site, Tracker
from portfolio.services.accounts import create_user
from tests.web.world import PASSWORD, build_small_world

MARKERS = ("Globex", "1211111111111", "E1 6AN", "E14 5AB", "Rival secret")  # only in Globex data


@dataclass(frozen=True)
class Tenants:
    logins: dict[str, str]  # role -> email (all share PASSWORD); "admin" sees everything
    foreign_ids: tuple[int, ...]  # Globex's site, group, tracker and notification ids
    foreign_sites: tuple[int, ...]
    foreign_groups: tuple[int, ...]
    own_ids: tuple[int, ...]


def build_tenants(factory: sessionmaker[Session], settings: Settings) -> Tenants:
    world = build_small_world(factory, settings)
    with transaction(factory) as session:
        acme = session.scalars(select(Organisation).where(Organisation.account_number == "ACME-001")).one()
        globex = session.scalars(select(Organisation).where(Organisation.account_number == "GLOBEX-001")).one()
        rival = create_user(session, "rival@globex.example", Role.CUSTOMER, PASSWORD, organisation=globex)
        create_user(session, "broker@brokers.example", Role.BROKER, PASSWORD, linked_organisations=[acme])
        create_user(session, "am@portfolio.example", Role.ACCOUNT_MANAGER, PASSWORD, linked_organisations=[acme])
        globex_sites = session.scalars(select(Site).where(Site.organisation_id == globex.id)).all()
        acme_sites = session.scalars(select(Site).where(Site.organisation_id == acme.id)).all()
        group = PortfolioGroup(owner=rival, name="Rival secret group", sites=list(globex_sites))
        tracker = Tracker(
            owner_id=rival.id,
            name="Rival secret tracker",
            scope_kind="site",
            scope_id=globex_sites[0].id,
            fuel=Fuel.POWER,
            period="month",
            target_kind="kwh",
            target_value=100.0,
        )
        now = dt.datetime(2024, 3, 2, tzinfo=dt.UTC)
        notification = Notification(
            user_id=rival.id, title="Rival secret alert", body="Rival secret tracker exceeded", created_at=now
        )
        session.add_all([group, tracker, notification])
        session.flush()
        foreign = (*(s.id for s in globex_sites), group.id, tracker.id, notification.id)
        foreign_sites = tuple(s.id for s in globex_sites)
        foreign_groups = (group.id,)
        own = tuple(s.id for s in acme_sites)
    return Tenants(
        logins={
            "customer": world.customer.email,
            "broker": "broker@brokers.example",
            "account_manager": "am@portfolio.example",
            "admin": world.admin.email,
        },
        foreign_ids=foreign,
        foreign_sites=foreign_sites,
        foreign_groups=foreign_groups,
        own_ids=own,
    )
