"""A small known world for end-to-end export tests, loaded through the real loader (so ``daily_usage`` is current).

Kestrel Foods (customer ``buyer@kestrel.example``) has three sites, Wren Retail (``buyer@wren.example``) one:

* Kestrel Bakery, power HH, MPAN 1900000000017: every half hour of local 2024-03-31 (46, 0.5 kWh each -> 23 kWh)
  and of local 2024-10-27 (50, 0.25 kWh each -> 12.5 kWh; the 3rd is estimated).
* Kestrel Office, power HH, MPAN 1900000000024: the first 10 half hours of local 2024-03-31 (UTC 00:00..04:30),
  1.0 kWh each -> 10 kWh.
* Kestrel Boilers, gas hourly, MPRN 7600001: local 2024-03-31 has 23 hours; 22 readings of 2.0 kWh (the hour
  starting 05:00 UTC is missing) -> 44 kWh, 22 of 23 intervals; the first is estimated.
* Wren Store, power HH, MPAN 1900000000031: 2024-03-31, 46 x 3.0 kWh (another organisation's: never exported
  for Kestrel's buyer).

Hand-computed portfolio totals for Kestrel on 2024-03-31: power 33 kWh over 46 half hours, the first 10 with two
sites reporting (1.5 kWh each), the other 36 with one (0.5 kWh); gas 44 kWh over 22 hours.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session, sessionmaker

from portfolio.db import transaction
from portfolio.ingest.loader import load_parsed
from portfolio.ingest.records import MeterSeries, ParsedFile
from portfolio.models import Organisation, Role
from portfolio.services.accounts import create_user

PASSWORD = "correct horse battery"
SPRING = dt.date(2024, 3, 31)
AUTUMN = dt.date(2024, 10, 27)
SPRING_START_TS = int(dt.datetime(2024, 3, 31, tzinfo=dt.UTC).timestamp())  # local midnight (GMT)
AUTUMN_START_TS = int(dt.datetime(2024, 10, 26, 23, tzinfo=dt.UTC).timestamp())  # local midnight (BST)
BAKERY_MPAN, OFFICE_MPAN, BOILERS_MPRN, WREN_MPAN = "1900000000017", "1900000000024", "7600001", "1900000000031"


@dataclass(frozen=True)
class ExportWorld:
    bakery: int
    office: int
    boilers: int
    wren_store: int
    kestrel_buyer: str
    wren_buyer: str
    kestrel_buyer_id: int
    wren_buyer_id: int


def meter_series(
    identifier: str,
    kind: str,
    fuel: str,
    starts: np.ndarray,
    seconds: int,
    kwh: np.ndarray,
    estimated: np.ndarray | None = None,
    name: str | None = None,
) -> MeterSeries:
    readings = pd.DataFrame(
        {
            "start_ts": starts.astype("int64"),
            "interval_seconds": np.full(len(starts), seconds, dtype="int64"),
            "energy_kwh": kwh.astype("float64"),
            "estimated": np.zeros(len(starts), dtype=bool) if estimated is None else estimated,
            "original_value": np.full(len(starts), np.nan),
            "original_unit": pd.Series([None] * len(starts), dtype=object),
        }
    )
    return MeterSeries(
        identifier=identifier,
        identifier_kind=kind,
        fuel=fuel,
        readings=readings,
        time_zone="Europe/London",
        meter_type="hh" if seconds == 1800 else "amr",
        name=name,
    )


def _load(session: Session, account: str, meters: list[MeterSeries]) -> list[int]:
    summary = load_parsed(
        session,
        ParsedFile(path="world", format="test", meters=tuple(meters)),
        organisation_account=account,
        filename=f"world-{account}",
        sha256=account.ljust(64, "0"),
    )
    return sorted(summary.site_ids)


def build_export_world(factory: sessionmaker[Session]) -> ExportWorld:
    """Load the world above; returns site ids and the two buyers."""
    half_hours_spring = SPRING_START_TS + 1800 * np.arange(46)
    half_hours_autumn = AUTUMN_START_TS + 1800 * np.arange(50)
    autumn_estimated = np.zeros(50, dtype=bool)
    autumn_estimated[2] = True
    hours = SPRING_START_TS + 3600 * np.array([h for h in range(23) if h != 5])
    gas_estimated = np.zeros(22, dtype=bool)
    gas_estimated[0] = True
    with transaction(factory) as session:
        kestrel = Organisation(name="Kestrel Foods", account_number="KESTREL-01")
        wren = Organisation(name="Wren Retail", account_number="WREN-01")
        session.add_all([kestrel, wren])
        session.flush()
        bakery_readings = meter_series(
            BAKERY_MPAN,
            "mpan",
            "power",
            np.concatenate([half_hours_spring, half_hours_autumn]),
            1800,
            np.concatenate([np.full(46, 0.5), np.full(50, 0.25)]),
            np.concatenate([np.zeros(46, dtype=bool), autumn_estimated]),
            "Kestrel Bakery",
        )
        office = meter_series(
            OFFICE_MPAN, "mpan", "power", half_hours_spring[:10], 1800, np.ones(10), name="Kestrel Office"
        )
        boilers = meter_series(
            BOILERS_MPRN, "mprn", "gas", hours, 3600, np.full(22, 2.0), gas_estimated, "Kestrel Boilers"
        )
        bakery_id = _load(session, "KESTREL-01", [bakery_readings])[0]
        office_id = _load(session, "KESTREL-01", [office])[0]
        boilers_id = _load(session, "KESTREL-01", [boilers])[0]
        wren_id = _load(
            session,
            "WREN-01",
            [meter_series(WREN_MPAN, "mpan", "power", half_hours_spring, 1800, np.full(46, 3.0), name="Wren Store")],
        )[0]
        kestrel_buyer = create_user(session, "buyer@kestrel.example", Role.CUSTOMER, PASSWORD, organisation=kestrel)
        wren_buyer = create_user(session, "buyer@wren.example", Role.CUSTOMER, PASSWORD, organisation=wren)
        session.flush()
        ids = (kestrel_buyer.id, wren_buyer.id)
    return ExportWorld(bakery_id, office_id, boilers_id, wren_id, "buyer@kestrel.example", "buyer@wren.example", *ids)
