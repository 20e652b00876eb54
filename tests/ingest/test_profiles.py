"""Import profiles: hints saved by name and re-applied to later files with the same header (both databases)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from portfolio.cli import main
from portfolio.db import make_engine, make_session_factory
from portfolio.models import ImportProfile, Meter, Reading

HEADER = "Device,Account,Stamp,Reading kWh\n"


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PORTFOLIO_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    return database_url


def amr_file(path: Path, day: int) -> Path:
    """An AMR export whose meter is in a column the detector does not know (Device), end-stamped."""
    rows = "".join(f"K12A34567,ACC-9,2024-01-{day:02d} {h:02d}:{m:02d},0.5\n" for h in range(1, 3) for m in (0, 30))
    path.write_text(HEADER + rows)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    status = main(list(argv))
    out = capsys.readouterr().out
    return status, json.loads(out)


def test_profile_is_saved_by_name_and_reapplied_to_the_same_header(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = amr_file(tmp_path / "january-02.csv", 2)
    status, summary = run(
        capsys,
        "import",
        str(first),
        "--profile",
        "acme-amr",
        "--meter-column",
        "Device",
        "--labelling",
        "end",
        "--json",
    )
    assert status == 0 and summary["labelling"] == "end" and summary["meters"] == ["K12A34567"]
    assert summary["first_interval"] == "2024-01-02T00:30:00Z"  # end stamp 01:00 closes 00:30-01:00

    later = amr_file(tmp_path / "january-03.csv", 3)  # no hints given: the header signature finds the profile
    status, summary = run(capsys, "import", str(later), "--json")
    assert status == 0 and summary["profiles"] == ["acme-amr"] and summary["labelling"] == "end"
    assert summary["first_interval"] == "2024-01-03T00:30:00Z"

    again = amr_file(tmp_path / "january-04.csv", 4)
    status, summary = run(capsys, "import", str(again), "--profile", "acme-amr", "--json")
    assert status == 0 and summary["meters"] == ["K12A34567"]

    engine = make_engine(cli_env)
    try:
        with make_session_factory(engine)() as session:
            [profile] = session.scalars(select(ImportProfile)).all()
            assert (profile.name, profile.options) == ("acme-amr", {"labelling": "end", "meter_column": "Device"})
            assert session.scalars(select(Meter.identifier)).all() == ["K12A34567"]
            assert len(session.scalars(select(Reading.start_ts)).all()) == 12
    finally:
        engine.dispose()


def test_without_a_profile_the_hint_is_missing(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = amr_file(tmp_path / "january-02.csv", 2)
    status, summary = run(capsys, "import", str(path), "--json")
    assert status == 2 and "pass --meter" in summary["errors"][0]["error"]  # type: ignore[index]
