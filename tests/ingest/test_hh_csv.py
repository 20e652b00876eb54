from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from portfolio.ingest.hh_csv import parse_hh_csv
from portfolio.ingest.records import READING_COLUMNS, ImportFormatError

DATA = Path(__file__).parent.parent / "data"
LCL_DST = DATA / "lcl_halfhourly_dst_weeks_3households.csv"
LCL_JULY = DATA / "lcl_halfhourly_2013-07_2households.csv"
WIDE = DATA / "wide_synthetic_mac000002_dst_2013.csv"
MPAN = "1234567890126"


def parse(path: Path, **kwargs):
    return parse_hh_csv(path, path.read_bytes(), **kwargs)


def write(tmp_path: Path, text: str, name: str = "meter.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def utc(text: str) -> int:
    return int(pd.Timestamp(text, tz="UTC").timestamp())


def day_counts(readings: pd.DataFrame, tz: str) -> pd.Series:
    days = pd.to_datetime(readings["start_ts"], unit="s", utc=True).dt.tz_convert(tz).dt.date.astype(str)
    return days.value_counts()


def test_lcl_is_utc_so_clock_change_days_have_48_half_hours():
    parsed = parse(LCL_DST)
    assert parsed.format == "hh-csv-long"
    meters = {m.identifier: m for m in parsed.meters}
    assert sorted(meters) == ["MAC000002", "MAC000015", "MAC000079"]
    mac2 = meters["MAC000002"]
    assert (mac2.identifier_kind, mac2.fuel, mac2.time_zone) == ("other", "power", None)
    readings = mac2.readings
    assert tuple(readings.columns) == READING_COLUMNS
    assert (readings["interval_seconds"] == 1800).all()
    counts = day_counts(readings, "UTC")
    assert counts["2013-03-31"] == 48 and counts["2013-10-27"] == 48
    first = readings.iloc[0]
    assert first["start_ts"] == utc("2013-03-24 00:00")
    assert first["energy_kwh"] == pytest.approx(0.486)  # " 0.486 " in the file
    assert readings["original_unit"].isna().all() and readings["original_value"].isna().all()
    assert not readings["estimated"].any()


def test_lcl_values_keep_their_spaces_out():
    lines = LCL_DST.read_text().splitlines()
    raw = lines[1].split(",")[2]
    assert raw.startswith(" ") and raw.endswith(" ")
    readings = {m.identifier: m for m in parse(LCL_DST).meters}["MAC000002"].readings
    assert readings["energy_kwh"].iloc[0] == pytest.approx(float(raw))


def test_gaps_stay_gaps():
    meters = {m.identifier: m for m in parse(LCL_JULY).meters}
    mac79 = meters["MAC000079"].readings
    gap = (mac79["start_ts"] > utc("2013-07-07 00:00")) & (mac79["start_ts"] < utc("2013-07-09 00:30"))
    assert not gap.any()
    assert utc("2013-07-07 00:00") in set(mac79["start_ts"]) and utc("2013-07-09 00:30") in set(mac79["start_ts"])
    assert len(meters["MAC000002"].readings) == 31 * 48
    assert len(mac79) < 31 * 48 - 2 * 48
    assert (mac79["interval_seconds"] == 1800).all()  # the gap does not change the inferred interval


def test_local_time_refuses_a_time_that_never_happened():
    with pytest.raises(ImportFormatError) as caught:
        parse(LCL_DST, local_time=True)
    line = int(caught.value.where.removeprefix("line "))
    assert "2013-03-31 01:00:00" in LCL_DST.read_text().splitlines()[line - 1]
    assert "does not exist" in caught.value.problem


def test_local_time_reads_the_repeated_autumn_hour_in_order(tmp_path):
    rows = ["00:30", "01:00", "01:30", "01:00", "01:30", "02:00"]
    text = "meter,datetime,kWh\n" + "".join(f"M1,2013-10-27 {t}:00,{i}\n" for i, t in enumerate(rows, start=1))
    [meter] = parse(write(tmp_path, text), local_time=True).meters
    starts = meter.readings["start_ts"].tolist()
    assert starts[0] == utc("2013-10-26 23:30")  # BST
    assert np.diff(starts).tolist() == [1800] * 5  # the second 01:00 is GMT, half an hour after 01:30 BST
    assert meter.time_zone == "Europe/London"


def test_wide_file_has_46_and_50_period_days():
    parsed = parse(WIDE)
    assert parsed.format == "hh-csv-wide"
    [meter] = parsed.meters
    assert (meter.identifier, meter.identifier_kind, meter.fuel) == (MPAN, "mpan", "power")
    counts = day_counts(meter.readings, "Europe/London")
    assert counts["2013-03-31"] == 46 and counts["2013-10-27"] == 50 and counts["2013-04-01"] == 48
    steps = np.diff(meter.readings["start_ts"])
    assert (steps == 1800).sum() == len(steps) - 1  # continuous within each run of days, one jump from April to October


def test_wide_rows_line_up_with_the_long_readings_they_came_from():
    wide = parse(WIDE).meters[0].readings.set_index("start_ts")["energy_kwh"]
    long = {m.identifier: m for m in parse(LCL_DST).meters}["MAC000002"].readings.set_index("start_ts")["energy_kwh"]
    assert len(wide) == 48 * 4 + 46 + 50
    assert long.reindex(wide.index).to_numpy() == pytest.approx(wide.to_numpy())


def wide_text(date: str, values: list[str]) -> str:
    header = "MPAN,Date," + ",".join(f"HH{k:02d}" for k in range(1, 51))
    return f"{header}\n{MPAN},{date}," + ",".join(values + [""] * (50 - len(values))) + "\n"


def test_wide_spring_day_with_48_values_is_refused(tmp_path):
    path = write(tmp_path, wide_text("2024-03-31", ["0.1"] * 48))
    with pytest.raises(ImportFormatError) as caught:
        parse(path)
    assert caught.value.problem == (
        "day 2024-03-31 has 48 half-hour values but a clock-change day has 46"
        " (if the file's days are UTC days, import it with --utc)"
    )
    assert caught.value.where == "line 2"
    [meter] = parse(path, utc=True).meters  # read as a UTC day it has 48 half hours
    assert len(meter.readings) == 48 and meter.readings["start_ts"].iloc[0] == utc("2024-03-31 00:00")


def test_wide_value_in_period_49_of_a_normal_day_is_refused(tmp_path):
    with pytest.raises(ImportFormatError, match="day 2024-01-05 has 49 half-hour values but a normal day has 48"):
        parse(write(tmp_path, wide_text("05/01/2024", ["0.1"] * 49)))


def test_wide_empty_cell_mid_day_is_a_gap(tmp_path):
    values = ["0.1"] * 48
    values[10] = ""
    [meter] = parse(write(tmp_path, wide_text("2024-01-05", values))).meters
    starts = set(meter.readings["start_ts"])
    assert len(starts) == 47 and utc("2024-01-05 05:00") not in starts and utc("2024-01-05 05:30") in starts


def test_identical_duplicates_are_kept_once_and_conflicting_ones_refused(tmp_path):
    same = (
        "MPAN,datetime,kWh\n" + f"{MPAN},2024-01-01 00:00,1.5\n{MPAN},2024-01-01 00:30,2\n{MPAN},2024-01-01 00:00,1.5\n"
    )
    [meter] = parse(write(tmp_path, same)).meters
    assert meter.readings["energy_kwh"].tolist() == [1.5, 2.0]
    clash = same.replace("00:00,1.5\n", "00:00,1.6\n", 1)
    with pytest.raises(ImportFormatError) as caught:
        parse(write(tmp_path, clash))
    assert caught.value.where == "line 4" and "line 2" in caught.value.problem


def test_null_values_are_missing_not_zero(tmp_path):
    text = "LCLid,tstp,energy(kWh/hh)\nM1,2014-01-01 00:00:00,Null\nM1,2014-01-01 00:30:00, 0.2 \nM1,2014-01-01 01:00:00,\nM1,2014-01-01 01:30:00,0.3\n"
    [meter] = parse(write(tmp_path, text)).meters
    assert meter.readings["start_ts"].tolist() == [utc("2014-01-01 00:30"), utc("2014-01-01 01:30")]
    assert meter.readings["interval_seconds"].tolist() == [1800, 1800]  # from the kWh/hh header, not the one 1 h step


def test_bad_date_names_line_and_text(tmp_path):
    text = f"MPAN,datetime,kWh\n{MPAN},2024-01-01 00:00,1\n{MPAN},2024-13-45 00:30,1\n"
    with pytest.raises(ImportFormatError) as caught:
        parse(write(tmp_path, text))
    assert caught.value.where == "line 3" and "'2024-13-45 00:30'" in caught.value.problem


@pytest.mark.parametrize(
    ("value", "message"), [("-0.5", "negative"), ("2e6", "not plausible"), ("inf", "finite"), ("abc", "not a number")]
)
def test_impossible_energy_is_refused_with_its_line(tmp_path, value, message):
    text = f"MPAN,datetime,kWh\n{MPAN},2024-01-01 00:00,1\n{MPAN},2024-01-01 00:30,{value}\n"
    with pytest.raises(ImportFormatError, match=message) as caught:
        parse(write(tmp_path, text))
    assert caught.value.where == "line 3"


def test_unknown_unit_is_refused(tmp_path):
    text = "MPRN,datetime,consumption,unit\n1234567,2024-01-01 00:00,1,m3\n1234567,2024-01-01 00:30,1,gallons\n"
    with pytest.raises(ImportFormatError, match="unknown unit 'gallons'") as caught:
        parse(write(tmp_path, text))
    assert caught.value.where == "line 3"


def test_gas_volume_is_converted_and_kept(tmp_path):
    text = "MPRN,datetime,consumption,unit\n1234567,2024-01-01 00:00,1,m3\n1234567,2024-01-01 00:30,2,m³\n"
    [meter] = parse(write(tmp_path, text)).meters
    assert (meter.identifier_kind, meter.fuel) == ("mprn", "gas")
    assert meter.readings["original_value"].tolist() == [1.0, 2.0]
    assert meter.readings["original_unit"].tolist() == ["m3", "m3"]
    assert meter.readings["energy_kwh"].iloc[0] == pytest.approx(1.02264 * 39.5 / 3.6)


def test_wrong_columns_list_found_and_expected(tmp_path):
    with pytest.raises(ImportFormatError) as caught:
        parse(write(tmp_path, "meter,when,amount\nM1,2024-01-01,1\n"))
    assert (
        "['meter', 'when', 'amount']" in caught.value.problem and "expected a timestamp column" in caught.value.problem
    )


def test_meter_column_or_meter_argument_is_required(tmp_path):
    path = write(tmp_path, "start,value\n2020-04-01T01:00:00+00:00,1.5\n2020-04-01T03:00:00+01:00,2\n")
    with pytest.raises(ImportFormatError, match="pass --meter"):
        parse(path)
    [meter] = parse(path, meter="site-7").meters
    assert (meter.identifier, meter.identifier_kind) == ("site-7", "other")
    assert meter.readings["start_ts"].tolist() == [utc("2020-04-01 01:00"), utc("2020-04-01 02:00")]
    assert meter.readings["interval_seconds"].tolist() == [3600, 3600]


def test_offsets_are_respected(tmp_path):
    path = write(tmp_path, "meter,timestamp,kWh\nM1,2024-07-01T00:00:00+01:00,1\nM1,2024-07-01T00:30:00+01:00,2\n")
    [meter] = parse(path).meters
    assert meter.readings["start_ts"].tolist() == [utc("2024-06-30 23:00"), utc("2024-06-30 23:30")]


def test_end_stamped_readings_are_shifted_to_their_start(tmp_path):
    path = write(
        tmp_path,
        "MPAN,Period End,kWh,Estimated\n"
        + "".join(f"{MPAN},01/02/2024 0{h}:00,1,{f}\n" for h, f in [(1, "A"), (2, "E"), (3, "A")]),
    )
    [meter] = parse(path).meters
    assert meter.readings["interval_seconds"].tolist() == [3600] * 3
    assert meter.readings["start_ts"].tolist() == [
        utc("2024-02-01 00:00"),
        utc("2024-02-01 01:00"),
        utc("2024-02-01 02:00"),
    ]
    assert meter.readings["estimated"].tolist() == [False, True, False]


def test_cambridge_hourly_gas_needs_meter_and_fuel(tmp_path):
    from portfolio.ingest.detect import parse_file

    parsed = parse_file(DATA / "ucam_b0_gas_2019.csv.gz", meter="UCam b0 gas", fuel="gas")
    [meter] = parsed.meters
    assert (meter.fuel, len(meter.readings)) == ("gas", 8760)
    assert (meter.readings["interval_seconds"] == 3600).all()


def test_a_file_cut_off_mid_line_is_refused(tmp_path):
    text = LCL_DST.read_text()
    cut = text[: text.index("\n", 5000) + 16]  # ends part-way through a timestamp: "MAC000002,2013-0"
    with pytest.raises(ImportFormatError) as caught:
        parse(write(tmp_path, cut))
    assert "truncated" in caught.value.problem and caught.value.where.startswith("line ")


def test_a_gap_row_with_a_broken_timestamp_is_refused(tmp_path):
    text = f"MPAN,datetime,kWh\n{MPAN},2024-01-01 00:00,1\n{MPAN},2024-01-01 0X:30,\n"
    with pytest.raises(ImportFormatError) as caught:
        parse(write(tmp_path, text))
    assert caught.value.where == "line 3"


def test_estimated_flags_are_read_per_row(tmp_path):
    text = f"MPAN,datetime,kWh,quality\n{MPAN},2024-01-01 00:00,1,A\n{MPAN},2024-01-01 00:30,2, e \n{MPAN},2024-01-01 01:00,3,Actual\n"
    meter = parse(write(tmp_path, text)).meters[0]
    assert meter.readings["estimated"].tolist() == [False, True, False]
    with pytest.raises(ImportFormatError, match="'maybe'") as caught:
        parse(write(tmp_path, text + f"{MPAN},2024-01-01 01:30,4,maybe\n"))
    assert caught.value.where == "line 5"
