"""Load the shipped demo dataset: real sample data moved by whole weeks so it ends yesterday.

The world (organisations, sites, meters, users) comes from ``demo_data/demo.json``; readings and
temperatures from the compact CSV files beside it (see ``demo_data/ATTRIBUTION.md``). Passwords are
generated here, once per install, and kept in the instance folder: never in the code.

Dates move by a whole number of weeks (:func:`week_shift`), never by an arbitrary number of days, so weekday
patterns survive: a Monday in the source stays a Monday on screen.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass
from importlib.resources import files
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from portfolio.config import Settings
from portfolio.db import transaction
from portfolio.ingest.loader import refresh_daily_usage, store_readings, store_weather
from portfolio.models import (
    Direction,
    Fuel,
    IdentifierKind,
    ImportRecord,
    Meter,
    MeterType,
    Organisation,
    Site,
    WeatherKind,
    WeatherLocation,
)
from portfolio.queries.sites import any_organisation_with_account
from portfolio.services import series as portfolio_series
from portfolio.services.accounts import create_user
from portfolio.timekeeping import SECONDS_PER_DAY

LOGINS_FILE = "demo_logins.json"
# Bedford weather ends on 2019-12-31: cutting a week earlier leaves a full 7-day "forecast" after the cut.
SOURCE_LAST_DAY = {"commercial": dt.date(2019, 12, 24), "lcl": dt.date(2013, 12, 31)}
WEATHER_SOURCE = {"bedford": "commercial", "london": "lcl"}
FORECAST_DAYS = 7
"""Days of source weather after the cut day that the demo presents as the forecast."""


def week_shift(source_last_day: dt.date, today: dt.date) -> tuple[dt.timedelta, dt.date]:
    """Return ``(shift, cut_day)`` that make the shifted source data end yesterday.

    ``cut_day`` is the last source day, on or before ``source_last_day``, with yesterday's weekday.
    ``shift = yesterday - cut_day`` is a whole number of weeks (negative if ``today`` is before the
    source data); ``cut_day + shift == yesterday``. Readings after ``cut_day`` are "the future" and the
    loader drops them; weather in the ``FORECAST_DAYS`` after ``cut_day`` becomes the forecast.
    """
    yesterday = today - dt.timedelta(days=1)
    back = (source_last_day.weekday() - yesterday.weekday()) % 7
    cut_day = source_last_day - dt.timedelta(days=back)
    shift = yesterday - cut_day
    return shift, cut_day


@dataclass(frozen=True)
class DemoSummary:
    organisations: int
    sites: int
    readings: int
    weather: int
    users: int


def _resource(name: str) -> bytes:
    return (files("portfolio") / "demo_data" / name).read_bytes()


def _world() -> dict[str, Any]:
    return json.loads(_resource("demo.json"))


def _epoch_seconds(timestamps: pd.Series) -> np.ndarray:
    """Naive UTC text -> int64 epoch seconds."""
    return pd.to_datetime(timestamps, format="%Y-%m-%d %H:%M:%S").to_numpy("datetime64[s]").astype("int64")


def _reading_frame(start_ts: np.ndarray, energy_kwh: np.ndarray, interval_seconds: int) -> pd.DataFrame:
    present = ~np.isnan(energy_kwh)  # gaps stay gaps: missing cells become missing rows, never zeros
    count = int(present.sum())
    return pd.DataFrame(
        {
            "start_ts": start_ts[present],
            "interval_seconds": np.full(count, interval_seconds, dtype="int64"),
            "energy_kwh": energy_kwh[present],
            "estimated": np.zeros(count, dtype=bool),
            "original_value": np.full(count, np.nan),
            "original_unit": pd.Series([None] * count, dtype=object),
        }
    )


def _shifts(today: dt.date) -> dict[str, tuple[int, int]]:
    """Per source: (shift in seconds, UTC epoch second at which "today" starts in source time)."""
    result = {}
    for source, last_day in SOURCE_LAST_DAY.items():
        shift, cut_day = week_shift(last_day, today)
        cut_end = dt.datetime.combine(cut_day + dt.timedelta(days=1), dt.time(), dt.UTC)
        result[source] = (int(shift.total_seconds()), int(cut_end.timestamp()))
    return result


def _add_world(
    session: Session, world: dict[str, Any]
) -> tuple[dict[str, Organisation], dict[str, Site], dict[str, str]]:
    organisations = {
        o["account_number"]: Organisation(name=o["name"], account_number=o["account_number"])
        for o in world["organisations"]
    }
    session.add_all(organisations.values())
    locations = {
        w["name"]: WeatherLocation(name=w["name"], latitude=w["latitude"], longitude=w["longitude"])
        for w in world["weather_locations"]
    }
    session.add_all(locations.values())
    sites: dict[str, Site] = {}
    for spec in world["sites"]:
        site = Site(
            organisation=organisations[spec["organisation"]],
            name=spec["name"],
            postcode=spec["postcode"],
            latitude=spec["latitude"],
            longitude=spec["longitude"],
            time_zone=spec["time_zone"],
            fuel=Fuel(spec["fuel"]),
            meter_type=MeterType(spec["meter_type"]),
            profile_class=spec["profile_class"],
            direction=Direction.IMPORT,
            weather_location=locations[spec["weather_location"]],
        )
        site.meters.append(Meter(identifier=spec["identifier"], kind=IdentifierKind(spec["identifier_kind"])))
        session.add(site)
        sites[spec["key"]] = site
    session.flush()
    passwords: dict[str, str] = {}
    for spec in world["users"]:
        password = secrets.token_urlsafe(12)
        create_user(
            session,
            spec["email"],
            spec["role"],
            password,
            organisation=organisations.get(spec["organisation"] or ""),
            linked_organisations=[organisations[a] for a in spec["organisations"]],
            display_name=spec["display_name"],
        )
        passwords[spec["email"]] = password
    return organisations, sites, passwords


def _load_readings(
    session: Session, world: dict[str, Any], sites: dict[str, Site], shifts: dict[str, tuple[int, int]]
) -> int:
    total = 0
    for source, meta in world["sources"].items():
        raw = _resource(meta["file"])
        record = ImportRecord(filename=f"demo:{meta['file']}", sha256=hashlib.sha256(raw).hexdigest(), format="demo")
        session.add(record)
        session.flush()
        table = pd.read_csv(BytesIO(raw), compression="gzip", dtype={"timestamp": str})
        shift_s, cut_end = shifts[source]
        source_ts = _epoch_seconds(table["timestamp"])
        keep = source_ts < cut_end  # later source days would be "the future"
        start_ts = source_ts[keep] + shift_s
        for spec in world["sites"]:
            if spec["source"] != source or not spec["series"]:
                continue
            site = sites[spec["key"]]
            energy = table[spec["series"]].to_numpy("float64")[keep]
            frame = _reading_frame(start_ts, energy, int(meta["interval_seconds"]))
            total += store_readings(session, site.id, frame, record.id)
            if len(frame):
                refresh_daily_usage(
                    session,
                    site.id,
                    site.time_zone,
                    int(frame["start_ts"].min()),
                    int(frame["start_ts"].max()),
                    incoming=frame,
                )
        record.readings = total
    return total


def _load_weather(session: Session, world: dict[str, Any], shifts: dict[str, tuple[int, int]]) -> int:
    stored = 0
    for location in world["weather_locations"]:
        shift_s, cut_end = shifts[WEATHER_SOURCE[location["name"]]]
        table = pd.read_csv(BytesIO(_resource(location["file"])), compression="gzip", dtype={"timestamp": str})
        hour_ts = _epoch_seconds(table["timestamp"])
        temperature = table["air_temperature_c"].to_numpy("float64")
        observed = (hour_ts < cut_end) & ~np.isnan(temperature)
        forecast = (hour_ts >= cut_end) & (hour_ts < cut_end + FORECAST_DAYS * SECONDS_PER_DAY) & ~np.isnan(temperature)
        for kind, mask, issued in (
            (WeatherKind.OBSERVED, observed, None),
            (WeatherKind.FORECAST, forecast, cut_end + shift_s),
        ):
            frame = pd.DataFrame({"hour_ts": hour_ts[mask] + shift_s, "air_temperature_c": temperature[mask]})
            stored += store_weather(session, location["name"], frame, kind=kind.value, issued_at_ts=issued)
    return stored


def load_demo(factory: sessionmaker[Session], settings: Settings, today: dt.date | None = None) -> DemoSummary:
    """Load the whole demo in one transaction, then keep the generated logins in the instance folder."""
    today = today or dt.datetime.now(dt.UTC).date()
    world = _world()
    shifts = _shifts(today)
    with transaction(factory) as session:
        if any_organisation_with_account(session, [o["account_number"] for o in world["organisations"]]):
            raise RuntimeError("the demo dataset is already loaded in this database")
        organisations, sites, passwords = _add_world(session, world)
        readings = _load_readings(session, world, sites, shifts)
        portfolio_series.rebuild_all(session)  # the demo's readings arrive through store_readings, not load_parsed
        weather = _load_weather(session, world, shifts)
    _write_logins(settings, world, passwords)
    return DemoSummary(len(organisations), len(sites), readings, weather, len(passwords))


def _logins_path(settings: Settings) -> Path:
    return settings.instance_path / LOGINS_FILE


def _write_logins(settings: Settings, world: dict[str, Any], passwords: dict[str, str]) -> None:
    logins = [
        {"role": u["role"], "email": u["email"], "password": passwords[u["email"]], "name": u["display_name"]}
        for u in world["users"]
    ]
    path = _logins_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(json.dumps(logins, indent=2))


def demo_logins(settings: Settings) -> list[dict[str, str]]:
    """The demo accounts and their generated passwords, or [] when the demo was never loaded here."""
    path = _logins_path(settings)
    return json.loads(path.read_text()) if path.exists() else []


def format_logins(logins: list[dict[str, str]]) -> str:
    if not logins:
        return "No demo logins in this instance folder (run `portfolio load-demo`)."
    width = max(len(item["email"]) for item in logins)
    lines = ["Demo logins (passwords generated for this install):"]
    lines += [f"  {item['role']:<16} {item['email']:<{width}}  {item['password']}" for item in logins]
    return "\n".join(lines)
