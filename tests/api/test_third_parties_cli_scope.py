"""Registering applications from the command line, and ESPI scope strings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from portfolio.api.scope import ScopeError, parse_scope
from portfolio.cli import main
from portfolio.db import make_engine, make_session_factory
from portfolio.models import ApplicationStatus, DataType, ThirdPartyApplication
from portfolio.services.third_parties import hash_secret


def test_third_parties_add_prints_credentials_and_stores_only_the_secret_hash(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PORTFOLIO_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    status = main(
        [
            "third-parties",
            "add",
            "Energy Coach",
            "--redirect-uri",
            "http://127.0.0.1:9/cb",
            "--notify-uri",
            "http://127.0.0.1:9/notify",
            "--json",
        ]
    )
    out = capsys.readouterr().out
    assert status == 0
    printed = json.loads(out)
    assert set(printed) == {"client_id", "client_secret"}
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        app = session.scalars(select(ThirdPartyApplication)).one()
        assert app.client_id == printed["client_id"]
        assert app.client_secret_hash == hash_secret(printed["client_secret"])
        assert printed["client_secret"] not in app.client_secret_hash
        assert app.status is ApplicationStatus.APPROVED
        assert app.redirect_uris == ["http://127.0.0.1:9/cb"]
        assert app.notify_uri == "http://127.0.0.1:9/notify"
    engine.dispose()


def test_third_parties_add_refuses_a_bad_redirect_uri_and_stores_nothing(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("PORTFOLIO_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    status = main(["third-parties", "add", "Bad", "--redirect-uri", "ftp://x/cb#frag", "--json"])
    assert status != 0
    assert "redirect URI" in capsys.readouterr().err
    engine = make_engine(sqlite_url)
    with make_session_factory(engine)() as session:
        assert session.scalars(select(ThirdPartyApplication)).first() is None
    engine.dispose()


def test_scope_string_is_parsed_into_data_types_intervals_and_history() -> None:
    scope = parse_scope("FB=1_3_4_5_13_14_15;IntervalDuration=900_1800;BlockDuration=daily;HistoryLength=86400")
    assert scope.data_types == {DataType.INTERVAL_USAGE, DataType.DAILY_TOTALS}
    assert scope.interval_durations == {900, 1800}
    assert scope.history_length == 86400


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty"),
        ("IntervalDuration=1800", "no FB"),
        ("FB=1_3", "asks for no data"),
        ("FB=4;IntervalDuration=x", "whole numbers"),
        ("FB=4;BlockDuration=monthly", "daily"),
        ("FB=4;HistoryLength=-5", "positive"),
        ("FB=4;FB=15", "twice"),
        ("FB=4;junk", "KEY=VALUE"),
    ],
)
def test_bad_scope_strings_are_refused_with_the_reason(text: str, problem: str) -> None:
    with pytest.raises(ScopeError, match=problem):
        parse_scope(text)
