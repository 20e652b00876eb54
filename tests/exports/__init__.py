"""A small synthetic portfolio for export tests: one HH power site and one hourly gas site over both 2024 UK clock changes.

Power (site 1, HH, MPAN): local days 2024-03-31 (46 half hours, all present) and 2024-10-27 (50 expected, 48 present:
the *second* 01:00 and 01:30, i.e. 01:00Z and 01:30Z, are missing). Every reading is 0.25 kWh except the first half
hour of 2024-10-27, 1.125 kWh and estimated.
Gas (site 2, hourly, MPRN): 2024-03-31 (23 hours) and 2024-10-27 (25 hours), all present, 2.0 kWh each except
2024-10-27 12:00Z, 3.456789 kWh and estimated.

Hand totals: power 03-31 46 x 0.25 = 11.5; 10-27 47 x 0.25 + 1.125 = 12.875. Gas 03-31 23 x 2 = 46;
10-27 24 x 2 + 3.456789 = 51.456789.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pandas as pd

from portfolio.exports.meta import ExportMeta

SPRING_MIDNIGHT = 1711843200  # 2024-03-31T00:00Z = 00:00 GMT
AUTUMN_MIDNIGHT = 1729983600  # 2024-10-26T23:00Z = 2024-10-27 00:00 BST
POWER_MISSING = (1729990800, 1729992600)  # 2024-10-27T01:00Z and 01:30Z: the second 01:00 and 01:30 local
POWER_ESTIMATED = AUTUMN_MIDNIGHT
GAS_ESTIMATED = 1730030400  # 2024-10-27T12:00Z
POWER_NAME = 'Alpha Works, Unit "2"'  # a comma and quotes: CSV must quote it
POWER_MPAN = "1200023305967"
GAS_MPRN = "7193508906"

TOTALS = {
    (1, dt.date(2024, 3, 31)): 11.5,
    (1, dt.date(2024, 10, 27)): 12.875,
    (2, dt.date(2024, 3, 31)): 46.0,
    (2, dt.date(2024, 10, 27)): 51.456789,
}


def _site(
    site_id: int, name: str, identifier: str, fuel: str, starts: np.ndarray, seconds: int, value: float
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": site_id,
            "site_name": name,
            "meter_identifier": identifier,
            "fuel": fuel,
            "time_zone": "Europe/London",
            "start_ts": starts.astype("int64"),
            "interval_seconds": seconds,
            "energy_kwh": value,
            "estimated": False,
        }
    )


def make_readings() -> pd.DataFrame:
    """Both sites' readings, ordered by site then time, as the data layer reads them."""
    power_starts = np.concatenate([SPRING_MIDNIGHT + 1800 * np.arange(46), AUTUMN_MIDNIGHT + 1800 * np.arange(50)])
    power_starts = power_starts[~np.isin(power_starts, POWER_MISSING)]
    power = _site(1, POWER_NAME, POWER_MPAN, "power", power_starts, 1800, 0.25)
    power.loc[power["start_ts"] == POWER_ESTIMATED, ["energy_kwh", "estimated"]] = (1.125, True)
    gas_starts = np.concatenate([SPRING_MIDNIGHT + 3600 * np.arange(23), AUTUMN_MIDNIGHT + 3600 * np.arange(25)])
    gas = _site(2, "Beta Depot", GAS_MPRN, "gas", gas_starts, 3600, 2.0)
    gas.loc[gas["start_ts"] == GAS_ESTIMATED, ["energy_kwh", "estimated"]] = (3.456789, True)
    return pd.concat([power, gas], ignore_index=True)


def iter_chunks(frame: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    """Cut a frame into chunks as a server-side cursor would, splitting days and sites wherever the size falls."""
    for begin in range(0, len(frame), size):
        yield frame.iloc[begin : begin + size].reset_index(drop=True)


def make_meta(**overrides: object) -> ExportMeta:
    values: dict[str, object] = {
        "start": dt.date(2024, 3, 31),
        "end": dt.date(2024, 10, 27),
        "generated_at": dt.datetime(2024, 11, 1, 9, 30, tzinfo=dt.UTC),
        "title": "Test export",
    }
    values.update(overrides)
    return ExportMeta(**values)  # type: ignore[arg-type]
