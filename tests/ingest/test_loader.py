"""The bulk loader on SQLite and PostgreSQL: sites on demand, idempotent upserts, daily roll-ups, weather."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portfolio.ingest.loader import (
    LoaderError,
    LoadSummary,
    infer_meter_type,
    load_parsed,
    refresh_daily_usage,
    store_readings,
    store_weather,
)
from portfolio.ingest.records import MeterSeries, ParsedFile, WeatherSeries
from portfolio.models import (
    UNASSIGNED_ACCOUNT,
    DailyUsage,
    ImportRecord,
    Meter,
    MeterType,
    Organisation,
    Reading,
    Site,
    WeatherLocation,
    WeatherReading,
)

JAN_2024 = int(dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp())
SHA = "0" * 64


def half_hours(start_ts: int, count: int, *, seed: int = 0, estimated: bool = False) -> pd.DataFrame:
    """A half-hourly readings frame in the records.READING_COLUMNS shape."""
    values = np.round(np.random.default_rng(seed).uniform(0.1, 2.0, count), 3)
    return pd.DataFrame(
        {
            "start_ts": start_ts + 1800 * np.arange(count, dtype=np.int64),
            "interval_seconds": np.full(count, 1800, dtype=np.int64),
            "energy_kwh": values,
            "estimated": np.full(count, estimated),
            "original_value": np.full(count, np.nan),
            "original_unit": pd.Series([None] * count, dtype=object),
        }
    )


def series(identifier: str, readings: pd.DataFrame, kind: str = "mpan", fuel: str = "power") -> MeterSeries:
    return MeterSeries(identifier=identifier, identifier_kind=kind, fuel=fuel, readings=readings)


def parsed(*meters: MeterSeries, weather: tuple[WeatherSeries, ...] = ()) -> ParsedFile:
    return ParsedFile(path="upload.csv", format="hh-csv-long", meters=meters, weather=weather)


def load(session: Session, file: ParsedFile, org: str | None = None) -> LoadSummary:
    summary = load_parsed(session, file, organisation_account=org, filename="upload.csv", sha256=SHA)
    session.commit()
    return summary


def stored(session: Session) -> list[tuple[int, int, float, bool]]:
    rows = session.execute(
        select(Reading.site_id, Reading.start_ts, Reading.energy_kwh, Reading.estimated).order_by(
            Reading.site_id, Reading.start_ts
        )
    )
    return [tuple(r) for r in rows]


def daily(session: Session) -> list[tuple[int, dt.date, float, int, int, int]]:
    rows = session.execute(
        select(
            DailyUsage.site_id,
            DailyUsage.local_date,
            DailyUsage.energy_kwh,
            DailyUsage.intervals,
            DailyUsage.estimated_intervals,
            DailyUsage.interval_seconds,
        ).order_by(DailyUsage.site_id, DailyUsage.local_date)
    )
    return [tuple(r) for r in rows]


def test_new_meter_creates_site_in_unassigned_organisation(session: Session) -> None:
    summary = load(session, parsed(series("1234567890126", half_hours(JAN_2024, 96))))

    assert summary == LoadSummary(sites=1, sites_created=1, readings=96, weather=0)
    site = session.scalars(select(Site)).one()
    assert site.organisation.account_number == UNASSIGNED_ACCOUNT
    assert site.organisation.name == "Unassigned"
    assert (site.name, site.fuel.value, site.meter_type, site.time_zone) == (
        "1234567890126",
        "power",
        MeterType.HH,
        "Europe/London",
    )
    assert session.scalars(select(Meter.identifier)).all() == ["1234567890126"]
    record = session.scalars(select(ImportRecord)).one()
    assert (record.filename, record.sha256, record.format, record.readings) == ("upload.csv", SHA, "hh-csv-long", 96)
    assert set(session.scalars(select(Reading.import_id))) == {record.id}
    assert [(d, n) for _, d, _, n, _, _ in daily(session)] == [(dt.date(2024, 1, 1), 48), (dt.date(2024, 1, 2), 48)]


def test_org_account_places_new_sites_and_unknown_account_is_an_error(session: Session) -> None:
    session.add(Organisation(name="Acme Foods Ltd", account_number="ACME-001"))
    session.commit()

    load(session, parsed(series("MAC000002", half_hours(JAN_2024, 4), kind="other")), org="ACME-001")
    site = session.scalars(select(Site)).one()
    assert site.organisation.account_number == "ACME-001"
    assert site.meter_type is MeterType.SMART

    with pytest.raises(LoaderError, match="NOPE-404"):
        load_parsed(
            session,
            parsed(series("MAC000003", half_hours(JAN_2024, 4))),
            organisation_account="NOPE-404",
            filename="x.csv",
            sha256=SHA,
        )
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Site)) == 1
    assert session.scalar(select(func.count()).select_from(Organisation)) == 1  # no Unassigned created either


def test_known_meter_adds_to_its_site_whatever_the_org(session: Session) -> None:
    session.add(Organisation(name="Acme Foods Ltd", account_number="ACME-001"))
    session.commit()
    load(session, parsed(series("1234567890126", half_hours(JAN_2024, 48))))

    summary = load(session, parsed(series("1234567890126", half_hours(JAN_2024 + 86400, 48, seed=1))), org="ACME-001")

    assert summary == LoadSummary(sites=1, sites_created=0, readings=48, weather=0)
    site = session.scalars(select(Site)).one()
    assert site.organisation.account_number == UNASSIGNED_ACCOUNT
    assert session.scalar(select(func.count()).select_from(Reading)) == 96


def test_reimporting_the_same_frame_changes_nothing(session: Session) -> None:
    file = parsed(series("A", half_hours(JAN_2024, 500), kind="other"), series("B", half_hours(JAN_2024, 300, seed=2)))
    first = load(session, file)
    before_readings, before_daily = stored(session), daily(session)

    second = load(session, file)

    assert first == LoadSummary(sites=2, sites_created=2, readings=800, weather=0)
    assert second == LoadSummary(sites=2, sites_created=0, readings=0, weather=0)
    assert stored(session) == before_readings
    assert daily(session) == before_daily
    assert session.scalar(select(func.count()).select_from(Site)) == 2


def test_changed_value_replaces_and_updates_daily_usage(session: Session) -> None:
    frame = half_hours(JAN_2024, 48)
    load(session, parsed(series("A", frame)))
    changed = frame.copy()
    changed.loc[10, "energy_kwh"] = 99.0

    summary = load(session, parsed(series("A", changed)))

    assert summary.readings == 1
    assert session.scalar(select(Reading.energy_kwh).where(Reading.start_ts == JAN_2024 + 10 * 1800)) == 99.0
    ((_, _, energy, intervals, _, _),) = daily(session)
    assert energy == pytest.approx(changed["energy_kwh"].sum())
    assert intervals == 48


def test_estimate_never_overwrites_an_actual_but_an_actual_replaces_an_estimate(session: Session) -> None:
    actual = half_hours(JAN_2024, 4)
    load(session, parsed(series("A", actual)))
    site_id = session.scalar(select(Site.id))

    estimate = half_hours(JAN_2024, 6, seed=5, estimated=True)
    assert store_readings(session, site_id, estimate, None) == 2  # only the two new intervals
    session.commit()
    values = {ts: (kwh, est) for _, ts, kwh, est in stored(session)}
    for i in range(4):
        assert values[JAN_2024 + i * 1800] == (actual["energy_kwh"][i], False)
    assert values[JAN_2024 + 5 * 1800] == (estimate["energy_kwh"][5], True)

    later_actual = half_hours(JAN_2024 + 4 * 1800, 2, seed=9)
    assert store_readings(session, site_id, later_actual, None) == 2
    session.commit()
    values = {ts: (kwh, est) for _, ts, kwh, est in stored(session)}
    assert values[JAN_2024 + 5 * 1800] == (later_actual["energy_kwh"][1], False)


def test_repeated_start_in_one_frame_keeps_the_actual(session: Session) -> None:
    frame = pd.concat([half_hours(JAN_2024, 2), half_hours(JAN_2024, 1, seed=3, estimated=True)], ignore_index=True)
    load(session, parsed(series("A", frame)))
    assert [(ts, kwh, est) for _, ts, kwh, est in stored(session)] == [
        (JAN_2024, frame["energy_kwh"][0], False),
        (JAN_2024 + 1800, frame["energy_kwh"][1], False),
    ]


def test_failed_load_leaves_no_partial_state(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    load(session, parsed(series("A", half_hours(JAN_2024, 48))))
    before = (stored(session), daily(session), session.scalar(select(func.count()).select_from(ImportRecord)))

    import portfolio.ingest.loader as loader

    real = loader.store_clean_readings
    calls = {"n": 0}

    def fail_on_second_meter(*args: object, **kwargs: object) -> int:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(loader, "store_clean_readings", fail_on_second_meter)
    changed = half_hours(JAN_2024, 96, seed=7)  # overwrites A's first day and adds a second
    with pytest.raises(RuntimeError):
        load_parsed(
            session, parsed(series("A", changed), series("B", half_hours(JAN_2024, 48))), filename="bad.csv", sha256=SHA
        )
    session.rollback()

    after = (stored(session), daily(session), session.scalar(select(func.count()).select_from(ImportRecord)))
    assert after == before
    assert session.scalars(select(Meter.identifier)).all() == ["A"]


@pytest.mark.parametrize(
    ("utc_start", "local_date", "expected"),
    [
        (dt.datetime(2024, 3, 31, 0, 0), dt.date(2024, 3, 31), 46),  # BST starts: local 00:00 is 00:00 UTC
        (dt.datetime(2024, 10, 26, 23, 0), dt.date(2024, 10, 27), 50),  # BST ends: local 00:00 is 23:00 UTC
    ],
)
def test_daily_usage_counts_local_days_across_clock_changes(
    session: Session, utc_start: dt.datetime, local_date: dt.date, expected: int
) -> None:
    start = int(utc_start.replace(tzinfo=dt.UTC).timestamp())
    load(session, parsed(series("A", half_hours(start - 4 * 3600, expected + 16))))  # 8 h either side

    days = {d: (n, seconds) for _, d, _, n, _, seconds in daily(session)}
    assert days[local_date] == (expected, 1800)
    assert sum(n for n, _ in days.values()) == expected + 16


def test_refresh_daily_usage_recomputes_from_stored_readings(session: Session) -> None:
    load(session, parsed(series("A", half_hours(JAN_2024, 96))))
    site_id = session.scalar(select(Site.id))
    session.execute(DailyUsage.__table__.update().values(energy_kwh=0.0, intervals=0))

    refresh_daily_usage(session, site_id, "Europe/London", JAN_2024, JAN_2024 + 2 * 86400)
    session.commit()

    total = session.scalar(select(func.sum(Reading.energy_kwh)))
    assert [n for _, _, _, n, _, _ in daily(session)] == [48, 48]
    assert sum(e for _, _, e, _, _, _ in daily(session)) == pytest.approx(total)


def test_readings_longer_than_a_day_stay_out_of_daily_usage(session: Session) -> None:
    monthly = pd.DataFrame(
        {
            "start_ts": [JAN_2024, JAN_2024 + 31 * 86400],
            "interval_seconds": [31 * 86400, 29 * 86400],
            "energy_kwh": [1200.0, 1100.0],
            "estimated": [False, False],
            "original_value": [np.nan, np.nan],
            "original_unit": [None, None],
        }
    )
    summary = load(session, parsed(series("G", monthly, kind="mprn", fuel="gas")))
    assert summary.readings == 2
    assert daily(session) == []
    assert session.scalars(select(Site.meter_type)).one() is MeterType.AMR


def test_original_values_and_units_are_kept(session: Session) -> None:
    frame = half_hours(JAN_2024, 3)
    frame["original_value"] = [1.0, np.nan, 3.0]
    frame["original_unit"] = ["m3", None, "hcf"]
    load(session, parsed(series("G", frame, kind="mprn", fuel="gas")))
    rows = session.execute(select(Reading.original_value, Reading.original_unit).order_by(Reading.start_ts)).all()
    assert [tuple(r) for r in rows] == [(1.0, "m3"), (None, None), (3.0, "hcf")]


def test_weather_upsert(session: Session) -> None:
    temps = pd.DataFrame(
        {"hour_ts": JAN_2024 + 3600 * np.arange(24, dtype=np.int64), "air_temperature_c": np.arange(24.0)}
    )
    summary = load(session, parsed(weather=(WeatherSeries(location="Bedford", temperatures=temps),)))
    assert summary == LoadSummary(sites=0, sites_created=0, readings=0, weather=24)

    assert store_weather(session, "Bedford", temps) == 0
    warmer = temps.assign(air_temperature_c=temps["air_temperature_c"] + np.r_[np.zeros(23), 5.0])
    assert store_weather(session, "Bedford", warmer) == 1
    assert store_weather(session, "Bedford", temps.head(2), kind="forecast", issued_at_ts=JAN_2024) == 2
    session.commit()

    assert session.scalars(select(WeatherLocation.name)).all() == ["Bedford"]
    assert session.scalar(select(func.count()).select_from(WeatherReading)) == 26
    last = session.scalar(
        select(WeatherReading.air_temperature_c).where(
            WeatherReading.hour_ts == JAN_2024 + 23 * 3600, WeatherReading.kind == "observed"
        )
    )
    assert last == 28.0


def test_infer_meter_type() -> None:
    assert infer_meter_type("mpan", 1800) is MeterType.HH
    assert infer_meter_type("other", 1800) is MeterType.SMART
    assert infer_meter_type("espi", 900) is MeterType.SMART
    assert infer_meter_type("mpan", 3600) is MeterType.AMR
    assert infer_meter_type("mprn", 30 * 86400) is MeterType.AMR


def test_one_unit_for_every_row_and_no_import_id(session: Session) -> None:
    load(session, parsed(series("G", half_hours(JAN_2024, 2), kind="mprn", fuel="gas")))
    site_id = session.scalar(select(Site.id))
    frame = half_hours(JAN_2024 + 86400, 3)
    frame["original_value"] = [1.5, 2.5, 3.5]
    frame["original_unit"] = "m3"

    assert store_readings(session, site_id, frame, None) == 3
    session.commit()

    rows = session.execute(
        select(Reading.original_value, Reading.original_unit, Reading.import_id).where(
            Reading.start_ts >= JAN_2024 + 86400
        )
    ).all()
    assert sorted(tuple(r) for r in rows) == [(1.5, "m3", None), (2.5, "m3", None), (3.5, "m3", None)]


def test_roles_that_keep_foreign_key_triggers_load_the_same(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    import portfolio.ingest.bulk as bulk

    monkeypatch.setattr(bulk, "_may_skip_row_triggers", lambda cursor: False)
    frame = half_hours(JAN_2024, 96)
    assert load(session, parsed(series("A", frame))).readings == 96
    assert load(session, parsed(series("A", frame))).readings == 0
    assert load(session, parsed(series("A", half_hours(JAN_2024 + 2 * 86400, 48, seed=4)))).readings == 48
    assert session.scalar(select(func.count()).select_from(Reading)) == 144
    assert [n for _, _, _, n, _, _ in daily(session)] == [48, 48, 48]


def test_daily_reading_of_a_25_hour_day_is_kept_in_the_daily_rollup(session: Session) -> None:
    """A Green Button daily reading of 2024-10-27 (clocks go back) lasts 90,000 s and must count on that day."""
    midnights = [int(pd.Timestamp(f"2024-10-{d}", tz="Europe/London").timestamp()) for d in (26, 27, 28, 29)]
    frame = pd.DataFrame(
        {
            "start_ts": np.array(midnights[:3], dtype=np.int64),
            "interval_seconds": np.diff(midnights).astype(np.int64),  # 86400, 90000, 86400
            "energy_kwh": [10.0, 25.0, 12.0],
            "estimated": [False, False, False],
            "original_value": [np.nan] * 3,
            "original_unit": pd.Series([None] * 3, dtype=object),
        }
    )
    daily = MeterSeries(
        identifier="urn:uuid:5f1f7b2c-0000-4000-8000-000000000001",
        identifier_kind="espi",
        fuel="power",
        readings=frame,
        time_zone="Europe/London",
    )
    load(session, parsed(daily))
    rows = session.execute(select(DailyUsage.local_date, DailyUsage.energy_kwh).order_by(DailyUsage.local_date)).all()
    assert [(str(d), e) for d, e in rows] == [("2024-10-26", 10.0), ("2024-10-27", 25.0), ("2024-10-28", 12.0)]
    refresh_daily_usage(session, session.scalar(select(Site.id)), "Europe/London", midnights[0], midnights[3])
    session.commit()
    rows = session.execute(select(DailyUsage.local_date, DailyUsage.energy_kwh).order_by(DailyUsage.local_date)).all()
    assert [e for _, e in rows] == [10.0, 25.0, 12.0]  # recomputed from the stored readings: still there
