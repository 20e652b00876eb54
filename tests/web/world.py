"""A small world for web tests: two organisations, a few sites each, some readings, a customer and an admin.

``build_small_world(session_factory, settings)`` has the shape of ``portfolio.services.demo.load_demo`` so the
browser tests can switch to the real demo dataset by swapping one function.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from portfolio.config import Settings
from portfolio.db import transaction
from portfolio.models import Fuel, IdentifierKind, Meter, MeterType, Organisation, Reading, Role, Site
from portfolio.services.accounts import create_user

PASSWORD = "correct horse battery"
HALF_HOUR = 1800


@dataclass(frozen=True)
class Credentials:
    email: str
    password: str


@dataclass(frozen=True)
class World:
    customer: Credentials
    admin: Credentials


def _epoch(year: int, month: int, day: int, hour: int, minute: int = 0) -> int:
    return int(dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC).timestamp())


def _site(
    session: Session, org: Organisation, name: str, postcode: str, fuel: Fuel, meter: str, kind: IdentifierKind
) -> Site:
    site = Site(
        organisation=org, name=name, postcode=postcode, fuel=fuel, meter_type=MeterType.HH, time_zone="Europe/London"
    )
    site.meters.append(Meter(identifier=meter, kind=kind))
    session.add(site)
    session.flush()
    return site


def _readings(session: Session, site: Site, first_ts: int, count: int) -> None:
    session.add_all(
        Reading(site_id=site.id, start_ts=first_ts + i * HALF_HOUR, interval_seconds=HALF_HOUR, energy_kwh=1.5 + i)
        for i in range(count)
    )


def build_small_world(session_factory: sessionmaker[Session], settings: Settings) -> World:
    """Acme (customer's organisation) and Globex; readings straddle local midnight to show local dates."""
    del settings  # same signature as portfolio.services.demo.load_demo
    with transaction(session_factory) as session:
        acme = Organisation(name="Acme Foods", account_number="ACME-001")
        globex = Organisation(name="Globex Retail", account_number="GLOBEX-001")
        session.add_all([acme, globex])
        bakery = _site(session, acme, "Acme Bakery", "CB1 2AB", Fuel.POWER, "1012345678901", IdentifierKind.MPAN)
        depot = _site(session, acme, "Acme Depot", "CB4 3CD", Fuel.GAS, "7654321", IdentifierKind.MPRN)
        _site(session, acme, "Acme Office", "CB2 1EF", Fuel.POWER, "1098765432109", IdentifierKind.MPAN)
        store = _site(session, globex, "Globex Megastore", "E1 6AN", Fuel.POWER, "1211111111111", IdentifierKind.MPAN)
        _site(session, globex, "Globex Warehouse", "E14 5AB", Fuel.GAS, "8888888", IdentifierKind.MPRN)
        # 23:30 UTC on 30 June is 00:30 BST on 1 July: the site's first local date is 2024-07-01.
        _readings(session, bakery, _epoch(2024, 6, 30, 23, 30), 4)
        _readings(session, depot, _epoch(2024, 1, 15, 8), 3)
        _readings(session, store, _epoch(2024, 3, 1, 0), 2)
        create_user(session, "buyer@acme.example", Role.CUSTOMER, PASSWORD, organisation=acme)
        create_user(session, "admin@portfolio.example", Role.ADMIN, PASSWORD)
    return World(
        customer=Credentials("buyer@acme.example", PASSWORD),
        admin=Credentials("admin@portfolio.example", PASSWORD),
    )
