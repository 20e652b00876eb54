"""Every layout sample in tests/data/layouts reads to its known total, count and first interval (see totals.json)."""

import json
from pathlib import Path

import pandas as pd
import pytest

from portfolio.ingest.detect import parse_file
from portfolio.ingest.records import ImportFormatError

LAYOUTS = Path(__file__).parent.parent / "data" / "layouts"
TOTALS = json.loads((LAYOUTS / "totals.json").read_text())

EXPECTED = {  # file: (layout, labelling, time basis)
    "wide_start_hhmm_title_footer.csv": ("wide", "start", "uk-local"),
    "wide_end_2400_sep_line.csv": ("wide", "end", "uk-local"),
    "wide_end_0000_unpadded.csv": ("wide", "end", "uk-local"),
    "wide_hhmm_integers_total.csv": ("wide", "end", "uk-local"),
    "wide_hr_sqlserver_dates.csv": ("wide", "start", "uk-local"),
    "wide_H_dq_flag_after_each.csv": ("wide", "end", "uk-local"),
    "wide_ampm.csv": ("wide", "start", "uk-local"),
    "wide_HH50_autumn.csv": ("wide", "period", "uk-local"),
    "wide_P50_spring_tab.tsv": ("wide", "period", "uk-local"),
    "wide_Kwh1_48.csv": ("wide", "period", "uk-local"),
    "wide_kWh_underscore.csv": ("wide", "period", "uk-local"),
    "wide_interval_n.csv": ("wide", "period", "uk-local"),
    "wide_bracketed.csv": ("wide", "end", "uk-local"),
    "wide_consumptionHH.csv": ("wide", "start", "uk-local"),
    "wide_consumption_kwh_HH.csv": ("wide", "period", "uk-local"),
    "wide_flag_second_block.csv": ("wide", "end", "uk-local"),
    "wide_same_names_second_block.csv": ("wide", "end", "uk-local"),
    "wide_utf16.csv": ("wide", "end", "uk-local"),
    "wide_cp1252_cr_only.csv": ("wide", "end", "uk-local"),
    "wide_no_header.csv": ("wide", "period", "uk-local"),
    "wide_excel.xlsx": ("wide", "end", "uk-local"),
    "long_date_time_end_kvarh.csv": ("long-date-time", "end", "uk-local"),
    "long_settlement_period_autumn.csv": ("long-date-period", "period", "uk-local"),
    "long_no_header_spring.csv": ("long", "start", "uk-local"),
    "long_utf16_semicolon_end.csv": ("long", "end", "uk-local"),
    "long_legacy.xls": ("long-date-time", "start", "uk-local"),
}


def test_every_sample_has_an_expectation():
    assert set(EXPECTED) == set(TOTALS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_layout_reads_to_its_known_total(name):
    parsed = parse_file(LAYOUTS / name)
    known = TOTALS[name]
    readings = pd.concat([m.readings for m in parsed.meters])
    assert len(readings) == known["readings"]
    assert readings["energy_kwh"].sum() == pytest.approx(known["total_kwh"], abs=1e-9)
    first = pd.Timestamp(int(readings["start_ts"].min()), unit="s", tz="UTC")
    assert first == pd.Timestamp(known["first_utc"])
    assert (readings["interval_seconds"] == 1800).all()
    layout = parsed.layout
    assert (layout.layout, layout.labelling, layout.time_basis) == EXPECTED[name]


def test_flags_after_each_value_mark_estimates():
    [meter] = parse_file(LAYOUTS / "wide_H_dq_flag_after_each.csv").meters
    assert meter.readings["estimated"].sum() == 3  # one "E" per day, at the sixth half hour


def test_mpans_and_mprns_in_one_file_and_kvarh_rows_skipped():
    meters = {m.identifier: m for m in parse_file(LAYOUTS / "long_date_time_end_kvarh.csv").meters}
    assert {(m.identifier_kind, m.fuel) for m in meters.values()} == {("mpan", "power"), ("mprn", "gas")}
    assert (meters["1234567890126"].readings["energy_kwh"] < 9).all()  # the 9.99 kVArh rows are not consumption


def test_clock_change_days_have_46_and_50_half_hours():
    autumn = parse_file(LAYOUTS / "wide_HH50_autumn.csv").meters[0].readings
    days = pd.to_datetime(autumn["start_ts"], unit="s", utc=True).dt.tz_convert("Europe/London").dt.date.astype(str)
    assert days.value_counts()["2019-10-27"] == 50
    spring = parse_file(LAYOUTS / "long_no_header_spring.csv").meters[0].readings
    days = pd.to_datetime(spring["start_ts"], unit="s", utc=True).dt.tz_convert("Europe/London").dt.date.astype(str)
    assert days.value_counts()["2019-03-31"] == 46


def test_utc_and_local_time_overrides():
    path = LAYOUTS / "long_settlement_period_autumn.csv"
    assert parse_file(path).layout.time_basis == "uk-local"
    with pytest.raises(ImportFormatError, match="period 49 on 2019-10-27, a day of 48 half hours") as caught:
        parse_file(path, utc=True)  # as UTC days the autumn day has 48 periods: 49 and 50 are refused, not misplaced
    assert caught.value.where == "line 98"
    lcl = Path(__file__).parent.parent / "data" / "lcl_halfhourly_2013-07_2households.csv"
    assert parse_file(lcl).layout.time_basis == "utc"  # LCL is documented GMT all year
    assert parse_file(lcl, local_time=True).layout.time_basis == "uk-local"
    july_utc = parse_file(lcl).meters[0].readings["start_ts"].iloc[0]
    july_local = parse_file(lcl, local_time=True).meters[0].readings["start_ts"].iloc[0]
    assert july_utc - july_local == 3600  # 00:00 BST is 23:00 UTC the day before


def test_a_utc_header_or_offsets_set_the_time_basis(tmp_path):
    rows = "".join(f"1234567890126,2024-07-01 0{h}:00,1\n" for h in range(3))
    utc_header = tmp_path / "utc.csv"
    utc_header.write_text("MPAN,Timestamp (UTC),kWh\n" + rows)
    parsed = parse_file(utc_header)
    assert parsed.layout.time_basis == "utc"
    assert parsed.meters[0].readings["start_ts"].iloc[0] == int(pd.Timestamp("2024-07-01 00:00", tz="UTC").timestamp())
    naive = tmp_path / "naive.csv"
    naive.write_text("MPAN,Timestamp,kWh\n" + rows)
    parsed = parse_file(naive)  # no evidence: UK clock time (BST in July)
    assert parsed.layout.time_basis == "uk-local"
    assert parsed.meters[0].readings["start_ts"].iloc[0] == int(pd.Timestamp("2024-06-30 23:00", tz="UTC").timestamp())
    offsets = tmp_path / "offsets.csv"
    offsets.write_text("MPAN,Timestamp,kWh\n" + rows.replace(":00,1", ":00Z,1"))
    assert parse_file(offsets).layout.time_basis == "offset"


def test_a_cut_workbook_is_refused(tmp_path):
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes((LAYOUTS / "wide_excel.xlsx").read_bytes()[:3000])
    with pytest.raises(ImportFormatError, match="corrupt or cut"):
        parse_file(cut)
    cut_xls = tmp_path / "cut.xls"
    cut_xls.write_bytes((LAYOUTS / "long_legacy.xls").read_bytes()[:3000])
    with pytest.raises(ImportFormatError, match="corrupt or cut"):
        parse_file(cut_xls)


def test_gzip_and_zip_wrapped_files_read_alike(tmp_path):
    import gzip
    import zipfile

    source = LAYOUTS / "wide_HH50_autumn.csv"
    gz = tmp_path / "data.bin"
    gz.write_bytes(gzip.compress(source.read_bytes()))
    archive = tmp_path / "data.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.write(source, source.name)
    totals = [sum(m.readings["energy_kwh"].sum() for m in parse_file(p).meters) for p in (gz, archive)]
    assert totals == pytest.approx([TOTALS[source.name]["total_kwh"]] * 2)


def test_wide_rows_of_reactive_energy_are_skipped(tmp_path):
    labels = ",".join(f"HH{k}" for k in range(1, 49))
    kwh = ",".join(["0.5"] * 48)
    kvarh = ",".join(["9.9"] * 48)
    path = tmp_path / "wide_units.csv"
    path.write_text(
        f"MPAN,Date,Units,{labels}\n1234567890126,13/11/2019,kWh,{kwh}\n1234567890126,13/11/2019,kVArh,{kvarh}\n"
    )
    [meter] = parse_file(path).meters
    assert len(meter.readings) == 48 and meter.readings["energy_kwh"].sum() == pytest.approx(24.0)
