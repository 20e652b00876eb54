"""Exports end to end through portfolio.services.exports (plan -> stream -> audit) on SQLite and PostgreSQL, against
hand-computed figures of the small world in ``export_world.py`` (clock-change days included)."""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import AccessDenied, Viewer, viewer_for
from portfolio.config import Settings, load_settings
from portfolio.db import transaction
from portfolio.exports.espi_validation import validate_espi
from portfolio.ingest.loader import load_parsed
from portfolio.ingest.records import ParsedFile
from portfolio.models import AuditEntry, Role, User
from portfolio.queries import exports as export_queries
from portfolio.services import exports as exporting
from portfolio.services.exports import ExportError, ExportRequest, parse_export_request, plan_export, stream_export
from portfolio.services.groups import create_group
from tests.exports.export_world import (
    AUTUMN,
    BAKERY_MPAN,
    BOILERS_MPRN,
    SPRING,
    ExportWorld,
    build_export_world,
    meter_series,
)

OPERATOR = Viewer(user_id=0, email="cli", role=Role.ADMIN, organisation_ids=None)


@pytest.fixture
def world(session_factory: sessionmaker[Session]) -> ExportWorld:
    return build_export_world(session_factory)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return load_settings(environ={}, database_url=database_url, instance_path=tmp_path / "instance", secret_key="k")


def viewer_of(factory: sessionmaker[Session], email: str) -> Viewer:
    with factory() as session:
        return viewer_for(session, session.scalar(select(User).where(User.email == email)))


def export_bytes(factory, settings, viewer, user_id=None, **params) -> tuple[bytes, exporting.ExportPlan]:
    with factory() as session:
        plan = plan_export(session, viewer, parse_export_request(params), settings)
    data = b"".join(stream_export(factory, plan, user_id=user_id, ip="192.0.2.1", via="test"))
    return data, plan


def export_csv(factory, settings, viewer=OPERATOR, **params) -> pd.DataFrame:
    data, _ = export_bytes(factory, settings, viewer, format="csv", **params)
    return pd.read_csv(io.BytesIO(data), dtype={"meter_identifier": str})


def test_interval_csv_of_the_spring_clock_change_day_has_46_rows(session_factory, settings, world):
    rows = export_csv(
        session_factory,
        settings,
        site=str(world.bakery),
        **{"from": "2024-03-31", "to": "2024-03-31"},
        shape="interval",
    )
    assert len(rows) == 46
    assert rows["energy_kwh"].sum() == pytest.approx(23.0)
    assert set(rows["meter_identifier"]) == {BAKERY_MPAN} and set(rows["quality"]) == {"actual"}
    assert list(rows["local_start"][:3]) == [
        "2024-03-31T00:00:00+00:00",
        "2024-03-31T00:30:00+00:00",
        "2024-03-31T02:00:00+01:00",
    ]
    assert rows["utc_start"].iloc[-1] == "2024-03-31T22:30:00Z"


def test_interval_csv_of_the_autumn_clock_change_day_has_50_rows(session_factory, settings, world):
    rows = export_csv(
        session_factory,
        settings,
        site=str(world.bakery),
        **{"from": "2024-10-27", "to": "2024-10-27"},
        shape="interval",
    )
    assert len(rows) == 50
    assert rows["energy_kwh"].sum() == pytest.approx(12.5)
    assert list(rows["quality"]).count("estimated") == 1
    repeated = rows.loc[rows["local_start"].str.startswith("2024-10-27T01:00:00"), "local_start"]
    assert list(repeated) == ["2024-10-27T01:00:00+01:00", "2024-10-27T01:00:00+00:00"]


def test_daily_csv_counts_intervals_present_and_expected_per_local_day(session_factory, settings, world):
    viewer = viewer_of(session_factory, world.kestrel_buyer)
    rows = export_csv(
        session_factory, settings, viewer, group="all", **{"from": "2024-03-30", "to": "2024-10-27"}, shape="daily"
    )
    got = {
        (r.site_name, r.local_date): (r.energy_kwh, r.intervals, r.expected_intervals, r.estimated_intervals)
        for r in rows.itertuples()
    }
    assert got == {
        ("Kestrel Bakery", "2024-03-31"): (pytest.approx(23.0), 46, 46, 0),
        ("Kestrel Bakery", "2024-10-27"): (pytest.approx(12.5), 50, 50, 1),
        ("Kestrel Office", "2024-03-31"): (pytest.approx(10.0), 10, 46, 0),
        ("Kestrel Boilers", "2024-03-31"): (pytest.approx(44.0), 22, 23, 1),
    }  # no Wren site, no zero rows for days without readings


def test_portfolio_csv_sums_per_interval_in_the_database_and_counts_sites(session_factory, settings, world):
    viewer = viewer_of(session_factory, world.kestrel_buyer)
    rows = export_csv(
        session_factory, settings, viewer, group="all", **{"from": "2024-03-31", "to": "2024-03-31"}, shape="portfolio"
    )
    power, gas = rows[rows["fuel"] == "power"], rows[rows["fuel"] == "gas"]
    assert len(power) == 46 and len(gas) == 22
    assert power["energy_kwh"].sum() == pytest.approx(33.0) and gas["energy_kwh"].sum() == pytest.approx(44.0)
    assert list(power["sites_reporting"][:11]) == [2] * 10 + [1]
    assert power["energy_kwh"].iloc[0] == pytest.approx(1.5)
    assert set(gas["sites_reporting"]) == {1}


def test_fuel_choice_keeps_one_fuel(session_factory, settings, world):
    rows = export_csv(
        session_factory,
        settings,
        group="all",
        **{"from": "2024-03-31", "to": "2024-03-31"},
        shape="interval",
        fuel="gas",
    )
    assert len(rows) == 22 and set(rows["meter_identifier"]) == {BOILERS_MPRN}
    assert rows["energy_kwh"].sum() == pytest.approx(44.0)


def test_xlsx_has_a_sheet_per_fuel_with_units_and_range(session_factory, settings, world):
    viewer = viewer_of(session_factory, world.kestrel_buyer)
    data, plan = export_bytes(
        session_factory,
        settings,
        viewer,
        group="all",
        format="xlsx",
        shape="interval",
        **{"from": "2024-03-31", "to": "2024-03-31"},
    )
    workbook = load_workbook(io.BytesIO(data), read_only=True)
    assert workbook.sheetnames == ["power", "gas"]
    power = list(workbook["power"].iter_rows(values_only=True))
    assert "kWh" in power[0][0] and "2024-03-31 to 2024-03-31" in power[0][0]
    assert len(power) - 2 == 56 and sum(row[7] for row in power[2:]) == pytest.approx(33.0)
    gas = list(workbook["gas"].iter_rows(values_only=True))
    assert len(gas) - 2 == 22 and sum(row[7] for row in gas[2:]) == pytest.approx(44.0)
    assert plan.file_name == "portfolio_interval_2024-03-31_2024-03-31.xlsx"


def test_daily_and_portfolio_xlsx(session_factory, settings, world):
    for shape, power_rows, power_kwh in (("daily", 3, 45.5), ("portfolio", 96, 45.5)):
        data, _ = export_bytes(
            session_factory,
            settings,
            viewer_of(session_factory, world.kestrel_buyer),
            group="all",
            format="xlsx",
            shape=shape,
            **{"from": "2024-03-31", "to": "2024-10-27"},
        )
        power = list(load_workbook(io.BytesIO(data), read_only=True)["power"].iter_rows(values_only=True))[2:]
        column = 4 if shape == "daily" else 3
        assert len(power) == power_rows and sum(row[column] for row in power) == pytest.approx(power_kwh)


def test_green_button_export_validates_and_holds_every_reading(session_factory, settings, world):
    data, plan = export_bytes(
        session_factory,
        settings,
        OPERATOR,
        site=str(world.bakery),
        format="espi",
        shape="interval",
        **{"from": "2024-03-31", "to": "2024-10-27"},
    )
    assert validate_espi(data) == []
    assert data.count(b"<espi:IntervalReading>") + data.count(b"<IntervalReading>") == 96
    assert plan.media_type == "application/atom+xml" and plan.file_name.endswith(
        "_greenbutton_2024-03-31_2024-10-27.xml"
    )


def test_every_export_is_audited_at_start_and_at_end_with_the_row_count(session_factory, settings, world):
    viewer = viewer_of(session_factory, world.kestrel_buyer)
    export_bytes(
        session_factory,
        settings,
        viewer,
        user_id=world.kestrel_buyer_id,
        group="all",
        format="csv",
        shape="daily",
        **{"from": "2024-03-01", "to": "2024-10-31"},
    )
    with session_factory() as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [e.action for e in entries] == ["export_started", "export_completed"]
    done = entries[1]
    assert done.user_id == world.kestrel_buyer_id and done.ip == "192.0.2.1"
    assert sorted(done.detail["site_ids"]) == sorted([world.bakery, world.office, world.boilers])
    assert (done.detail["from"], done.detail["to"], done.detail["shape"], done.detail["format"]) == (
        "2024-03-01",
        "2024-10-31",
        "daily",
        "csv",
    )
    assert done.detail["rows"] == 4 and done.detail["status"] == "completed"
    assert "rows" not in entries[0].detail


def test_an_aborted_download_is_audited_with_the_rows_so_far(session_factory, settings, world, monkeypatch):
    monkeypatch.setattr(
        exporting, "iter_reading_chunks", functools.partial(export_queries.iter_reading_chunks, chunk_rows=10)
    )
    with session_factory() as session:
        plan = plan_export(
            session,
            OPERATOR,
            parse_export_request(
                {"group": "all", "from": "2024-03-31", "to": "2024-03-31", "shape": "interval", "format": "csv"}
            ),
            settings,
        )
    stream = stream_export(session_factory, plan, user_id=None, ip=None, via="test")
    next(stream), next(stream)  # header and the first ten rows
    stream.close()
    with session_factory() as session:
        actions = [
            (e.action, e.detail.get("rows")) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]
    # the customer's organisation also sees that someone outside it looked (one "viewed_by" per org and day)
    assert [a for a in actions if a[0].startswith("export_")] == [("export_started", None), ("export_aborted", 10)]
    assert ("viewed_by", None) in actions


def _from_readings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the daily export read readings, as it does for a site with a reading longer than a day."""
    monkeypatch.setattr(exporting, "load_sites_with_longer_readings", lambda *_args: {0})


def test_small_chunks_give_the_same_file_and_count(session_factory, settings, world, monkeypatch):
    """Daily rows and the audited row count hold when a site's day is split over several chunks of readings, and
    are what the daily roll-up gives."""
    params = {"group": "all", "from": "2024-03-31", "to": "2024-10-27", "shape": "daily"}
    whole = export_csv(session_factory, settings, **params)
    _from_readings(monkeypatch)
    monkeypatch.setattr(
        exporting, "iter_reading_chunks", functools.partial(export_queries.iter_reading_chunks, chunk_rows=7)
    )
    chunked = export_csv(session_factory, settings, **params)
    pd.testing.assert_frame_equal(whole, chunked)
    with session_factory() as session:
        counts = [
            e.detail["rows"] for e in session.scalars(select(AuditEntry).where(AuditEntry.action == "export_completed"))
        ]
    assert counts == [len(whole), len(whole)] and len(whole) == 5  # Wren's store too: the operator sees all


def test_a_daily_export_reads_the_roll_up_not_the_readings_and_writes_the_same_bytes(
    session_factory, settings, world, monkeypatch
):
    """One row per site and day read, not 48: the clock-change days, the gaps and the estimates come out exactly as
    the readings give them, in CSV and Excel (their sheets' values)."""
    params = {"group": "all", "from": "2024-03-30", "to": "2024-10-28", "shape": "daily"}

    def no_readings(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the daily export read readings")

    with monkeypatch.context() as patch:
        patch.setattr(exporting, "iter_reading_chunks", no_readings)
        rolled_csv, _ = export_bytes(session_factory, settings, OPERATOR, format="csv", **params)
        rolled_xlsx, _ = export_bytes(session_factory, settings, OPERATOR, format="xlsx", **params)
    _from_readings(monkeypatch)
    read_csv, _ = export_bytes(session_factory, settings, OPERATOR, format="csv", **params)
    read_xlsx, _ = export_bytes(session_factory, settings, OPERATOR, format="xlsx", **params)
    assert rolled_csv == read_csv and rolled_csv.count(b"\n") == 6  # the header and five site-days
    rolled, read = (
        pd.read_excel(io.BytesIO(book), sheet_name=None, engine="openpyxl") for book in (rolled_xlsx, read_xlsx)
    )
    assert list(rolled) == list(read) and len(rolled) >= 2  # a sheet per fuel, and the notes
    for sheet, frame in rolled.items():
        pd.testing.assert_frame_equal(frame, read[sheet])


def test_a_site_with_a_reading_longer_than_a_day_is_exported_from_its_readings(session_factory, settings, world):
    """The roll-up leaves out a monthly bill's reading: a daily export of that site reads its readings, so the bill
    is in the file as before."""
    month_start = int(dt.datetime(2024, 5, 1, tzinfo=dt.UTC).timestamp()) - 3600  # local midnight (BST)
    bill = meter_series(BAKERY_MPAN, "mpan", "power", np.array([month_start]), 31 * 86400, np.array([1234.5]))
    with transaction(session_factory) as session:
        load_parsed(
            session, ParsedFile(path="bill", format="test", meters=(bill,)), filename="may-bill", sha256="b" * 64
        )
    params = {"group": "all", "from": "2024-05-01", "to": "2024-05-31", "shape": "daily"}
    with session_factory() as session:
        sites = export_queries.load_export_sites(session, [world.bakery, world.office])
        assert export_queries.load_sites_with_longer_readings(
            session, sites, dt.date(2024, 5, 1), dt.date(2024, 5, 31)
        ) == {world.bakery}
        assert not export_queries.load_sites_with_longer_readings(session, sites, SPRING, SPRING)
    rows = export_csv(session_factory, settings, **params)
    assert list(zip(rows["site_name"], rows["local_date"], rows["energy_kwh"], strict=True)) == [
        ("Kestrel Bakery", "2024-05-01", pytest.approx(1234.5))
    ]


def test_reading_chunks_are_ordered_by_site_then_time_and_bounded(session_factory, world):
    with session_factory() as session:
        sites = export_queries.load_export_sites(session, [world.boilers, world.bakery])
        chunks = list(export_queries.iter_reading_chunks(session, sites, SPRING, AUTUMN, chunk_rows=25))
    assert max(len(c) for c in chunks) == 25
    frame = pd.concat(chunks, ignore_index=True)
    assert len(frame) == 96 + 22
    assert frame[["site_id", "start_ts"]].equals(
        frame[["site_id", "start_ts"]].sort_values(["site_id", "start_ts"]).reset_index(drop=True)
    )
    assert set(frame.loc[frame["site_id"] == world.bakery, "meter_identifier"]) == {BAKERY_MPAN}


def test_a_group_exports_only_its_visible_sites(session_factory, settings, world):
    viewer = viewer_of(session_factory, world.kestrel_buyer)
    with session_factory() as session:
        group = create_group(session, viewer, "Bakery only", [world.bakery])
        session.commit()
        group_id = str(group.id)
    rows = export_csv(
        session_factory,
        settings,
        viewer,
        group=group_id,
        **{"from": "2024-03-31", "to": "2024-03-31"},
        shape="interval",
    )
    assert len(rows) == 46 and set(rows["site_id"]) == {world.bakery}
    wren = viewer_of(session_factory, world.wren_buyer)
    with session_factory() as session, pytest.raises(AccessDenied):
        plan_export(
            session,
            wren,
            parse_export_request(
                {"group": group_id, "from": "2024-03-31", "to": "2024-03-31", "shape": "interval", "format": "csv"}
            ),
            settings,
        )


def test_another_organisations_site_is_refused(session_factory, settings, world):
    viewer = viewer_of(session_factory, world.kestrel_buyer)
    request = ExportRequest("site", str(world.wren_store), SPRING, SPRING, "interval", "csv")
    with session_factory() as session, pytest.raises(AccessDenied):
        plan_export(session, viewer, request, settings)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"group": "all", "from": "2024-04-02", "to": "2024-04-01", "shape": "daily", "format": "csv"},
            "ends (2024-04-01) before",
        ),
        (
            {"group": "all", "from": "2024-31-01", "to": "2024-04-01", "shape": "daily", "format": "csv"},
            "'from' must be a date",
        ),
        (
            {"group": "all", "from": "yesterday", "to": "2024-04-01", "shape": "daily", "format": "csv"},
            "'from' must be a date",
        ),
        ({"group": "all", "from": "2024-04-01", "shape": "daily", "format": "csv"}, "'to' is required"),
        (
            {"group": "all", "from": "2024-04-01", "to": "2024-04-01", "shape": "weekly", "format": "csv"},
            "'shape' must be",
        ),
        (
            {"group": "all", "from": "2024-04-01", "to": "2024-04-01", "shape": "daily", "format": "pdf"},
            "'format' must be",
        ),
        (
            {
                "group": "all",
                "from": "2024-04-01",
                "to": "2024-04-01",
                "shape": "daily",
                "format": "csv",
                "fuel": "oil",
            },
            "'fuel' must be",
        ),
        (
            {"group": "1;drop", "from": "2024-04-01", "to": "2024-04-01", "shape": "daily", "format": "csv"},
            "'group' must be",
        ),
        (
            {"site": "abc", "from": "2024-04-01", "to": "2024-04-01", "shape": "daily", "format": "csv"},
            "'site' must be",
        ),
        (
            {"site": "1", "group": "all", "from": "2024-04-01", "to": "2024-04-01", "shape": "daily", "format": "csv"},
            "not both",
        ),
        ({"from": "2024-04-01", "to": "2024-04-01", "shape": "daily", "format": "csv"}, "give a 'group'"),
    ],
)
def test_bad_parameters_are_named(params, message):
    with pytest.raises(ExportError, match=re.escape(message)):
        parse_export_request(params)


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (
            ExportRequest("group", "all", dt.date(2023, 1, 1), dt.date(2024, 3, 1), "interval", "csv"),
            "at most 400 days",
        ),
        (ExportRequest("group", "all", SPRING, SPRING, "daily", "espi"), "interval data only"),
        (ExportRequest("site", "0", SPRING, SPRING, "interval", "csv"), "you may not see"),
    ],
)
def test_requests_the_plan_refuses(session_factory, settings, world, request_, message):
    with session_factory() as session, pytest.raises((ExportError, AccessDenied), match=re.escape(message)):
        plan_export(session, OPERATOR, request_, settings)


def test_a_fuel_the_selection_lacks_is_refused(session_factory, settings, world):
    request = ExportRequest("site", str(world.bakery), SPRING, SPRING, "interval", "csv", fuel="gas")
    with session_factory() as session, pytest.raises(ExportError, match="no gas sites"):
        plan_export(session, OPERATOR, request, settings)


def test_excel_that_cannot_fit_is_refused_before_streaming(session_factory, settings, world, monkeypatch):
    from portfolio.exports import xlsx_writer

    monkeypatch.setattr(xlsx_writer, "MAX_DATA_ROWS", 40)
    request = ExportRequest("site", str(world.bakery), SPRING, SPRING, "interval", "xlsx")
    with session_factory() as session, pytest.raises(ExportError, match="do not fit in one Excel sheet"):
        plan_export(session, OPERATOR, request, settings)


def test_portfolio_of_half_hourly_and_hourly_meters_is_summed_per_hour(session_factory, settings, world):
    """An hourly power meter beside HH ones: the portfolio interval is the hour, and sites are counted once."""
    from tests.exports.export_world import SPRING_START_TS, _load

    with transaction(session_factory) as session:
        hourly = _load(
            session,
            "KESTREL-01",
            [
                meter_series(
                    "1900000000048",
                    "mpan",
                    "power",
                    SPRING_START_TS + 3600 * np.arange(3),
                    3600,
                    np.full(3, 4.0),
                    name="Kestrel Depot",
                )
            ],
        )[0]
    viewer = viewer_of(session_factory, world.kestrel_buyer)
    rows = export_csv(
        session_factory,
        settings,
        viewer,
        group="all",
        fuel="power",
        shape="portfolio",
        **{"from": "2024-03-31", "to": "2024-03-31"},
    )
    assert len(rows) == 23  # hours of the spring day, not half hours
    assert rows["energy_kwh"].sum() == pytest.approx(33.0 + 12.0)
    assert list(rows["sites_reporting"][:6]) == [3, 3, 3, 2, 2, 1]  # bakery + office (to 05:00) + depot (to 03:00)
    assert rows["energy_kwh"].iloc[0] == pytest.approx(0.5 * 2 + 1.0 * 2 + 4.0)
    assert hourly


def test_a_grant_revoked_mid_download_stops_the_file_and_is_audited(session_factory, settings, world, monkeypatch):
    """Someone granted a customer's data loses it while the file streams: the next check ends the stream."""
    from portfolio.services.consent import give_grant, revoke_grant

    monkeypatch.setattr(
        exporting, "iter_reading_chunks", functools.partial(export_queries.iter_reading_chunks, chunk_rows=10)
    )
    monkeypatch.setattr(exporting, "ACCESS_RECHECK_SECONDS", 0.0)  # check before every chunk
    with session_factory() as session:
        owner = viewer_for(session, session.scalar(select(User).where(User.email == world.kestrel_buyer)))
        grant = give_grant(session, owner, grantee_email=world.wren_buyer, site_ids=[world.bakery])
        session.commit()
        grant_id = grant.id
    wren = viewer_of(session_factory, world.wren_buyer)
    with session_factory() as session:
        plan = plan_export(
            session,
            wren,
            parse_export_request(
                {
                    "site": str(world.bakery),
                    "from": "2024-03-31",
                    "to": "2024-03-31",
                    "shape": "interval",
                    "format": "csv",
                }
            ),
            settings,
        )
    stream = stream_export(session_factory, plan, user_id=world.wren_buyer_id, ip=None, via="test")
    first = next(stream) + next(stream)  # the header and the first ten rows, while the grant stands
    assert first.count(b"\n") >= 2
    with session_factory() as session:
        assert revoke_grant(session, owner, grant_id) is True
        session.commit()
    with pytest.raises(exporting.AccessRevoked):
        for _ in stream:
            pass
    with session_factory() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action.like("export_%"))).all()
    assert [e.action for e in entries] == ["export_started", "export_revoked"]
    assert 0 < entries[-1].detail["rows"] < 46 and "may not see" in entries[-1].detail["error"]
