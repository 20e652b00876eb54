"""The overview cards on the demo data: missing sites named, metered compared with expected like for like."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import organisation_viewer
from portfolio.models import Organisation, Role
from portfolio.services.overview import make_overview
from tests.conftest import DEMO_TODAY

TODAY = DEMO_TODAY


@pytest.fixture
def database_url(demo_world: tuple[str, Path]) -> str:
    """The overview is drawn from the demo with its models fitted, built once per engine (``tests/conftest.py``)."""
    return demo_world[0]


def test_broker_sees_a_card_per_client_with_missing_sites_named(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        clients = {
            name: org_id
            for org_id, name in session.execute(select(Organisation.id, Organisation.name))
            if name.startswith(("Riverside", "Northcote", "Fen Edge"))
        }
    broker = organisation_viewer(1, "broker@example.com", Role.BROKER, frozenset(clients.values()))
    with session_factory() as session:
        cards = make_overview(session, broker, TODAY)
    titles = [card.title for card in cards]
    assert titles[0] == "All sites" and {name for name in clients} <= set(titles)
    riverside = next(card for card in cards if card.title.startswith("Riverside"))
    (power,) = riverside.fuels
    assert any("Canary Wharf" in name for name in power.missing)  # never reported: missing, not zero
    assert power.sites_reporting == power.sites - len(power.missing)
    assert power.yesterday_kwh is not None
    # like for like: only fully reported site-days are compared, so the compared metered total is at most the total
    if power.week_compared_kwh is not None:
        assert power.week_compared_kwh <= (power.week_kwh or 0) + 1e-9 and power.week_expected_kwh is not None
    assert riverside.graph_link.startswith("/graphs?") and "group=all" in riverside.graph_link
