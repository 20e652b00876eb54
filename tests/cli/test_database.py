"""``portfolio init-db``."""

from __future__ import annotations

import pytest

from portfolio.cli import main


def test_init_db_prints_the_revision(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    from alembic.script import ScriptDirectory

    from portfolio.schema import alembic_config

    assert main(["init-db"]) == 0
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert f"revision {head}" in capsys.readouterr().out
