"""The ``portfolio`` command in-process, on SQLite and PostgreSQL, with real sample files."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portfolio.cli import main
from portfolio.db import make_engine, make_session_factory
from portfolio.models import ExpectedSeries, Grant, Organisation, Reading, Right, Role, Site, User
from portfolio.services import expected_series
from tests.conftest import DATA

LCL = DATA / "lcl_halfhourly_dst_weeks_3households.csv"  # MAC000002/015/079, 4024 half hours
COASTAL = DATA / "Coastal_Multi_Family_Jan_1_2011_to_Jan_1_2012_RetailCustomer_5.xml"  # 8760 hourly readings
WEATHER = DATA / "metoffice_bedford_2019.csv.gz"  # 8760 hours, names no location


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PORTFOLIO_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    return database_url


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, object, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, json.loads(out), err


def reading_count(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            return int(session.scalar(select(func.count()).select_from(Reading)) or 0)
    finally:
        engine.dispose()


def add_organisation(database_url: str, account: str, name: str) -> None:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine)() as session:
            session.add(Organisation(name=name, account_number=account))
            session.commit()
    finally:
        engine.dispose()


def test_init_db_prints_the_revision(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    from alembic.script import ScriptDirectory

    from portfolio.schema import alembic_config

    assert main(["init-db"]) == 0
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert f"revision {head}" in capsys.readouterr().out


COUNTS = ("files", "sites", "readings", "weather", "errors")


def test_import_json_summary_and_reimport(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, summary, err = run_json(capsys, "import", str(LCL), str(COASTAL), "--json")
    assert (status, err) == (0, "")
    assert {k: summary[k] for k in COUNTS} == {
        "files": 2,
        "sites": 4,
        "readings": 4024 + 8760,
        "weather": 0,
        "errors": [],
    }
    assert summary["layout"] == ["long", "green-button"] and summary["time_basis"] == ["utc", "offset"]
    assert summary["labelling"] == "start" and len(summary["meters"]) == 4  # type: ignore[arg-type]
    assert summary["first_interval"] == "2011-01-01T08:00:00Z"

    status, summary, _ = run_json(capsys, "import", str(LCL), str(COASTAL), "--json")
    assert status == 0
    assert {k: summary[k] for k in COUNTS} == {"files": 2, "sites": 4, "readings": 0, "weather": 0, "errors": []}
    assert reading_count(cli_env) == 4024 + 8760


def test_import_weather_with_location(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, summary, err = run_json(capsys, "import", str(WEATHER), "--json")
    assert status == 2
    assert summary["files"] == 0 and summary["errors"][0]["file"] == str(WEATHER)  # type: ignore[index]
    assert "--location" in err

    status, summary, _ = run_json(capsys, "import", str(WEATHER), "--location", "Bedford", "--json")
    assert status == 0
    assert {k: summary[k] for k in COUNTS} == {"files": 1, "sites": 0, "readings": 0, "weather": 8760, "errors": []}
    assert summary["layout"] == "weather"


def test_broken_file_fails_alone_and_leaves_earlier_data_intact(
    cli_env: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["import", str(LCL)]) == 0
    assert "4024 readings" in capsys.readouterr().out
    broken = tmp_path / "broken_coastal.xml"
    broken.write_bytes(COASTAL.read_bytes()[:3000])
    good = tmp_path / "july.csv"
    shutil.copy(DATA / "lcl_halfhourly_2013-07_2households.csv", good)

    status, summary, err = run_json(capsys, "import", str(broken), str(good), "--json")

    assert status == 2
    assert summary["files"] == 1 and summary["readings"] == 2592  # type: ignore[index]
    (error,) = summary["errors"]  # type: ignore[index]
    assert error["file"] == str(broken) and error["where"].startswith("line ")
    assert "broken_coastal.xml" in err and "line " in err
    assert reading_count(cli_env) == 4024 + 2592


def test_missing_file_and_bad_arguments_exit_2(
    cli_env: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nope.csv"
    assert main(["import", str(missing)]) == 2
    assert "nope.csv" in capsys.readouterr().err
    for argv in (["import"], ["import", str(LCL), "--fuel", "oil"], ["users", "add", "a@b.example"], ["frobnicate"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
    assert capsys.readouterr().err


def test_unknown_org_account_is_reported(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    status, summary, err = run_json(capsys, "import", str(LCL), "--org", "NOPE-404", "--json")
    assert status == 2 and summary["files"] == 0  # type: ignore[index]
    assert "NOPE-404" in err
    assert reading_count(cli_env) == 0


def test_users_add(cli_env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["init-db"]) == 0
    add_organisation(cli_env, "ACME-001", "Acme Foods Ltd")
    add_organisation(cli_env, "BIRCH-002", "Birch Retail plc")
    capsys.readouterr()

    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert (
        main(["users", "add", "Carol@Acme.example", "--role", "customer", "--org", "ACME-001", "--password-stdin"]) == 0
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert (
        main(["users", "add", "bob@broker.example", "--role", "broker", "--org", "ACME-001", "--org", "BIRCH-002"]) == 0
    )
    out = capsys.readouterr().out
    assert "generated password" in out

    assert main(["users", "add", "x@acme.example", "--role", "customer", "--org", "NOPE-404"]) == 2
    assert "NOPE-404" in capsys.readouterr().err
    assert main(["users", "add", "y@acme.example", "--role", "customer"]) == 2
    assert "--org" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["users", "add", "z@acme.example", "--role", "admin", "--password-stdin"]) == 2
    assert "at least" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(["users", "add", "carol@acme.example", "--role", "admin", "--password-stdin"]) == 2
    assert "already exists" in capsys.readouterr().err

    engine = make_engine(cli_env)
    try:
        with make_session_factory(engine)() as session:
            users = {u.email: u for u in session.scalars(select(User))}
            assert set(users) == {"carol@acme.example", "bob@broker.example"}
            assert users["carol@acme.example"].role is Role.CUSTOMER
            assert users["carol@acme.example"].organisation.account_number == "ACME-001"
            broker_grants = session.scalars(
                select(Grant).where(Grant.grantee_user_id == users["bob@broker.example"].id)
            )
            assert sorted((g.organisation.account_number, g.rights, g.all_sites) for g in broker_grants) == [
                ("ACME-001", Right.MANAGE, True),
                ("BIRCH-002", Right.MANAGE, True),
            ]
    finally:
        engine.dispose()


def test_sites_json_and_access_policy(
    cli_env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["init-db"]) == 0
    add_organisation(cli_env, "ACME-001", "Acme Foods Ltd")
    assert main(["import", str(LCL), "--org", "ACME-001"]) == 0
    assert main(["import", str(COASTAL)]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert (
        main(["users", "add", "carol@acme.example", "--role", "customer", "--org", "ACME-001", "--password-stdin"]) == 0
    )
    capsys.readouterr()

    status, sites, _ = run_json(capsys, "sites", "--json")
    assert status == 0
    assert isinstance(sites, list) and len(sites) == 4
    required = {"id", "name", "meter_identifier", "fuel", "time_zone", "first_reading", "last_reading"}
    assert all(required <= set(site) for site in sites)
    by_meter = {site["meter_identifier"]: site for site in sites}
    mac = by_meter["MAC000002"]
    assert (mac["name"], mac["fuel"], mac["time_zone"], mac["organisation"]) == (
        "MAC000002",
        "power",
        "Europe/London",
        "Acme Foods Ltd",
    )
    assert (mac["first_reading"], mac["last_reading"]) == ("2013-03-24T00:00:00Z", "2013-11-02T23:30:00Z")
    assert sum(site["organisation"] == "Unassigned" for site in sites) == 1

    status, mine, _ = run_json(capsys, "sites", "--json", "--as", "Carol@acme.example")
    assert status == 0
    assert sorted(site["meter_identifier"] for site in mine) == ["MAC000002", "MAC000015", "MAC000079"]

    assert main(["sites", "--as", "nobody@acme.example"]) == 2
    assert "nobody@acme.example" in capsys.readouterr().err
    assert main(["sites"]) == 0
    table = capsys.readouterr().out
    assert "MAC000015" in table and "Coastal Multi-Family" in table


def test_demo_logins_and_load_demo_if_empty(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init-db"]) == 0
    add_organisation(cli_env, "ACME-001", "Acme Foods Ltd")
    capsys.readouterr()
    assert main(["load-demo", "--if-empty"]) == 0
    assert "already has organisations" in capsys.readouterr().out
    assert main(["demo-logins"]) == 0
    engine = make_engine(cli_env)
    try:
        with make_session_factory(engine)() as session:
            assert session.scalar(select(func.count()).select_from(Site)) == 0
    finally:
        engine.dispose()


def test_fit_models_json_also_reports_the_expected_series(
    demo_world: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", demo_world[0])
    monkeypatch.setenv("PORTFOLIO_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    monkeypatch.setattr(expected_series, "SUMMED_SCOPE_SITES", 10)
    status, out, _ = run_json(capsys, "fit-models", "--json")
    assert status == 0
    assert isinstance(out, dict)
    assert {k: out[k] for k in ("fitted", "insufficient", "failed", "skipped", "errors")} == {
        "fitted": 0,
        "insufficient": 0,
        "failed": 0,
        "skipped": 49,
        "errors": [],
    }  # the demo's models are all current
    refreshed = out["expected_series"]
    assert set(refreshed) == {
        "scopes",
        "sites",
        "sites_modelled",
        "sites_whole",
        "site_rows",
        "rows",
        "removed",
        "failed",
        "errors",
    }
    # "all" power and gas, and every organisation's power series (the broker's and account manager's unions)
    # the 47 demo sites with a model are predicted (two have too little data for one)
    assert (refreshed["scopes"], refreshed["sites"], refreshed["failed"], refreshed["errors"]) == (7, 47, 0, [])
    assert 0 < refreshed["sites_modelled"] <= 49
    engine = make_engine(demo_world[0])
    try:
        with make_session_factory(engine)() as session:
            assert session.scalar(select(func.count()).select_from(ExpectedSeries)) == refreshed["rows"]
    finally:
        engine.dispose()


def test_users_account_commands_end_sessions(
    cli_env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from portfolio.models import UserSession
    from portfolio.services.accounts import check_password

    assert main(["init-db"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    assert main(["users", "add", "dana@portfolio.example", "--role", "admin", "--password-stdin"]) == 0
    engine = make_engine(cli_env)
    factory = make_session_factory(engine)

    def add_sessions() -> None:
        with factory.begin() as session:
            user_id = session.scalar(select(User.id))
            for number in range(2):
                session.add(
                    UserSession(
                        id_hash=f"{number:064d}",
                        user_id=user_id,
                        created_ts=0,
                        last_seen_ts=0,
                        client_hash="c",
                        privilege_hash="p",
                        ip=None,
                    )
                )

    try:
        add_sessions()
        monkeypatch.setattr("sys.stdin", io.StringIO("another long password\n"))
        assert main(["users", "set-password", "Dana@portfolio.example", "--password-stdin"]) == 0
        assert "2 session(s) ended" in capsys.readouterr().out
        with factory() as session:
            user = session.scalars(select(User)).one()
            assert check_password(user, "another long password")
        add_sessions()
        assert main(["users", "end-sessions", "dana@portfolio.example"]) == 0
        assert "2 session(s) ended" in capsys.readouterr().out
        add_sessions()
        assert main(["users", "deactivate", "dana@portfolio.example"]) == 0
        with factory() as session:
            assert session.scalar(select(func.count()).select_from(UserSession)) == 0
            assert session.scalars(select(User)).one().is_active is False
        assert main(["users", "activate", "nobody@portfolio.example"]) == 2
        assert "no user" in capsys.readouterr().err
    finally:
        engine.dispose()
