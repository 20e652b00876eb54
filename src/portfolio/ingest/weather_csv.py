"""Hourly outdoor temperature CSV (Met Office processed, eemeter ``,dt,tempC``, plain ``time,temperature``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from portfolio.ingest.hh_csv import MISSING_TEXTS, find_column, parse_timestamps, read_csv_strings
from portfolio.ingest.records import WEATHER_COLUMNS, ImportFormatError, ParsedFile, WeatherSeries

TIME_COLUMNS = ("datetime", "dt", "time", "timestamp", "date", "datetimeutc", "timeutc", "hour", "tstp")
TEMPERATURE_COLUMNS = (
    "airtemperaturedegc",
    "airtemperature",
    "tempc",
    "temperature",
    "temperaturec",
    "temperaturedegc",
    "temp",
    "drybulbtemperature",
    "airtemp",
    "outdoortemperature",
)
LOCATION_COLUMNS = ("location", "station", "stationname", "site", "weatherstation")
MIN_TEMPERATURE_C = -60.0
MAX_TEMPERATURE_C = 60.0
HOUR_SECONDS = 3600


def is_weather_header(columns: list[str]) -> bool:
    """Say whether a header has a time and a temperature column."""
    return find_column(columns, TIME_COLUMNS) is not None and find_column(columns, TEMPERATURE_COLUMNS) is not None


def parse_weather_csv(path: Path, data: bytes, *, location: str | None = None) -> ParsedFile:
    """Read hourly temperatures; naive times are UTC, as Met Office observations are."""
    frame = read_csv_strings(path, data)
    columns = list(frame.columns)
    time_column = find_column(columns, TIME_COLUMNS)
    temperature_column = find_column(columns, TEMPERATURE_COLUMNS)
    location_column = find_column(columns, LOCATION_COLUMNS)
    if time_column is None or temperature_column is None:
        raise ImportFormatError(
            str(path),
            f"missing columns: found {columns}; expected a time column (datetime, dt, time) "
            "and a temperature column (air_temperature [degC], tempC, temperature)",
            "line 1",
        )
    if location_column is None and not location:
        raise ImportFormatError(str(path), "the file names no location (no location/station column): pass --location")
    frame = frame[(frame != "").any(axis=1)]
    lines = frame.index.to_numpy(dtype="int64") + 2
    raw = frame[temperature_column]
    temperature_c = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64")
    missing = np.isnan(temperature_c)
    if missing.any():
        unknown = ~raw[missing].str.strip().str.lower().isin(MISSING_TEXTS).to_numpy()
        if unknown.any():
            first = int(np.flatnonzero(missing)[np.flatnonzero(unknown)[0]])
            raise ImportFormatError(
                str(path), f"temperature {raw.iloc[first]!r} is not a number", f"line {lines[first]}"
            )
    out_of_range = ~missing & ((temperature_c < MIN_TEMPERATURE_C) | (temperature_c > MAX_TEMPERATURE_C))
    if out_of_range.any():
        first = int(np.flatnonzero(out_of_range)[0])
        raise ImportFormatError(
            str(path),
            f"temperature {temperature_c[first]:g} °C is outside {MIN_TEMPERATURE_C:g}..{MAX_TEMPERATURE_C:g} °C",
            f"line {lines[first]}",
        )
    keep = ~missing
    frame, temperature_c, lines = frame[keep], temperature_c[keep], lines[keep]
    seconds = parse_timestamps(path, frame[time_column], lines)
    locations = (
        frame[location_column].str.strip().to_numpy(dtype=object)
        if location_column and not location
        else np.full(len(frame), location, dtype=object)
    )
    hourly = pd.DataFrame({"location": locations, "hour_ts": seconds - seconds % HOUR_SECONDS, "t": temperature_c})
    # sub-hourly observations are averaged into their hour, so every series has one value per hour
    hourly = hourly.groupby(["location", "hour_ts"], sort=True)["t"].mean().reset_index()
    series = tuple(
        WeatherSeries(
            location=str(name),
            temperatures=pd.DataFrame(
                {
                    "hour_ts": part["hour_ts"].to_numpy(dtype="int64"),
                    "air_temperature_c": part["t"].to_numpy(dtype="float64"),
                },
                columns=list(WEATHER_COLUMNS),
            ),
        )
        for name, part in hourly.groupby("location", sort=True)
    )
    if not series:
        raise ImportFormatError(str(path), "no temperatures found")
    return ParsedFile(path=str(path), format="weather-csv", weather=series)
