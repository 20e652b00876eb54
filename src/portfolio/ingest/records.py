"""What every parser returns: plain frames and small frozen records, no database."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

READING_COLUMNS = ("start_ts", "interval_seconds", "energy_kwh", "estimated", "original_value", "original_unit")
"""Columns of :attr:`MeterSeries.readings`.

start_ts: int64 UTC epoch seconds of the interval *start*; interval_seconds: int64; energy_kwh: float64 [kWh];
estimated: bool; original_value: float64 or NaN (value as read, when a unit conversion happened);
original_unit: object, str or None.
"""

WEATHER_COLUMNS = ("hour_ts", "air_temperature_c")
"""Columns of :attr:`WeatherSeries.temperatures`: hour_ts int64 UTC epoch seconds, air_temperature_c float64 [°C]."""


class ImportFormatError(ValueError):
    """A file that cannot be imported; says which file, where in it, and what is wrong."""

    def __init__(self, path: str, problem: str, where: str | None = None) -> None:
        self.path = path
        self.problem = problem
        self.where = where
        location = f" ({where})" if where else ""
        super().__init__(f"{path}{location}: {problem}")


@dataclass(frozen=True)
class MeterSeries:
    """Readings of one meter as found in a file, with whatever the file says about its site."""

    identifier: str
    identifier_kind: str  # an IdentifierKind value
    fuel: str  # a Fuel value
    readings: pd.DataFrame
    time_zone: str | None = None
    direction: str = "import"
    meter_type: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class WeatherSeries:
    location: str
    temperatures: pd.DataFrame
    kind: str = "observed"  # a WeatherKind value
    issued_at_ts: int | None = None


@dataclass(frozen=True)
class ParsedFile:
    path: str
    format: str  # "espi-xml", "hh-csv-long", "hh-csv-wide", "weather-csv"
    meters: tuple[MeterSeries, ...] = field(default_factory=tuple)
    weather: tuple[WeatherSeries, ...] = field(default_factory=tuple)
