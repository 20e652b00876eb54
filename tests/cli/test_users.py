"""``portfolio users``: add, set-password, (de)activate, end-sessions."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from portfolio.cli import main
from portfolio.db import make_engine, make_session_factory
from portfolio.models import Grant, Right, Role, User
from tests.cli.conftest import add_organisation


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
