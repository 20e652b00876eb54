"""Green Button exports name usage points by a stable mRID: two installations' exports never merge meters,
and re-importing an export finds the meter it came from (on SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portfolio.exports import write_export
from portfolio.identifiers import make_mpan_core
from portfolio.ingest.detect import parse_bytes
from portfolio.ingest.loader import load_parsed
from portfolio.models import Meter, Reading, Site
from tests.exports import GAS_MPRN, POWER_MPAN, iter_chunks, make_meta, make_readings

OTHER_MPAN = make_mpan_core(23, 1234567890)
OTHER_MPRN = "9123456"


def export(readings: pd.DataFrame) -> bytes:
    return b"".join(write_export("interval", "espi", iter_chunks(readings, 50), make_meta()))


def load(session: Session, data: bytes, name: str) -> None:
    load_parsed(session, parse_bytes(Path(name), data), filename=name, sha256="0" * 64)
    session.commit()


def test_exports_of_two_installations_keep_their_meters_apart(session: Session) -> None:
    ours = make_readings()  # sites 1 and 2 here ...
    theirs = ours.assign(  # ... and sites 1 and 2 in another installation, with other meters
        meter_identifier=ours["meter_identifier"].map({POWER_MPAN: OTHER_MPAN, GAS_MPRN: OTHER_MPRN})
    )
    load(session, export(ours), "ours.xml")
    load(session, export(theirs), "theirs.xml")
    assert session.scalar(select(func.count()).select_from(Site)) == 4
    assert session.scalar(select(func.count()).select_from(Reading)) == 2 * len(ours)


def test_reimporting_an_export_adds_no_site(session: Session) -> None:
    data = export(make_readings())
    load(session, data, "export.xml")
    sites = session.scalar(select(func.count()).select_from(Site))
    load(session, data, "export-again.xml")
    assert session.scalar(select(func.count()).select_from(Site)) == sites == 2
    assert all(i.startswith("urn:uuid:") for i in session.scalars(select(Meter.identifier)))
