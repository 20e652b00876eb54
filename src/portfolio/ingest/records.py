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
    aliases: tuple[str, ...] = ()  # other ids of the same meter (an MPAN, a legacy href): matched when the id is new


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
    layout: Layout | None = None


@dataclass(frozen=True)
class ImportOptions:
    """What the caller (command line, profile or upload form) tells the parsers; everything else is detected.

    time_basis: "auto" (detect; naive UK times are UK clock time without evidence), "utc" or "local".
    labelling: "auto", "start" or "end" (of the interval a timestamp stamps). unit: the unit of values whose
    file names none. meter_column: header of the meter column when the detector picks another one.
    """

    meter: str | None = None
    fuel: str | None = None
    time_basis: str = "auto"
    labelling: str = "auto"
    unit: str | None = None
    meter_column: str | None = None
    calorific_value_mj_m3: float = 39.5


@dataclass(frozen=True)
class Layout:
    """How a file was read, for the import summary and the upload preview."""

    layout: str  # "long", "long-date-time", "long-date-period", "wide", "green-button", "weather"
    time_basis: str  # "uk-local", "utc" or "offset" (instants with Z / +hh:mm)
    labelling: str  # "start", "end" or "period" (settlement period 1..50 of a local day)
    header_line: int | None = None
    details: tuple[tuple[str, str], ...] = ()  # e.g. (("columns", "HH1..HH50"), ("date format", "%d/%m/%y"))
