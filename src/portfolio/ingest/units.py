"""Energy units to kWh, including UK gas volume conversion (Gas (Calculation of Thermal Energy) Regulations)."""

from __future__ import annotations

import re
from typing import TypeVar

import numpy as np
import pandas as pd

GAS_VOLUME_CORRECTION = 1.02264
"""Standard UK correction factor for gas temperature and pressure."""
DEFAULT_CALORIFIC_VALUE_MJ_M3 = 39.5
"""A typical UK calorific value; bills state the actual one, which callers may pass instead."""
MJ_PER_KWH = 3.6
M3_PER_HCF = 2.8316846592
"""One hundred cubic feet in cubic metres."""
M3_PER_FT3 = M3_PER_HCF / 100.0
KWH_PER_THERM = 29.3071
KWH_PER_BTU = KWH_PER_THERM / 100_000.0

MAX_AVERAGE_POWER_KW = 500_000.0
"""Above this average power over an interval (500 MW, more than the UK's largest single sites draw) a reading is a
unit or parsing mistake: a half hour may hold at most 250,000 kWh, whatever the file format."""

GAS_VOLUME_UNITS = frozenset({"m3", "hcf", "ft3"})
GAS_ONLY_UNITS = GAS_VOLUME_UNITS | {"therm"}

_SPELLINGS = {
    "kwh": "kWh",
    "kwhs": "kWh",
    "kilowatthour": "kWh",
    "kilowatthours": "kWh",
    "wh": "Wh",
    "watthour": "Wh",
    "watthours": "Wh",
    "mwh": "MWh",
    "therm": "therm",
    "therms": "therm",
    "thm": "therm",
    "m3": "m3",
    "m³": "m3",
    "cubicmetre": "m3",
    "cubicmetres": "m3",
    "cubicmeter": "m3",
    "cubicmeters": "m3",
    "hcf": "hcf",
    "ccf": "hcf",
    "ft3": "ft3",
    "ft³": "ft3",
    "cf": "ft3",
    "cubicfeet": "ft3",
    "btu": "btu",
}

Values = TypeVar("Values", pd.Series, np.ndarray)


def normalise_unit(unit: str) -> str:
    """Map the many spellings found in files to one canonical unit name; ValueError if unknown."""
    key = re.sub(r"[\s_\-.]", "", str(unit)).lower()
    if key not in _SPELLINGS:
        known = ", ".join(sorted(set(_SPELLINGS.values())))
        raise ValueError(f"unknown unit {unit!r} (known units: {known})")
    return _SPELLINGS[key]


def kwh_per_unit(unit: str, calorific_value_mj_m3: float = DEFAULT_CALORIFIC_VALUE_MJ_M3) -> float:
    """Give the linear factor to kWh, so a whole column converts with one multiplication."""
    canonical = normalise_unit(unit)
    if calorific_value_mj_m3 <= 0:
        raise ValueError(f"calorific value must be positive, got {calorific_value_mj_m3}")
    kwh_per_m3 = GAS_VOLUME_CORRECTION * calorific_value_mj_m3 / MJ_PER_KWH
    return {
        "kWh": 1.0,
        "Wh": 1e-3,
        "MWh": 1e3,
        "therm": KWH_PER_THERM,
        "btu": KWH_PER_BTU,
        "m3": kwh_per_m3,
        "hcf": M3_PER_HCF * kwh_per_m3,
        "ft3": M3_PER_FT3 * kwh_per_m3,
    }[canonical]


def to_kwh(values: Values, unit: str, calorific_value_mj_m3: float = DEFAULT_CALORIFIC_VALUE_MJ_M3) -> Values:
    """Convert readings to kWh so every fuel and file lands in the database in one unit."""
    return values * kwh_per_unit(unit, calorific_value_mj_m3)
