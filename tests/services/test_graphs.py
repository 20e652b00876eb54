"""Coverage-aware portfolio graphs on the demo data: missing sites estimated apart, partial days marked."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import Viewer, organisation_viewer
from portfolio.models import Organisation, Role, Site
from portfolio.services.expected_summary import compute_portfolio_summary
from portfolio.services.graphs import GraphRequest, make_graph, make_graph_csv
from portfolio.services.groups import ALL_SITES
from portfolio.timekeeping import local_midnight_ts
from tests.conftest import DEMO_TODAY

TODAY = DEMO_TODAY
NOW = dt.datetime(2026, 11, 25, 6, tzinfo=dt.UTC)
RIVERSIDE = "Riverside Print & Copy Ltd"


@pytest.fixture
def database_url(demo_world: tuple[str, Path]) -> str:
    """Every test here starts from the demo with its models fitted, built once per engine (``tests/conftest.py``)."""
    return demo_world[0]


@pytest.fixture
def riverside(session_factory: sessionmaker[Session]) -> tuple[Viewer, list[int]]:
    with session_factory() as session:
        organisation = session.scalar(select(Organisation.id).where(Organisation.name == RIVERSIDE))
        site_ids = list(session.scalars(select(Site.id).where(Site.organisation_id == organisation)))
    return organisation_viewer(1, "someone@example.com", Role.CUSTOMER, frozenset({int(organisation)})), site_ids


def _trace(figure, prefix: str):
    return [t for t in figure.data if (t.name or "").startswith(prefix)]


def test_summary_graph_and_totals_agree_on_metered_and_estimated(
    session_factory: sessionmaker[Session], riverside: tuple[Viewer, list[int]]
) -> None:
    viewer, site_ids = riverside
    start, end = TODAY - dt.timedelta(days=30), TODAY - dt.timedelta(days=1)
    request = GraphRequest(ALL_SITES, None, start, end, "power", granularity="day")
    lo, hi = (local_midnight_ts(d, "Europe/London") for d in (start, end + dt.timedelta(days=1)))
    with session_factory() as session:
        result = make_graph(session, viewer, request, now=NOW)
        sites = pd.DataFrame({"site_id": site_ids, "fuel": "power", "interval_seconds": 1800})
        (summary,) = compute_portfolio_summary(session, sites, lo, hi, hi)
    assert result.totals is not None
    assert result.totals["metered_kwh"] == pytest.approx(summary.metered_kwh, rel=1e-9)
    assert result.totals["estimated_kwh"] == pytest.approx(summary.estimated_missing_kwh, rel=1e-6)
    estimated = _trace(result.figure, "Estimated for ")
    assert len(estimated) == 1 and "missing site" in estimated[0].name
    assert estimated[0].marker.pattern.shape == "x"  # hatched: never read as metered
    hover = [c[1] for c in estimated[0].customdata if c[1]]
    assert any(" of 6 sites reporting" in text and "estimated (model)" in text for text in hover)
    # Canary Wharf has neither data nor a model: it is named as not estimated, never zero-filled
    assert "not estimated (no model)" in result.note
    assert "Estimated for missing sites" in result.summary
    with session_factory() as session:
        exported = pd.read_csv(io.StringIO(make_graph_csv(session, viewer, request, now=NOW)))
    assert exported["metered_kwh"].sum() == pytest.approx(summary.metered_kwh, abs=0.05)
    estimated = exported["estimated_for_missing_kwh (model, not metered)"].sum()
    assert estimated == pytest.approx(summary.estimated_missing_kwh, abs=0.05)


def test_a_partial_day_is_drawn_as_partial(
    session_factory: sessionmaker[Session], riverside: tuple[Viewer, list[int]]
) -> None:
    viewer, site_ids = riverside
    start, end = TODAY - dt.timedelta(days=60), TODAY - dt.timedelta(days=1)
    request = GraphRequest(ALL_SITES, None, start, end, "power", granularity="day")
    with session_factory() as session:
        result = make_graph(session, viewer, request, now=NOW)
    reporting = [t for t in result.figure.data if t.name == "Sites reporting"]
    assert reporting and reporting[0].yaxis == "y3"
    assert result.figure.layout.yaxis2.domain[1] < result.figure.layout.yaxis.domain[0]  # temperature apart
    temperature = [t for t in result.figure.data if t.name == "Temperature"]
    assert temperature and temperature[0].line.color == "#2563eb"


def test_the_note_names_a_few_unmodelled_sites_and_counts_the_rest() -> None:
    from portfolio.services.graphs import NOTE_NAMES, _some_names

    names = [f"Site {n:02d}" for n in range(32)]
    assert _some_names(names) == f"{', '.join(names[:NOTE_NAMES])} and {32 - NOTE_NAMES} more"
    assert _some_names(names[:NOTE_NAMES]) == ", ".join(names[:NOTE_NAMES])
    assert _some_names(["Canary Wharf"]) == "Canary Wharf"
