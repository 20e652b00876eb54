"""``portfolio customers import FILE [--json]``: the summary contract, idempotency, and refusals by line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portfolio.cli import main
from portfolio.db import make_engine, make_session_factory
from portfolio.models import Organisation, OutboxEmail

LIST = (
    "Account Number,Organisation Name,Micro Business,Billing Portal User,Contact Name,Contact Email,Contact Type\n"
    "A-1,Alder Cafe,Yes,Yes,Ann,ann@alder.example,Primary\n"
    "B-2,Beech Ltd,No,No,,,\n"
)


@pytest.fixture(autouse=True)
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PORTFOLIO_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    return database_url


def counts(database_url: str) -> tuple[int, int]:
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        found = (
            int(session.scalar(select(func.count()).select_from(Organisation)) or 0),
            int(session.scalar(select(func.count()).select_from(OutboxEmail)) or 0),
        )
    engine.dispose()
    return found


def test_json_summary_and_reimport(cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(LIST)
    assert main(["customers", "import", str(path), "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert {k: first[k] for k in ("created", "changed", "unchanged", "invited", "contact_details_needed")} == {
        "created": 2,
        "changed": 0,
        "unchanged": 0,
        "invited": 1,
        "contact_details_needed": 1,
    }
    assert main(["customers", "import", str(path), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["created"], again["changed"], again["unchanged"], again["invited"]) == (0, 0, 2, 0)
    assert main(["customers", "import", str(path)]) == 0
    assert "0 created, 0 changed, 2 unchanged" in capsys.readouterr().out


def test_a_bad_list_changes_nothing_and_names_the_line(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(LIST + "C-3,Cedar,No,Yes,Carl,carl@@cedar,Primary\n")
    assert main(["customers", "import", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out)["problems"] == ["line 4: 'carl@@cedar' is not an email address"]
    assert "line 4" in captured.err and "nothing was changed" in captured.err
    assert counts(cli_env) == (0, 0)
