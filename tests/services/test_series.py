"""Portfolio series stay equal to a direct GROUP BY over readings through imports, group edits and re-imports."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import viewer_for
from portfolio.db import transaction
from portfolio.ingest.loader import load_parsed
from portfolio.ingest.records import MeterSeries, ParsedFile
from portfolio.models import Organisation, PortfolioSeries, Role, User
from portfolio.queries.graphs import Scope, load_scope_series, load_sites_series
from portfolio.services.groups import add_sites, create_group, delete_group, remove_sites
from portfolio.services.series import rebuild_all
from tests.world import add_user

START = 1_711_756_800  # 2024-03-30 00:00 UTC: the range crosses the spring clock change
SPAN = (START - 86_400, START + 6 * 86_400)


def _meter(
    identifier: str,
    fuel: str,
    seconds: int,
    days: int,
    scale: float,
    *,
    offset_days: int = 0,
    gap: bool = False,
    estimated_every: int = 0,
) -> MeterSeries:
    n = days * 86_400 // seconds
    ts = START + offset_days * 86_400 + seconds * np.arange(n, dtype=np.int64)
    energy = scale * (1.0 + np.sin(np.arange(n) / 7.0) ** 2)
    estimated = np.zeros(n, dtype=bool)
    if estimated_every:
        estimated[::estimated_every] = True
    frame = pd.DataFrame({"start_ts": ts, "interval_seconds": seconds, "energy_kwh": energy, "estimated": estimated})
    if gap:
        frame = frame.drop(index=range(10, 20)).reset_index(drop=True)
    return MeterSeries(
        identifier=identifier,
        identifier_kind="other",
        fuel=fuel,
        readings=frame,
        meter_type="hh" if seconds == 1800 else "amr",
    )


def _import(factory: sessionmaker[Session], meters: list[MeterSeries], account: str, name: str) -> None:
    with transaction(factory) as session:
        load_parsed(
            session,
            ParsedFile(path=name, format="hh-csv-long", meters=tuple(meters)),
            organisation_account=account,
            filename=name,
            sha256=name,
        )


def _assert_scope_matches(session: Session, scope: Scope, site_ids: list[int]) -> None:
    for fuel in ("power", "gas"):
        for resolution in ("hh", "hour", "day"):
            kept = load_scope_series(session, [scope], fuel, resolution, *SPAN)
            direct = load_sites_series(session, site_ids, fuel, resolution, *SPAN)
            direct = direct[direct["sites_reporting"] > 0].reset_index(drop=True)
            assert len(kept) == len(direct), (scope, fuel, resolution)
            pd.testing.assert_frame_equal(kept, direct, check_exact=False, rtol=1e-9, atol=1e-9)


def test_series_follow_imports_group_changes_and_reimports(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as session:
        session.add_all(
            [Organisation(name="Acme", account_number="ACME"), Organisation(name="Birch", account_number="BIRCH")]
        )
        session.flush()
        acme = session.scalar(select(Organisation).where(Organisation.account_number == "ACME"))
        add_user(session, "cust@acme.example", Role.CUSTOMER, organisation=acme)

    _import(
        session_factory,
        [
            _meter("P1", "power", 1800, 5, 1.0, gap=True, estimated_every=9),
            _meter("P2", "power", 1800, 4, 2.0, offset_days=1),
            _meter("G1", "gas", 3600, 5, 5.0),
        ],
        "ACME",
        "first.csv",
    )
    _import(session_factory, [_meter("B1", "power", 1800, 5, 3.0)], "BIRCH", "birch.csv")

    with transaction(session_factory) as session:
        ids = dict(session.execute(text("SELECT m.identifier, m.site_id FROM meters m")).all())
        viewer = viewer_for(session, session.scalar(select(User)))
        acme_id = session.scalar(select(Organisation.id).where(Organisation.account_number == "ACME"))
        _assert_scope_matches(session, Scope("all", 0), sorted(ids.values()))
        _assert_scope_matches(session, Scope("org", acme_id), [ids["P1"], ids["P2"], ids["G1"]])
        group = create_group(session, viewer, "Two", [ids["P1"], ids["G1"]])
        group_id = group.id
        _assert_scope_matches(session, Scope("group", group_id), [ids["P1"], ids["G1"]])
        add_sites(session, viewer, group_id, [ids["P2"], ids["P1"]])
        _assert_scope_matches(session, Scope("group", group_id), [ids["P1"], ids["P2"], ids["G1"]])
        remove_sites(session, viewer, group_id, [ids["P1"]])
        _assert_scope_matches(session, Scope("group", group_id), [ids["P2"], ids["G1"]])

    # A re-import that changes part of a day (actual readings replacing values) refreshes only that range.
    changed = _meter("P2", "power", 1800, 1, 9.0, offset_days=2)
    _import(session_factory, [changed, _meter("G1", "gas", 3600, 7, 4.0)], "ACME", "second.csv")
    with transaction(session_factory) as session:
        _assert_scope_matches(session, Scope("group", group_id), [ids["P2"], ids["G1"]])
        _assert_scope_matches(session, Scope("all", 0), sorted(ids.values()))
        before = load_scope_series(session, [Scope("group", group_id)], "power", "hh", *SPAN)
        rebuild_all(session)
        pd.testing.assert_frame_equal(
            before,
            load_scope_series(session, [Scope("group", group_id)], "power", "hh", *SPAN),
            check_exact=False,
            rtol=1e-9,
        )
        delete_group(session, viewer_for(session, session.scalar(select(User))), group_id)
        assert not session.scalars(select(PortfolioSeries).where(PortfolioSeries.scope_kind == "group")).all()


def test_hourly_meters_never_appear_in_half_hour_series(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as session:
        session.add(Organisation(name="Acme", account_number="ACME"))
    _import(session_factory, [_meter("G1", "gas", 3600, 2, 5.0)], "ACME", "gas.csv")
    with session_factory() as session:
        assert load_scope_series(session, [Scope("all", 0)], "gas", "hh", *SPAN).empty
        hourly = load_scope_series(session, [Scope("all", 0)], "gas", "hour", *SPAN)
        assert len(hourly) == 48
        daily = load_scope_series(session, [Scope("all", 0)], "gas", "day", *SPAN)
        assert daily["energy_kwh"].sum() == pytest.approx(hourly["energy_kwh"].sum())
