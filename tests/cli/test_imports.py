"""``portfolio import``: JSON summary, re-import, weather, one bad file failing alone."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from portfolio.cli import main
from tests.cli.conftest import COASTAL, LCL, WEATHER, reading_count, run_json
from tests.conftest import DATA

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
