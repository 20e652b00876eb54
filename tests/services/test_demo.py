"""Loading the demo dataset: the world, real gaps, data ending yesterday, a forecast, generated logins."""

from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.config import load_settings
from portfolio.models import DailyUsage, Organisation, Reading, Site, User, WeatherKind, WeatherReading
from portfolio.services.demo import demo_logins, load_demo

TODAY = dt.date(2026, 11, 25)
YESTERDAY = TODAY - dt.timedelta(days=1)


def _day_start_ts(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp())


@pytest.fixture
def demo(session_factory: sessionmaker[Session], tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = load_settings({}, instance_path=tmp_path / "instance", database_url="unused", secret_key="x")
    summary = load_demo(session_factory, settings, today=TODAY)
    return settings, summary


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
