"""``portfolio demo-logins`` and ``load-demo --if-empty``."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portfolio.cli import main
from portfolio.db import make_engine, make_session_factory
from portfolio.models import Site
from tests.cli.conftest import add_organisation


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
