"""The ``portfolio`` command in-process, on SQLite and PostgreSQL, with real sample files: shared fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portfolio.cli import main
from portfolio.db import make_engine, make_session_factory
from portfolio.models import Organisation, Reading
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
