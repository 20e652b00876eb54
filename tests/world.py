"""Small, explicit data worlds for tests: organisations, sites, users and a few readings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from sqlalchemy.orm import Session

from portfolio.models import (
    Fuel,
    GranteeKind,
    IdentifierKind,
    Meter,
    MeterType,
    Organisation,
    Reading,
    Right,
    Role,
    Site,
    User,
)
from portfolio.queries.consent import insert_grant
from portfolio.services.accounts import hash_password

PASSWORD = "correct horse battery"
GRANTED_FROM = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)  # standing links, long before any test's "now"


@dataclass
class World:
    acme: Organisation
    birch: Organisation
    unassigned: Organisation
    acme_sites: list[Site]
    birch_sites: list[Site]
    stray_site: Site
    customer: User
    other_customer: User
    broker: User
    account_manager: User
    admin: User


@cache
def password_hash() -> str:
    """Hash once per session: argon2 is deliberately slow and tests build many users."""
    return hash_password(PASSWORD)


def add_user(
    session: Session,
    email: str,
    role: Role,
    organisation: Organisation | None = None,
    linked: Sequence[Organisation] = (),
) -> User:
    """Add a user; ``linked`` organisations grant a broker manage rights, an account manager read rights."""
    user = User(email=email, password_hash=password_hash(), role=role, organisation=organisation)
    session.add(user)
    if linked:
        session.flush()
        broker = role is Role.BROKER
        for linked_organisation in linked:
            insert_grant(
                session,
                organisation_id=linked_organisation.id,
                grantee_kind=GranteeKind.BROKER if broker else GranteeKind.ACCOUNT_MANAGER,
                grantee_user_id=user.id,
                rights=Right.MANAGE if broker else Right.READ,
                valid_from=GRANTED_FROM,
            )
    return user


def _site(session: Session, org: Organisation, name: str, fuel: Fuel, identifier: str) -> Site:
    site = Site(organisation=org, name=name, fuel=fuel, meter_type=MeterType.HH, time_zone="Europe/London")
    site.meters.append(Meter(identifier=identifier, kind=IdentifierKind.OTHER))
    session.add(site)
    return site


def build_world(session: Session) -> World:
    """Two customer organisations, one unassigned site, and a user of every role."""
    acme = Organisation(name="Acme Foods Ltd", account_number="ACME-001")
    birch = Organisation(name="Birch Retail plc", account_number="BIRCH-002")
    unassigned = Organisation(name="Unassigned", account_number="UNASSIGNED")
    session.add_all([acme, birch, unassigned])
    acme_sites = [
        _site(session, acme, "Acme Bakery", Fuel.POWER, "ACME-P1"),
        _site(session, acme, "Acme Boilers", Fuel.GAS, "ACME-G1"),
    ]
    birch_sites = [_site(session, birch, "Birch Store", Fuel.POWER, "BIRCH-P1")]
    stray = _site(session, unassigned, "Unknown meter", Fuel.POWER, "STRAY-1")
    session.flush()
    for site in acme_sites + birch_sites:
        session.add_all(
            Reading(
                site_id=site.id,
                start_ts=1_700_000_000 + 1800 * i,
                interval_seconds=1800,
                energy_kwh=1.0 + i,
                estimated=False,
            )
            for i in range(4)
        )
    world = World(
        acme=acme,
        birch=birch,
        unassigned=unassigned,
        acme_sites=acme_sites,
        birch_sites=birch_sites,
        stray_site=stray,
        customer=add_user(session, "cust@acme.example", Role.CUSTOMER, organisation=acme),
        other_customer=add_user(session, "cust@birch.example", Role.CUSTOMER, organisation=birch),
        broker=add_user(session, "broker@example.com", Role.BROKER, linked=[acme, birch]),
        account_manager=add_user(session, "am@example.com", Role.ACCOUNT_MANAGER, linked=[birch]),
        admin=add_user(session, "admin@example.com", Role.ADMIN),
    )
    session.commit()
    return world
