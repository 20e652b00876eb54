from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from portfolio.ingest.detect import parse_file
from portfolio.ingest.records import WEATHER_COLUMNS, ImportFormatError
from portfolio.ingest.weather_csv import parse_weather_csv

DATA = Path(__file__).parent.parent / "data"


def parse_text(tmp_path: Path, text: str, **kwargs):
    path = tmp_path / "weather.csv"
    path.write_text(text)
    return parse_weather_csv(path, path.read_bytes(), **kwargs)


def test_met_office_processed_year():
    parsed = parse_file(DATA / "metoffice_bedford_2019.csv.gz", location="Bedford")
    assert parsed.format == "weather-csv" and not parsed.meters
    [series] = parsed.weather
    temperatures = series.temperatures
    assert (series.location, series.kind) == ("Bedford", "observed")
    assert tuple(temperatures.columns) == WEATHER_COLUMNS
    assert len(temperatures) == 8760
    assert temperatures["hour_ts"].iloc[0] == int(pd.Timestamp("2019-01-01", tz="UTC").timestamp())
    assert (np.diff(temperatures["hour_ts"]) == 3600).all()
    assert temperatures["air_temperature_c"].min() == pytest.approx(-5.2)
    assert temperatures["air_temperature_c"].max() == pytest.approx(32.0)
    assert temperatures["air_temperature_c"].iloc[0] == pytest.approx(8.2)


def test_eemeter_file_with_unnamed_index_column():
    [series] = parse_file(DATA / "uk-tempC-sample-1_2.csv.gz", location="London").weather
    temperatures = series.temperatures
    assert len(temperatures) == 11287
    assert temperatures["hour_ts"].iloc[0] == int(pd.Timestamp("2012-10-12", tz="UTC").timestamp())
    assert temperatures["air_temperature_c"].iloc[0] == pytest.approx(13.9149475)


def test_location_column_splits_series(tmp_path):
    text = "time,temperature,station\n2024-01-01 00:00,1.5,Heathrow\n2024-01-01 00:00,-2,Aviemore\n2024-01-01 01:00,1.0,Heathrow\n"
    weather = {s.location: s.temperatures for s in parse_text(tmp_path, text).weather}
    assert sorted(weather) == ["Aviemore", "Heathrow"]
    assert weather["Heathrow"]["air_temperature_c"].tolist() == [1.5, 1.0]


def test_missing_location_is_refused(tmp_path):
    with pytest.raises(ImportFormatError, match="pass --location"):
        parse_text(tmp_path, "time,temperature\n2024-01-01 00:00,1.5\n")


def test_implausible_temperature_is_refused_with_line(tmp_path):
    with pytest.raises(ImportFormatError, match="outside -60..60") as caught:
        parse_text(tmp_path, "time,temperature\n2024-01-01 00:00,1.5\n2024-01-01 01:00,75\n", location="X")
    assert caught.value.where == "line 3"


def test_sub_hourly_values_are_averaged_and_offsets_respected(tmp_path):
    text = "time,temperature\n2024-01-01T00:00:00+01:00,1\n2024-01-01T00:30:00+01:00,2\n2024-01-01T01:00:00+01:00,\n"
    [series] = parse_text(tmp_path, text, location="X").weather
    assert series.temperatures["hour_ts"].tolist() == [int(pd.Timestamp("2023-12-31 23:00", tz="UTC").timestamp())]
    assert series.temperatures["air_temperature_c"].tolist() == [1.5]  # the empty 01:00 value is a gap
