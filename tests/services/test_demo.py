"""Loading the demo dataset: the world, real gaps, data ending yesterday, a forecast, generated logins."""

from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.models import DailyUsage, Organisation, Reading, Site, User, WeatherKind, WeatherReading
from portfolio.services.demo import FORECAST_DAYS, demo_logins, load_demo, week_shift
from tests.conftest import DEMO_TODAY, LoadedDemo

TODAY = DEMO_TODAY
YESTERDAY = TODAY - dt.timedelta(days=1)


def _day_start_ts(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp())


@pytest.fixture
def database_url(loaded_demo: LoadedDemo) -> str:
    """Every database test here starts from the demo, loaded once per engine (``tests/conftest.py``)."""
    return loaded_demo.url


@pytest.fixture
def demo(loaded_demo: LoadedDemo):  # type: ignore[no-untyped-def]
    return loaded_demo.settings, loaded_demo.summary


def test_demo_world(demo, session: Session) -> None:  # type: ignore[no-untyped-def]
    _, summary = demo
    assert 40 <= summary.sites <= 60
    assert session.scalar(select(func.count()).select_from(Site)) == summary.sites
    assert session.scalar(select(func.count()).select_from(Organisation)) == summary.organisations >= 3
    roles = {u.role.value for u in session.scalars(select(User))}
    assert roles == {"customer", "broker", "account_manager", "admin"}
    sites_without_data = session.scalars(
        select(Site.name).where(~select(Reading.site_id).where(Reading.site_id == Site.id).exists())
    ).all()
    assert len(sites_without_data) == 1
    assert summary.readings == session.scalar(select(func.count()).select_from(Reading)) > 500_000


def test_demo_ends_yesterday_with_a_forecast(demo, session: Session) -> None:  # type: ignore[no-untyped-def]
    last_ts = session.scalar(select(func.max(Reading.start_ts)))
    assert dt.datetime.fromtimestamp(last_ts, dt.UTC).date() == YESTERDAY
    last_day = session.scalar(select(func.max(DailyUsage.local_date)))
    assert last_day == YESTERDAY
    observed_end = session.scalar(
        select(func.max(WeatherReading.hour_ts)).where(WeatherReading.kind == WeatherKind.OBSERVED)
    )
    forecast = session.execute(
        select(func.min(WeatherReading.hour_ts), func.max(WeatherReading.hour_ts)).where(
            WeatherReading.kind == WeatherKind.FORECAST
        )
    ).one()
    assert observed_end < _day_start_ts(TODAY) <= forecast[0]
    assert forecast[1] >= _day_start_ts(TODAY + dt.timedelta(days=6))


def test_demo_keeps_weekdays_and_gaps(demo, session: Session) -> None:  # type: ignore[no-untyped-def]
    # Source series start on Tuesday 2013-01-01 (London) and Tuesday 2019-01-01 (Cambridge), at midnight UTC:
    # a whole-week shift keeps both on a Tuesday midnight.
    for meter_type in ("smart", "amr"):
        first_ts = session.scalar(
            select(func.min(Reading.start_ts))
            .join(Site, Site.id == Reading.site_id)
            .where(Site.meter_type == meter_type)
        )
        first = dt.datetime.fromtimestamp(first_ts, dt.UTC)
        assert (first.weekday(), first.hour, first.minute) == (1, 0, 0)
    zero_power_hours = session.scalar(
        select(func.count())
        .select_from(Reading)
        .join(Site, Site.id == Reading.site_id)
        .where(Site.meter_type == "amr", Site.fuel == "power", Reading.energy_kwh == 0)
    )
    assert zero_power_hours == 0  # the archive's zero fills came back as gaps
    counts = (
        session.execute(
            select(func.count())
            .select_from(Reading)
            .join(Site, Site.id == Reading.site_id)
            .where(Site.meter_type == "smart")
            .group_by(Reading.site_id)
        )
        .scalars()
        .all()
    )
    full_span = max(counts)
    assert any(count < full_span - 48 for count in counts)  # real gaps and partial series kept


def test_demo_logins_are_generated_and_private(demo) -> None:  # type: ignore[no-untyped-def]
    settings, _ = demo
    logins = demo_logins(settings)
    assert {item["role"] for item in logins} == {"customer", "broker", "account_manager", "admin"}
    assert all(len(item["password"]) >= 12 for item in logins)
    path = settings.instance_path / "demo_logins.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    shipped = (Path(__file__).parents[2] / "src" / "portfolio" / "demo_data" / "demo.json").read_text()
    assert not any(item["password"] in shipped for item in logins)
    assert json.loads(path.read_text()) == logins


def test_demo_refuses_to_load_twice(demo, session_factory: sessionmaker[Session]) -> None:  # type: ignore[no-untyped-def]
    settings, _ = demo
    with pytest.raises(RuntimeError, match="already loaded"):
        load_demo(session_factory, settings, today=TODAY)


# The whole-week time shift: ends yesterday, keeps weekdays, works for any 'today' -------------------
def test_forecast_is_a_week() -> None:
    assert FORECAST_DAYS == 7


def test_lcl_2013_onto_a_known_day() -> None:
    # 2013-12-31 was a Tuesday; today 2026-11-25 (Wednesday) -> yesterday Tuesday 2026-11-24.
    shift, cut = week_shift(dt.date(2013, 12, 31), dt.date(2026, 11, 25))
    assert cut == dt.date(2013, 12, 31)
    assert cut + shift == dt.date(2026, 11, 24)
    assert shift.days % 7 == 0


def test_cut_day_steps_back_to_yesterdays_weekday() -> None:
    # 2019-12-31 is a Tuesday; yesterday is a Sunday -> last Sunday on or before is 2019-12-29.
    today = dt.date(2026, 11, 23)  # Monday
    shift, cut = week_shift(dt.date(2019, 12, 31), today)
    assert cut == dt.date(2019, 12, 29)
    assert cut.weekday() == (today - dt.timedelta(days=1)).weekday() == 6


@pytest.mark.parametrize("offset", range(0, 800, 37))
@pytest.mark.parametrize("source_last_day", [dt.date(2013, 12, 31), dt.date(2019, 12, 31), dt.date(2020, 2, 29)])
def test_invariants_for_any_today(source_last_day: dt.date, offset: int) -> None:
    # Dates before, inside and long after the source year.
    for today in (
        source_last_day + dt.timedelta(days=offset - 400),
        dt.date(2000, 1, 1) + dt.timedelta(days=offset * 13),
    ):
        yesterday = today - dt.timedelta(days=1)
        shift, cut = week_shift(source_last_day, today)
        assert shift.days % 7 == 0 and shift.seconds == 0 and shift.microseconds == 0
        assert cut + shift == yesterday
        assert cut.weekday() == yesterday.weekday()
        assert source_last_day - dt.timedelta(days=6) <= cut <= source_last_day


def test_today_before_the_source_gives_negative_whole_weeks() -> None:
    shift, cut = week_shift(dt.date(2019, 12, 31), dt.date(2010, 6, 1))
    assert shift < dt.timedelta(0)
    assert shift.days % 7 == 0
    assert cut + shift == dt.date(2010, 5, 31)


def test_today_right_after_the_source() -> None:
    # today = day after the last source day: no shift at all.
    assert week_shift(dt.date(2019, 12, 31), dt.date(2020, 1, 1)) == (dt.timedelta(0), dt.date(2019, 12, 31))
