"""Expected consumption read from storage on the fitted demo: scope sums of large views, per-site rows of the rest.

The scope-sum limit is lowered to a handful of sites so the demo's organisations count as "large"; the same graph
drawn with the limit back at 100 (the sites' stored rows added in SQL) is the reference the scope sums must match.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import Viewer, viewer_for
from portfolio.db import make_engine, make_session_factory, transaction
from portfolio.models import Grant, Organisation, Site, User
from portfolio.queries import expected_series as series_queries
from portfolio.queries.graphs import Scope
from portfolio.services import expected_series
from portfolio.services.expected_series import refresh_expected_series
from portfolio.services.expected_summary import compute_portfolio_summary
from portfolio.services.graphs import GraphRequest, make_graph
from portfolio.services.groups import create_group
from portfolio.web.views.graphs import make_expected
from tests.conftest import DEMO_TODAY

NOW = dt.datetime.combine(DEMO_TODAY, dt.time(6), dt.UTC)
CUSTOMER = "customer@demo.portfolio.example"  # Granta: 8 power sites
BROKER = "broker@demo.portfolio.example"  # Fen Edge (6), Northcote (7), Riverside (6) power sites
RIVERSIDE = "4100917350"
EXPECTED = ("Expected (temperature model)", "Expected, 90 % interval (lower)", "Expected, 90 % interval")
YEAR = GraphRequest("all", None, dt.date(2025, 11, 25), dt.date(2026, 11, 24), "power")
FORTNIGHT = GraphRequest("all", None, dt.date(2026, 11, 11), dt.date(2026, 11, 24), "power")


@pytest.fixture
def factory(demo_world: tuple[str, Path]) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(demo_world[0])
    yield make_session_factory(engine)
    engine.dispose()


def _viewer(session: Session, email: str) -> Viewer:
    return viewer_for(session, session.scalar(select(User).where(User.email == email)))  # type: ignore[arg-type]


def _graph(factory: sessionmaker[Session], email: str, request: GraphRequest) -> tuple[dict[str, np.ndarray], str, str]:
    with factory() as session:
        result = make_graph(session, _viewer(session, email), request, now=NOW)
    traces = {
        t.name: np.array([np.nan if v is None else v for v in t.y], dtype=float)
        for t in result.figure.data
        if t.name in EXPECTED
    }
    return traces, result.note, result.resolution


def _assert_same_traces(stored: dict[str, np.ndarray], live: dict[str, np.ndarray]) -> None:
    assert set(stored) == set(EXPECTED) == set(live)
    for name in EXPECTED:
        assert np.isnan(stored[name]).tolist() == np.isnan(live[name]).tolist(), name
        assert_allclose(stored[name], live[name], rtol=1e-9, equal_nan=True, err_msg=name)


@pytest.mark.parametrize("request_", [YEAR, FORTNIGHT], ids=["year", "fortnight"])
def test_a_large_organisation_reads_the_precomputed_series(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch, request_: GraphRequest
) -> None:
    monkeypatch.setattr(expected_series, "SUMMED_SCOPE_SITES", 5)
    report = refresh_expected_series(factory, NOW)
    assert report.scopes > 0 and not report.errors
    stored, note, resolution = _graph(factory, CUSTOMER, request_)
    assert resolution == ("day" if request_ is YEAR else "hour")
    assert "of 8 sites, computed 25 Nov 2026 06:00 GMT (site errors taken as independent)" in note
    assert np.nanmax(stored["Expected (temperature model)"]) > 0

    monkeypatch.setattr(expected_series, "SUMMED_SCOPE_SITES", 100)  # the same graph from the sites' own rows
    live, live_note, _ = _graph(factory, CUSTOMER, request_)
    assert "of 8 sites" in live_note
    _assert_same_traces(stored, live)


def _broker_group(factory: sessionmaker[Session]) -> str:
    with transaction(factory) as session:
        viewer = _viewer(session, BROKER)
        power = session.scalars(
            select(Site.id).where(Site.organisation_id.in_(viewer.organisation_ids or []), Site.fuel == "power")
        ).all()
        assert len(power) == 19
        return str(create_group(session, viewer, "Three clients", power).id)


def test_a_group_reads_its_series_and_a_narrowed_group_adds_its_sites_rows(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(expected_series, "SUMMED_SCOPE_SITES", 5)
    group = _broker_group(factory)
    request = GraphRequest(group, None, FORTNIGHT.start, FORTNIGHT.end, "power")
    refresh_expected_series(factory, NOW)
    stored, note, _ = _graph(factory, BROKER, request)
    assert "of 19 sites, computed" in note and set(stored) == set(EXPECTED)

    with transaction(factory) as session:  # the broker loses Riverside: the group now shows 13 of its 19 sites
        riverside = session.scalar(select(Organisation.id).where(Organisation.account_number == RIVERSIDE))
        user_id = session.scalar(select(User.id).where(User.email == BROKER))
        session.execute(
            update(Grant)
            .where(Grant.grantee_user_id == user_id, Grant.organisation_id == riverside)
            .values(revoked_at=dt.datetime.now(dt.UTC))
        )
    traces, note, _ = _graph(factory, BROKER, request)
    assert set(traces) == set(EXPECTED)  # no scope sums for 13 of 19: their stored rows, summed in SQL
    assert " 13 sites · " in note and "of 13 sites, computed" in note


def test_an_organisation_not_yet_summed_adds_its_sites_rows(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(expected_series, "SUMMED_SCOPE_SITES", 10)
    refresh_expected_series(factory, NOW)  # the broker's 19 power sites: all three organisations maintained
    with transaction(factory) as session:  # as if Riverside (6 sites) had been linked since the last run
        riverside = session.scalar(select(Organisation.id).where(Organisation.account_number == RIVERSIDE))
        series_queries.delete_expected_series(session, Scope("org", riverside), "power")
    stored, note, _ = _graph(factory, BROKER, FORTNIGHT)
    assert "of 19 sites, computed" in note

    monkeypatch.setattr(expected_series, "SUMMED_SCOPE_SITES", 100)
    live, _, _ = _graph(factory, BROKER, FORTNIGHT)
    _assert_same_traces(stored, live)


def _texts(component: Any) -> list[str]:
    if isinstance(component, str):
        return [component]
    if isinstance(component, (list, tuple)):
        return [t for child in component for t in _texts(child)]
    children = getattr(component, "children", None)
    return _texts(children) if children is not None else []


def test_a_portfolio_over_the_summed_size_gets_every_card_of_the_summary(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(expected_series, "SUMMED_SCOPE_SITES", 5)
    refresh_expected_series(factory, NOW)
    with factory() as session:
        viewer = _viewer(session, CUSTOMER)
        texts = _texts(make_expected(session, viewer, FORTNIGHT, now=NOW))
        site_ids = session.scalars(
            select(Site.id).where(Site.organisation_id.in_(viewer.organisation_ids or []), Site.fuel == "power")
        ).all()
        today = int(dt.datetime.combine(DEMO_TODAY, dt.time(), dt.UTC).timestamp())  # GMT in November
        sites = pd.DataFrame({"site_id": site_ids, "fuel": "power", "interval_seconds": 3600})
        (live,) = compute_portfolio_summary(session, sites, today - 14 * 86_400, today, today)
    assert live.expected_next_kwh is not None and live.expected_next_range_kwh is not None
    card = texts.index("Expected next 7 days")
    assert texts[card + 1] == f"{live.expected_next_kwh:,.0f} kWh"
    low, high = live.expected_next_range_kwh
    assert texts[card + 2] == f"90 % range {max(low, 0):,.0f}–{high:,.0f} kWh"
    assert texts[card + 3] == f"{live.sites_forecast} of 8 sites have a model"
    # every size gets every card: metered and the estimate for missing intervals too, not the next week only
    assert {"Metered", "Estimated for missing intervals"} <= set(texts)
    assert not any("shown for up to" in t for t in texts)
    assert "Model quality (out-of-sample backtest, ASHRAE Guideline 14)" in texts
