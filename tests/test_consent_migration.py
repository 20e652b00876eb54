"""Migration 0007: today's broker and account-manager links become grants, and back again on downgrade."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect, select, text

from portfolio.access import viewer_for
from portfolio.db import make_session_factory
from portfolio.models import Grant, GranteeKind, Right, User
from portfolio.schema import alembic_config, is_current, upgrade


def _downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_links_become_grants_and_access_is_unchanged(engine: Engine) -> None:
    _downgrade(engine, "0005")
    assert "grants" not in inspect(engine).get_table_names()
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO organisations (id, name, account_number) VALUES "
                "(1, 'Acme', 'A1'), (2, 'Birch', 'B2'), (3, 'Cedar', 'C3')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO users (id, email, password_hash, role, organisation_id, is_active) VALUES "
                "(1, 'b@x.example', 'h', 'broker', NULL, TRUE), (2, 'am@x.example', 'h', 'account_manager', NULL, TRUE),"
                "(3, 'c@x.example', 'h', 'customer', 3, TRUE)"
            )
        )
        connection.execute(
            text("INSERT INTO user_organisations (user_id, organisation_id) VALUES (1, 1), (1, 2), (2, 2)")
        )
    upgrade(engine)
    assert is_current(engine) and "user_organisations" not in inspect(engine).get_table_names()
    with make_session_factory(engine)() as session:
        grants = session.scalars(select(Grant).order_by(Grant.grantee_user_id, Grant.organisation_id)).all()
        assert [(g.grantee_user_id, g.organisation_id, g.grantee_kind, g.rights) for g in grants] == [
            (1, 1, GranteeKind.BROKER, Right.MANAGE),
            (1, 2, GranteeKind.BROKER, Right.MANAGE),
            (2, 2, GranteeKind.ACCOUNT_MANAGER, Right.READ),
        ]
        assert all(g.all_sites and g.revoked_at is None and g.valid_until is None for g in grants)
        users = {u.id: u for u in session.scalars(select(User))}
        assert viewer_for(session, users[1]).organisation_ids == {1, 2}
        assert viewer_for(session, users[2]).organisation_ids == {2}
        assert viewer_for(session, users[3]).organisation_ids == {3}
    _downgrade(engine, "0005")
    with engine.connect() as connection:
        links = connection.execute(text("SELECT user_id, organisation_id FROM user_organisations ORDER BY 1, 2")).all()
    assert [tuple(link) for link in links] == [(1, 1), (1, 2), (2, 2)]
    upgrade(engine)
    assert is_current(engine)
