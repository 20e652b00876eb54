import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from portfolio.exports import ExportError, write_export, xlsx_writer
from portfolio.exports.shapes import compute_portfolio_intervals
from tests.exports import POWER_MPAN, POWER_NAME, TOTALS, iter_chunks, make_meta, make_readings


def export_workbook(shape: str, chunks, **meta):
    data = b"".join(write_export(shape, "xlsx", chunks, make_meta(**meta)))
    return load_workbook(io.BytesIO(data))


def sheet_rows(sheet) -> list[tuple]:
    return list(sheet.iter_rows(values_only=True))


def test_interval_workbook_has_a_sheet_per_fuel_with_units_and_range():
    workbook = export_workbook("interval", iter_chunks(make_readings(), 17))
    assert workbook.sheetnames == ["power", "gas"]
    power = sheet_rows(workbook["power"])
    title = power[0][0]
    assert "kWh" in title and "2024-03-31 to 2024-10-27" in title and "Europe/London" in title and "power" in title
    assert power[1] == (
        "site_id",
        "site_name",
        "MPAN/MPRN",
        "local_start",
        "utc_offset",
        "utc_start [UTC]",
        "interval [s]",
        "energy [kWh]",
        "quality",
    )
    data = power[2:]
    assert len(data) == 94  # 46 + 48: the gap is not filled
    assert {row[1] for row in data} == {POWER_NAME} and {row[2] for row in data} == {POWER_MPAN}
    assert sum(row[7] for row in data) == pytest.approx(11.5 + 12.875)
    assert data[2][3:6] == (dt.datetime(2024, 3, 31, 2, 0), "+01:00", dt.datetime(2024, 3, 31, 1, 0))
    assert len(sheet_rows(workbook["gas"])) == 2 + 48


def test_autumn_repeated_hour_is_told_apart_by_offset():
    gas = sheet_rows(export_workbook("interval", iter_chunks(make_readings(), 50))["gas"])[2:]
    repeated = [(row[3], row[4]) for row in gas if row[3] == dt.datetime(2024, 10, 27, 1, 0)]
    assert repeated == [(dt.datetime(2024, 10, 27, 1, 0), "+01:00"), (dt.datetime(2024, 10, 27, 1, 0), "+00:00")]


def test_daily_workbook_hand_totals():
    workbook = export_workbook("daily", iter_chunks(make_readings(), 17))
    rows = sheet_rows(workbook["power"])[2:] + sheet_rows(workbook["gas"])[2:]
    totals = {(row[0], row[3].date()): row[4] for row in rows}
    assert totals == pytest.approx(TOTALS)
    coverage = {(row[0], row[3].date()): (row[5], row[6]) for row in rows}
    assert coverage[(1, dt.date(2024, 10, 27))] == (48, 50)
    assert coverage[(2, dt.date(2024, 3, 31))] == (23, 23)


def test_portfolio_workbook():
    workbook = export_workbook("portfolio", iter_chunks(compute_portfolio_intervals(make_readings()), 25))
    gas = sheet_rows(workbook["gas"])
    assert "portfolio total" in gas[0][0]
    assert len(gas) == 2 + 48 and sum(row[3] for row in gas[2:]) == pytest.approx(97.456789)


def test_too_many_rows_for_a_sheet_is_refused_before_reading():
    def never_read():
        raise AssertionError("chunks must not be read")
        yield

    with pytest.raises(ExportError, match="do not fit in one Excel sheet"):
        write_export("interval", "xlsx", never_read(), make_meta(expected_rows={"power": 1_048_575, "gas": 10}))


def test_sheet_overflow_found_while_writing_still_raises_before_any_byte(monkeypatch):
    monkeypatch.setattr(xlsx_writer, "MAX_DATA_ROWS", 50)
    stream = write_export("interval", "xlsx", iter_chunks(make_readings(), 17), make_meta())
    with pytest.raises(ExportError, match="more than 50 power rows"):
        next(stream)


def test_workbook_bytes_are_yielded_in_chunks(monkeypatch):
    monkeypatch.setattr(xlsx_writer, "YIELD_BYTES", 2048)
    consumed = []

    def chunks():
        for number, chunk in enumerate(iter_chunks(make_readings(), 30)):
            consumed.append(number)
            yield chunk

    stream = write_export("interval", "xlsx", chunks(), make_meta())
    assert consumed == []
    blocks = list(stream)
    assert len(blocks) > 1 and consumed == [0, 1, 2, 3, 4]
    assert load_workbook(io.BytesIO(b"".join(blocks))).sheetnames == ["power", "gas"]


def test_unknown_fuel_is_refused():
    readings = make_readings().assign(fuel="water")
    with pytest.raises(ExportError, match="water"):
        b"".join(write_export("interval", "xlsx", iter_chunks(readings, 50), make_meta()))
