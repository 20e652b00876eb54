"""The temperature overlay, added up in the database: consumption-weighted, observed before forecast, local days."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from portfolio.models import WeatherLocation, WeatherReading
from portfolio.models.enums import WeatherKind
from portfolio.queries.graphs import load_weighted_temperature
from portfolio.timekeeping import local_midnight_ts, local_range_ts

LONDON = "Europe/London"
HOUR = 3600


def _locations(session: Session) -> tuple[int, int]:
    north, south = WeatherLocation(name="north"), WeatherLocation(name="south")
    session.add_all([north, south])
    session.flush()
    return north.id, south.id


def _reading(location: int, hour_ts: int, kind: str, celsius: float) -> WeatherReading:
    return WeatherReading(location_id=location, hour_ts=hour_ts, kind=WeatherKind(kind), air_temperature_c=celsius)


def test_hours_weigh_locations_by_consumption_and_flag_the_forecast(session: Session) -> None:
    """An hour's mean weighs each reporting location by its consumption; a forecast for an hour already observed
    somewhere is superseded, later forecast hours are kept and flagged; a location weighing nothing is left out."""
    north, south = _locations(session)
    base = local_midnight_ts(dt.date(2024, 1, 10), LONDON)
    session.add_all(
        [
            _reading(north, base, "observed", 10.0),
            _reading(south, base, "observed", 20.0),
            _reading(north, base + HOUR, "observed", 12.0),
            _reading(south, base + HOUR, "forecast", 99.0),  # superseded: the hour was observed (at the north)
            _reading(north, base + 2 * HOUR, "forecast", 14.0),
            _reading(south, base + 2 * HOUR, "forecast", 18.0),
            _reading(north, base + 3 * HOUR, "observed", 50.0),  # outside the range asked for
        ]
    )
    session.flush()
    result = load_weighted_temperature(session, {north: 300.0, south: 100.0}, base, base + 3 * HOUR, "hour", LONDON)
    assert result["start_ts"].tolist() == [base, base + HOUR, base + 2 * HOUR]
    assert result["temperature_c"].tolist() == pytest.approx([12.5, 12.0, 15.0])
    assert result["forecast"].tolist() == [False, False, True]
    only_north = load_weighted_temperature(session, {north: 1.0, south: 0.0}, base, base + 3 * HOUR, "hour", LONDON)
    assert only_north["temperature_c"].tolist() == pytest.approx([10.0, 12.0, 14.0])
    assert load_weighted_temperature(session, {}, base, base + 3 * HOUR, "hour", LONDON).empty
    assert load_weighted_temperature(session, {north: 1.0}, base + 4 * HOUR, base + 9 * HOUR, "hour", LONDON).empty


def test_local_days_average_their_hours_across_a_clock_change(session: Session) -> None:
    """At "day" each local day is the mean of its hours, started at local midnight: the 25-hour autumn day keeps
    all 25, the next day's late hours are a forecast, and a day is flagged forecast only when all its hours are."""
    north, _south = _locations(session)
    lo, hi = local_range_ts(dt.date(2024, 10, 27), dt.date(2024, 10, 29), LONDON)  # Sunday 27th: 25 hours
    autumn_end = local_midnight_ts(dt.date(2024, 10, 28), LONDON)
    last_observed = autumn_end + 11 * HOUR  # Monday 11:00
    session.add_all(
        [_reading(north, ts, "observed", 10.0 if ts < autumn_end else 6.0) for ts in range(lo, autumn_end, HOUR)]
        + [_reading(north, autumn_end + n * HOUR, "observed", 6.0) for n in range(11)]
        + [_reading(north, last_observed, "observed", 8.0)]
        + [_reading(north, ts, "forecast", 2.0) for ts in range(last_observed + HOUR, hi, HOUR)]
    )
    session.flush()
    days = load_weighted_temperature(session, {north: 5.0}, lo, hi, "day", LONDON)
    assert (autumn_end - lo) // HOUR == 25
    assert days["start_ts"].tolist() == [lo, autumn_end, local_midnight_ts(dt.date(2024, 10, 29), LONDON)]
    monday = (11 * 6.0 + 8.0 + 12 * 2.0) / 24
    assert days["temperature_c"].tolist() == pytest.approx([10.0, monday, 2.0])
    assert days["forecast"].tolist() == [False, False, True]
