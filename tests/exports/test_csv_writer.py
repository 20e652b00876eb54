import datetime as dt
import io

import pandas as pd
import pytest

from portfolio.exports import ExportError, file_name, media_type, write_export
from portfolio.exports.shapes import compute_portfolio_intervals
from tests.exports import GAS_MPRN, POWER_MPAN, POWER_NAME, TOTALS, iter_chunks, make_meta, make_readings


def export_csv(shape: str, chunks) -> pd.DataFrame:
    data = b"".join(write_export(shape, "csv", chunks, make_meta()))
    return pd.read_csv(io.BytesIO(data), dtype={"meter_identifier": str})


def test_interval_csv_has_one_row_per_reading_and_quotes_names():
    table = export_csv("interval", iter_chunks(make_readings(), 17))
    assert list(table.columns) == [
        "site_id",
        "site_name",
        "meter_identifier",
        "fuel",
        "local_start",
        "utc_start",
        "interval_seconds",
        "energy_kwh",
        "quality",
    ]
    assert len(table) == 142
    assert set(table["site_name"]) == {POWER_NAME, "Beta Depot"}
    assert set(table["meter_identifier"]) == {POWER_MPAN, GAS_MPRN}
    assert table.groupby("site_id")["energy_kwh"].sum().to_dict() == pytest.approx(
        {1: 11.5 + 12.875, 2: 46 + 51.456789}
    )
    assert table["quality"].value_counts().to_dict() == {"actual": 140, "estimated": 2}
    power = table[table["site_id"] == 1]
    assert not power["utc_start"].isin(["2024-10-27T01:00:00Z", "2024-10-27T01:30:00Z"]).any()


def test_interval_csv_times_on_clock_change_days():
    table = export_csv("interval", iter_chunks(make_readings(), 17)).set_index(["site_id", "utc_start"])["local_start"]
    assert table[(1, "2024-03-31T00:30:00Z")] == "2024-03-31T00:30:00+00:00"
    assert table[(1, "2024-03-31T01:00:00Z")] == "2024-03-31T02:00:00+01:00"
    assert table[(2, "2024-10-27T00:00:00Z")] == "2024-10-27T01:00:00+01:00"
    assert table[(2, "2024-10-27T01:00:00Z")] == "2024-10-27T01:00:00+00:00"
    assert table[(2, "2024-10-27T23:00:00Z")] == "2024-10-27T23:00:00+00:00"


def test_daily_csv_hand_totals_and_coverage():
    table = export_csv("daily", iter_chunks(make_readings(), 17))
    table["local_date"] = pd.to_datetime(table["local_date"]).dt.date
    by_day = table.set_index(["site_id", "local_date"])
    assert len(by_day) == 4
    for key, total in TOTALS.items():
        assert by_day.loc[key, "energy_kwh"] == pytest.approx(total, rel=1e-12)
    assert by_day.loc[(1, dt.date(2024, 10, 27)), ["intervals", "expected_intervals"]].tolist() == [48, 50]
    assert by_day.loc[(1, dt.date(2024, 3, 31)), ["intervals", "expected_intervals"]].tolist() == [46, 46]


def test_portfolio_csv_one_row_per_fuel_and_interval():
    aggregated = compute_portfolio_intervals(make_readings())
    table = export_csv("portfolio", iter_chunks(aggregated, 10))
    assert list(table.columns) == ["fuel", "local_start", "utc_start", "energy_kwh", "sites_reporting"]
    assert len(table) == 142
    assert table.groupby("fuel")["energy_kwh"].sum().to_dict() == pytest.approx({"power": 24.375, "gas": 97.456789})
    assert (table["sites_reporting"] == 1).all()


def test_csv_streams_lazily_one_bytes_chunk_per_input_chunk():
    consumed = []

    def chunks():
        for number, chunk in enumerate(iter_chunks(make_readings(), 40)):
            consumed.append(number)
            yield chunk

    stream = write_export("interval", "csv", chunks(), make_meta())
    assert consumed == []  # nothing read until the response pulls
    header = next(stream)
    assert header.startswith(b"site_id,")
    first = next(stream)
    assert consumed == [0] and first.count(b"\n") == 40
    rest = list(stream)
    assert len(rest) == 3 and consumed == [0, 1, 2, 3]


def test_empty_range_gives_just_the_header():
    assert b"".join(write_export("daily", "csv", iter([]), make_meta())).count(b"\n") == 1


def test_green_button_is_refused_for_daily_and_portfolio_shapes():
    for shape in ("daily", "portfolio"):
        with pytest.raises(ExportError, match="Green Button export is available for interval data only"):
            write_export(shape, "espi", iter([]), make_meta())
    with pytest.raises(ExportError, match="unknown export format"):
        write_export("interval", "pdf", iter([]), make_meta())


def test_media_types_and_file_names():
    assert media_type("csv").startswith("text/csv")
    assert media_type("xlsx") == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert media_type("espi") == "application/atom+xml"
    start, end = dt.date(2024, 1, 1), dt.date(2024, 12, 31)
    assert file_name("interval", "csv", start, end) == "portfolio_interval_2024-01-01_2024-12-31.csv"
    assert (
        file_name("interval", "espi", start, end, prefix="Acme Ltd/")
        == "Acme-Ltd_interval_greenbutton_2024-01-01_2024-12-31.xml"
    )
    assert file_name("daily", "xlsx", start, end).endswith("_daily_2024-01-01_2024-12-31.xlsx")
