"""``portfolio fit-models``: the JSON summary also reports the expected series."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from portfolio.db import make_engine, make_session_factory
from portfolio.models import ExpectedSeries
from portfolio.services import expected_series
from tests.cli.conftest import run_json


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
        "seconds",
        "scopes",
        "scopes_rebuilt",
        "sites",
        "sites_modelled",
        "sites_whole",
        "site_rows",
        "estimate_rows",
        "rows",
        "removed",
        "failed",
        "errors",
    }
    # "all" power and gas, and every organisation's power series (the broker's and account manager's unions)
    # the 47 demo sites with a model are predicted (two have too little data for one)
    assert (refreshed["scopes"], refreshed["sites"], refreshed["failed"], refreshed["errors"]) == (7, 47, 0, [])
    assert 0 < refreshed["sites_modelled"] <= 49
    assert refreshed["scopes_rebuilt"] == 7  # new at this limit: summed from their sites' rows
    assert set(refreshed["seconds"]) == {"sites", "scopes", "estimates"}
    assert refreshed["estimate_rows"] > 0  # the demo's short days, re-estimated from the predictions just stored
    engine = make_engine(demo_world[0])
    try:
        with make_session_factory(engine)() as session:
            assert session.scalar(select(func.count()).select_from(ExpectedSeries)) == refreshed["rows"]
    finally:
        engine.dispose()
