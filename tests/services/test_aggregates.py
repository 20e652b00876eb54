"""Aggregate release from the database: the 15/15 rule at its boundaries on SQLite and PostgreSQL, admins only, audited."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import AccessDenied, Viewer
from portfolio.models import (
    AuditEntry,
    DailyUsage,
    Direction,
    Fuel,
    MeterType,
    Organisation,
    Role,
    Site,
)
from portfolio.services.aggregates import AggregateError, parse_aggregate_request, release_aggregates

ADMIN = Viewer(user_id=0, email="cli", role=Role.ADMIN, organisation_ids=None)
JANUARY = (dt.date(2025, 1, 1), dt.date(2025, 1, 31))


def _customers(
    session: Session, prefix: str, kwh: list[float], postcode: str, profile_class: str | None = "03", **site: object
) -> None:
    """One organisation per value, each with one site using that much on 10 and 11 January (half each day)."""
    for n, value in enumerate(kwh):
        org = Organisation(name=f"{prefix} {n}", account_number=f"{prefix}-{n}")
        place = Site(
            organisation=org,
            name=f"{prefix} site {n}",
            postcode=postcode,
            profile_class=profile_class,
            fuel=site.get("fuel", Fuel.POWER),
            meter_type=MeterType.HH,
            direction=site.get("direction", Direction.IMPORT),
        )
        session.add_all([org, place])
        session.flush()
        for day in (dt.date(2025, 1, 10), dt.date(2025, 1, 11)):
            session.add(
                DailyUsage(site_id=place.id, local_date=day, energy_kwh=value / 2, intervals=48, interval_seconds=1800)
            )
    session.commit()


def _world(session: Session) -> None:
    _customers(session, "CB", [10.0] * 15, "CB2 1TN")  # 15 customers: released
    _customers(session, "OX", [10.0] * 14, "OX1 2JD")  # 14: refused
    _customers(session, "EX", [15.0] + [85.0 / 16] * 16, "E1 6AN", "04")  # share exactly 15 %: released
    _customers(session, "SW", [15.01] + [84.99 / 16] * 16, "SW1A 1AA", "05")  # 15.01 %: refused
    _customers(session, "PV", [500.0] * 3, "CB2 9AA", direction=Direction.EXPORT)  # generation: not consumption
    unassigned = Organisation(name="Unassigned", account_number="UNASSIGNED")
    session.add(unassigned)
    session.commit()


def _by_group(release_records: list[dict[str, object]], column: str) -> dict[object, dict[str, object]]:
    return {r[column]: r for r in release_records}


def test_regions_at_the_boundaries(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        _world(session)
        request = parse_aggregate_request("region", "month", *JANUARY)
        release = release_aggregates(session, ADMIN, request, via="test")
    cells = _by_group(release.records(), "region")
    assert set(cells) == {"CB", "OX", "E", "SW"}
    assert cells["CB"] == {
        "period": "2025-01",
        "region": "CB",
        "fuel": "power",
        "customers": 15,
        "energy_kwh": 150.0,  # the export meters of CB were left out
        "suppressed_reason": "",
    }
    assert cells["OX"]["energy_kwh"] is None and cells["OX"]["suppressed_reason"] == "fewer than 15 customers (n=14)"
    assert cells["E"]["energy_kwh"] == pytest.approx(100.0) and cells["E"]["suppressed_reason"] == ""
    assert cells["SW"]["energy_kwh"] is None
    assert cells["SW"]["suppressed_reason"] == "one customer is 15.01 % of the cell (more than 15 %)"
    assert (release.released, release.suppressed) == (2, 2)


def test_profile_classes_per_day_and_the_audit(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        _world(session)
        request = parse_aggregate_request("profile-class", "day", "2025-01-10", "2025-01-11")
        release = release_aggregates(session, ADMIN, request, via="test")
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "aggregate_export")).one()
    rows = list(csv.DictReader(io.StringIO(release.as_csv())))
    assert [(r["period"], r["profile_class"]) for r in rows] == [
        (day, pc) for day in ("2025-01-10", "2025-01-11") for pc in ("03", "04", "05")
    ]
    day = {r["profile_class"]: r for r in rows if r["period"] == "2025-01-10"}
    assert day["03"]["customers"] == "29" and float(day["03"]["energy_kwh"]) == pytest.approx(145.0)  # CB + OX
    assert day["04"]["suppressed_reason"] == "" and day["05"]["energy_kwh"] == ""
    assert entry.user_id is None and entry.detail["released"] == 4 and entry.detail["suppressed"] == 2
    assert entry.detail["by"] == "profile-class" and entry.detail["via"] == "test"


def test_only_admins_may_release(session_factory: sessionmaker[Session]) -> None:
    broker = Viewer(user_id=5, email="b@example.com", role=Role.BROKER, organisation_ids=frozenset())
    with session_factory() as session, pytest.raises(AccessDenied):
        release_aggregates(session, broker, parse_aggregate_request("region", "day", *JANUARY), via="test")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("county", "day", "2025-01-01", "2025-01-02"), "group by"),
        (("region", "week", "2025-01-01", "2025-01-02"), "period"),
        (("region", "day", "2025-02-01", "2025-01-02"), "ends before"),
        (("region", "day", "2020-01-01", "2025-01-02"), "at most"),
        (("region", "day", "yesterday", "2025-01-02"), "from must be a date"),
        (("region", "day", "2025-01-01", None), "to must be a date"),
    ],
)
def test_bad_requests_say_what_to_change(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(AggregateError, match=message):
        parse_aggregate_request(*args)


def test_the_command(
    session_factory: sessionmaker[Session],
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from portfolio.cli import main

    with session_factory() as session:
        _world(session)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PORTFOLIO_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    argv = ["aggregates", "export", "--by", "region", "--period", "month", "--from", "2025-01-01", "--to", "2025-01-31"]
    assert main(argv) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert {r["region"]: r["suppressed_reason"] for r in rows}["OX"] == "fewer than 15 customers (n=14)"
    assert main([*argv, "--format", "json", "-o", str(tmp_path / "out.json")]) == 0
    assert "4 cells, 2 released, 2 refused" in capsys.readouterr().out
    assert len(json.loads((tmp_path / "out.json").read_text())) == 4
    assert main([*argv[:-1], "2024-01-01"]) == 2
    assert "ends before it starts" in capsys.readouterr().err
