"""``portfolio export`` in-process on SQLite and PostgreSQL: files, access, bad requests, audit, and the Green Button
round trip (export -> ``portfolio import`` -> the same readings)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from portfolio.cli import main
from portfolio.db import make_engine, make_session_factory
from portfolio.exports.espi_validation import validate_espi
from portfolio.models import AuditEntry, Meter, Reading
from tests.exports.export_world import ExportWorld, build_export_world

SPRING_TO_AUTUMN = ["--from", "2024-03-31", "--to", "2024-10-27"]


@pytest.fixture
def factory(database_url: str):
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def world(factory) -> ExportWorld:
    return build_export_world(factory)


@pytest.fixture(autouse=True)
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PORTFOLIO_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    return database_url


def readings_of(factory, site_id: int) -> pd.DataFrame:
    with factory() as session:
        rows = session.execute(
            select(Reading.start_ts, Reading.interval_seconds, Reading.energy_kwh, Reading.estimated)
            .where(Reading.site_id == site_id)
            .order_by(Reading.start_ts)
        ).all()
    return pd.DataFrame(rows, columns=["start_ts", "interval_seconds", "energy_kwh", "estimated"])


def test_green_button_export_imports_back_to_the_same_readings(world, factory, tmp_path, capsys):
    out = tmp_path / "bakery.xml"
    assert (
        main(
            [
                "export",
                "--site",
                str(world.bakery),
                *SPRING_TO_AUTUMN,
                "--shape",
                "intervals",
                "--format",
                "espi",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert "96 rows" in capsys.readouterr().out
    data = out.read_bytes()
    assert validate_espi(data) == []
    assert main(["import", "--json", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["readings"] == 96 and summary["errors"] == []
    with factory() as session:
        imported_site = session.scalar(select(Meter.site_id).where(Meter.kind == "espi"))
    original, imported = readings_of(factory, world.bakery), readings_of(factory, imported_site)
    pd.testing.assert_frame_equal(original, imported)


def test_each_shape_as_csv_and_xlsx(world, tmp_path, capsys):
    expected = {"intervals": 96 + 10 + 22 + 46, "daily": 5, "portfolio": 96 + 22}
    for shape, rows in expected.items():
        out = tmp_path / f"{shape}.csv"
        assert (
            main(
                ["export", "--portfolio", "all", *SPRING_TO_AUTUMN, "--shape", shape, "--format", "csv", "-o", str(out)]
            )
            == 0
        )
        frame = pd.read_csv(out)
        assert len(frame) == rows, shape
        assert frame["energy_kwh"].sum() == pytest.approx(23 + 12.5 + 10 + 44 + 138), shape
        workbook = tmp_path / f"{shape}.xlsx"
        assert (
            main(
                [
                    "export",
                    "--portfolio",
                    "all",
                    *SPRING_TO_AUTUMN,
                    "--shape",
                    shape,
                    "--format",
                    "xlsx",
                    "-o",
                    str(workbook),
                ]
            )
            == 0
        )
        sheets = load_workbook(io.BytesIO(workbook.read_bytes()), read_only=True)
        assert sum(len(list(sheets[name].iter_rows())) - 2 for name in sheets.sheetnames) == rows
    capsys.readouterr()


def test_as_a_user_applies_their_access_policy_and_is_audited(world, factory, tmp_path, capsys):
    out = tmp_path / "mine.csv"
    assert (
        main(
            [
                "export",
                "--portfolio",
                "all",
                *SPRING_TO_AUTUMN,
                "--shape",
                "daily",
                "--format",
                "csv",
                "--fuel",
                "power",
                "--as",
                world.kestrel_buyer,
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert set(pd.read_csv(out)["site_name"]) == {"Kestrel Bakery", "Kestrel Office"}
    with factory() as session:
        done = session.scalars(select(AuditEntry).where(AuditEntry.action == "export_completed")).one()
    assert done.user_id == world.kestrel_buyer_id and done.detail["via"] == "cli" and done.detail["rows"] == 3
    assert sorted(done.detail["site_ids"]) == sorted([world.bakery, world.office]) and done.detail["fuel"] == "power"


def test_operator_exports_are_audited_without_a_user(world, factory, tmp_path):
    assert (
        main(
            [
                "export",
                "--site",
                str(world.office),
                *SPRING_TO_AUTUMN,
                "--shape",
                "intervals",
                "--format",
                "csv",
                "-o",
                str(tmp_path / "o.csv"),
            ]
        )
        == 0
    )
    with factory() as session:
        every = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    entries = [e for e in every if e.action.startswith("export_")]
    assert [(e.action, e.user_id, e.detail["via"]) for e in entries] == [
        ("export_started", None, "cli"),
        ("export_completed", None, "cli"),
    ]
    assert {e.action for e in every} == {"export_started", "export_completed", "viewed_by"}
    assert entries[1].detail["rows"] == 10 and entries[1].detail["site_ids"] == [world.office]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--site", "{wren}", "--as", "buyer@kestrel.example"], "you may not see site(s)"),
        (["--portfolio", "all", "--from", "2024-04-02", "--to", "2024-04-01"], "before it starts"),
        (["--portfolio", "all", "--from", "2024-13-01"], "'from' must be a date"),
        (["--portfolio", "all", "--from", "2022-01-01", "--to", "2024-01-01"], "at most 400 days"),
        (["--portfolio", "all", "--format", "espi", "--shape", "daily"], "interval data only"),
        (["--portfolio", "999"], "does not exist or you may not see it"),
        (["--portfolio", "x1"], "'group' must be"),
        (["--portfolio", "all", "--as", "nobody@example.com"], "no user with email"),
    ],
)
def test_bad_requests_exit_2_with_the_message_and_leave_no_file(world, tmp_path, capsys, argv, message):
    out = tmp_path / "refused.csv"
    args = {"--from": "2024-03-31", "--to": "2024-03-31", "--shape": "intervals", "--format": "csv"}
    given = [a.format(wren=world.wren_store) for a in argv]
    for flag, value in args.items():
        if flag not in given:
            given += [flag, value]
    assert main(["export", *given, "-o", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists() and list(tmp_path.glob("*.partial")) == []


def test_portfolio_and_site_are_mutually_exclusive_and_one_is_required(world, tmp_path, capsys):
    base = ["export", *SPRING_TO_AUTUMN, "--shape", "daily", "--format", "csv", "-o", str(tmp_path / "x.csv")]
    for extra in ([], ["--portfolio", "all", "--site", "1"], ["--shape", "weekly", "--site", "1"]):
        with pytest.raises(SystemExit) as exit_info:
            main([*base, *extra])
        assert exit_info.value.code == 2
    assert "--portfolio" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()
