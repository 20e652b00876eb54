"""Reading rows by site and time spans: the same rows on both engines, however many spans a request has."""

from __future__ import annotations

from sqlalchemy.orm import Session

from portfolio.models import Reading, SiteExpected
from portfolio.queries.coverage import load_reading_starts_in
from portfolio.queries.expected import load_sites_expected_in
from tests.world import build_world

START = 1_900_008_000  # on the hour [UTC s], years after the test world's own readings


def test_reading_starts_within_many_spans_per_site(session: Session) -> None:
    """Hundreds of spans in one statement: every reading inside a span, none outside, none twice, readings with a
    longer interval than asked for left out."""
    world = build_world(session)
    bakery, boilers = world.acme_sites
    half_hours = 900  # 225 spans of the bakery: many spans bound as one value
    session.add_all(
        [
            Reading(site_id=bakery.id, start_ts=START + 1800 * n, interval_seconds=1800, energy_kwh=1.0)
            for n in range(half_hours)
        ]
        + [
            Reading(site_id=boilers.id, start_ts=START + 3600 * n, interval_seconds=3600, energy_kwh=2.0)
            for n in range(20)
        ]
        + [Reading(site_id=boilers.id, start_ts=START + 86_400 * 30, interval_seconds=86_400, energy_kwh=9.0)]
    )
    session.flush()
    # the bakery: every other hour, each its own span; the boilers: one span over all of it
    spans = {
        bakery.id: [(START + 7200 * n, START + 7200 * n + 3600) for n in range(half_hours // 4)],
        boilers.id: [(START, START + 86_400 * 31)],
    }
    found = load_reading_starts_in(session, spans, 3600)
    got = sorted(zip(found["site_id"].astype(int), found["start_ts"].astype(int), strict=True))
    expected_bakery = [(bakery.id, START + 7200 * n + k) for n in range(half_hours // 4) for k in (0, 1800)]
    expected_boilers = [(boilers.id, START + 3600 * n) for n in range(20)]
    assert len(spans[bakery.id]) == 225
    assert got == sorted(expected_bakery + expected_boilers)
    assert load_reading_starts_in(session, {bakery.id: [(START, START)]}, 3600).empty  # an empty span: nothing


def test_sites_with_predictions_within_their_spans(session: Session) -> None:
    """A site counts as modelled over its spans only when a stored prediction of that grid lies inside one of
    them: one just outside a span, or on the other grid, does not count; an empty span finds nothing."""
    world = build_world(session)
    bakery, boilers = world.acme_sites
    session.add_all(
        [
            SiteExpected(
                site_id=bakery.id, resolution="hh", start_ts=START + 1800 * 5, expected_kwh=1.0, variance_kwh2=0.1
            ),
            SiteExpected(
                site_id=boilers.id, resolution="hh", start_ts=START + 3600, expected_kwh=1.0, variance_kwh2=0.1
            ),
            SiteExpected(site_id=boilers.id, resolution="hour", start_ts=START, expected_kwh=2.0, variance_kwh2=0.2),
        ]
    )
    session.flush()
    spans = {
        bakery.id: [(START, START + 1800), (START + 1800 * 5, START + 1800 * 6)],  # the second holds its row
        boilers.id: [(START, START + 3600)],  # its hh row starts where the span ends
    }
    assert load_sites_expected_in(session, spans, "hh") == {bakery.id}
    assert load_sites_expected_in(session, spans, "hour") == {boilers.id}
    assert load_sites_expected_in(session, {bakery.id: [(START + 1800 * 5, START + 1800 * 5)]}, "hh") == set()
    assert load_sites_expected_in(session, {}, "hh") == set()
