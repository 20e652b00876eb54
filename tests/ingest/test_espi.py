import re
from pathlib import Path

import numpy as np
import pytest

from portfolio.ingest.espi import parse_espi
from portfolio.ingest.records import READING_COLUMNS, ImportFormatError

DATA = Path(__file__).parent.parent / "data"
COASTAL = DATA / "Coastal_Multi_Family_Jan_1_2011_to_Jan_1_2012_RetailCustomer_5.xml"
FIFTEEN_MINUTE = DATA / "openespi_test_usage_data_15min.xml"
NGMA_PROVIDER = DATA / "ngma_gas_provider_2024-07-16.xml"
OPOWER_GAS = DATA / "ngma_natural_gas_billing_billing_data_Service_1_1_2021-05-26_to_2024-04-25.xml"
ABRIDGED_ELECTRIC = DATA / "abridged_electric_containerized.xml"


def parse(path: Path, **kwargs):
    return parse_espi(path, path.read_bytes(), **kwargs)


def variant(tmp_path: Path, source: Path, *replacements: tuple[str, str]) -> Path:
    text = source.read_text()
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    target = tmp_path / source.name
    target.write_text(text)
    return target


def test_coastal_year_is_8760_hourly_readings_in_utc():
    parsed = parse(COASTAL)
    assert parsed.format == "espi-xml"
    [meter] = parsed.meters
    readings = meter.readings
    assert tuple(readings.columns) == READING_COLUMNS
    assert len(readings) == 8760
    assert (readings["interval_seconds"] == 3600).all()
    assert (np.diff(readings["start_ts"]) == 3600).all()  # UTC epoch: no clock-change holes or repeats
    assert readings["start_ts"].iloc[0] == 1293868800  # 2011-01-01 08:00 UTC = midnight Pacific
    assert meter.identifier == "urn:uuid:DAE2A527-3662-4066-85A8-C073762A1790"  # the UsagePoint's mRID
    assert meter.aliases[0].endswith("/RetailCustomer/5/UsagePoint/1")  # the installation-local href
    assert (meter.identifier_kind, meter.fuel, meter.direction, meter.name) == (
        "espi",
        "power",
        "import",
        "Coastal Multi-Family",
    )
    assert meter.time_zone == "America/Los_Angeles"
    assert (readings["original_unit"] == "Wh").all()
    assert np.allclose(readings["energy_kwh"], readings["original_value"] / 1000)


def test_fifteen_minute_file_keeps_estimated_quality_codes():
    [meter] = parse(FIFTEEN_MINUTE).meters
    readings = meter.readings.set_index("start_ts")
    assert len(readings) == 1340
    assert (readings["interval_seconds"] == 900).all()
    assert meter.time_zone == "America/New_York"
    assert bool(readings.loc[1330578000, "estimated"])  # quality 8: estimated using reference day
    assert not bool(readings.loc[1330578900, "estimated"])  # quality 7: manually edited, not an estimate
    assert int(readings["estimated"].sum()) == 1


def test_containerized_and_direct_links_are_followed():
    [electric] = parse(ABRIDGED_ELECTRIC).meters
    assert len(electric.readings) == 8  # two IntervalBlock entries of four readings, the UsageSummary ignored
    assert electric.readings["original_value"].iloc[0] == 450.0
    assert electric.readings["energy_kwh"].iloc[0] == pytest.approx(0.45)
    [gas] = parse(DATA / "abridged_gas_direct.xml").meters
    assert gas.fuel == "gas" and len(gas.readings) == 5


def test_monthly_therm_readings_keep_their_length_and_original_unit():
    [meter] = parse(OPOWER_GAS).meters
    readings = meter.readings
    assert meter.fuel == "gas"
    assert len(readings) == 35
    assert readings["interval_seconds"].between(27 * 86400, 35 * 86400).all()  # billing periods, never split
    first = readings.iloc[0]
    assert first["original_unit"] == "therm"
    assert first["original_value"] == pytest.approx(37.0)  # 37000 x 10^-3
    assert first["energy_kwh"] == pytest.approx(37.0 * 29.3071)
    assert meter.meter_type is None


def test_ngma_provider_file_is_refused_because_all_readings_share_one_fractional_start():
    with pytest.raises(ImportFormatError) as caught:
        parse(NGMA_PROVIDER)
    message = str(caught.value)
    assert str(NGMA_PROVIDER) in message
    assert "36 IntervalReadings start at the same time 1721154385" in message  # 1721154384.66136 rounded, not rejected


def ngma_with_distinct_starts(tmp_path: Path, *extra: tuple[str, str]) -> Path:
    text = NGMA_PROVIDER.read_text()
    counter = iter(range(1000))
    text = re.sub(r"1721154384\.66136", lambda _: f"{1600000000 + next(counter) * 2592000}.66136", text)
    for old, new in extra:
        text = text.replace(old, new)
    target = tmp_path / "ngma.xml"
    target.write_text(text)
    return target


def test_prefixed_namespaces_parse_and_missing_uom_is_refused(tmp_path):
    with pytest.raises(ImportFormatError, match="has no uom"):
        parse(ngma_with_distinct_starts(tmp_path))
    path = ngma_with_distinct_starts(
        tmp_path,
        (
            "<ns:ReadingType/>",
            "<ns:ReadingType><ns:powerOfTenMultiplier>-3</ns:powerOfTenMultiplier><ns:uom>169</ns:uom></ns:ReadingType>",
        ),
    )
    [meter] = parse(path).meters
    assert len(meter.readings) == 36
    # each block's <interval> start also took a number, so readings got the odd ones; .66136 rounds up
    assert meter.readings["start_ts"].iloc[0] == 1600000000 + 2592000 + 1
    assert meter.fuel == "gas"  # ServiceCategory kind is empty: a therm unit means gas
    assert meter.name == "101 DOG ST BOBTOWN MA US 12345-9032,"  # the title as written, trailing comma included
    assert meter.time_zone is None  # +18000 with North-American DST rules is a sign error: no guess
    assert meter.readings["energy_kwh"].iloc[0] == pytest.approx(12.0 * 29.3071)


def test_unknown_unit_code_is_named(tmp_path):
    path = variant(tmp_path, ABRIDGED_ELECTRIC, ("<uom>72</uom>", "<uom>5</uom>"))
    with pytest.raises(ImportFormatError, match="unknown unit of measure code 5 in ReadingType"):
        parse(path)


def test_reverse_flow_is_export_and_time_zone_rules(tmp_path):
    export = variant(
        tmp_path,
        ABRIDGED_ELECTRIC,
        ("<flowDirection>1</flowDirection>", "<flowDirection>19</flowDirection>"),
        ("<tzOffset>-28800</tzOffset>", "<tzOffset>0</tzOffset>"),
    )
    [meter] = parse(export).meters
    assert meter.direction == "export"
    assert meter.time_zone == "Europe/London"
    fixed = variant(tmp_path, ABRIDGED_ELECTRIC, ("<dstOffset>3600</dstOffset>", "<dstOffset>0</dstOffset>"))
    assert parse(fixed).meters[0].time_zone == "Etc/GMT+8"  # UTC-8 without DST; the Etc sign is inverted


def test_truncated_xml_names_file_and_line(tmp_path):
    path = tmp_path / "truncated.xml"
    path.write_bytes(COASTAL.read_bytes()[:50_000])
    with pytest.raises(ImportFormatError) as caught:
        parse(path)
    assert str(path) in str(caught.value)
    assert caught.value.where is not None and caught.value.where.startswith("line ")
    assert "not well-formed" in caught.value.problem


def test_conflicting_readings_name_block_and_reading(tmp_path):
    path = variant(tmp_path, ABRIDGED_ELECTRIC, ("<start>1293872400</start>", "<start>1293868800</start>"))
    with pytest.raises(ImportFormatError) as caught:
        parse(path)
    assert "IntervalBlock 1 / IntervalReading 2" in caught.value.where
    identical = variant(
        tmp_path,
        ABRIDGED_ELECTRIC,
        ("<start>1293872400</start>", "<start>1293868800</start>"),
        ("<value>430</value>", "<value>450</value>"),
    )
    assert len(parse(identical).meters[0].readings) == 7  # an identical repeat is kept once


def test_nine_day_sample_is_hourly_eastern():
    [meter] = parse(DATA / "TestGBDataHourlyNineDaysBinnedDaily.xml").meters
    assert len(meter.readings) == 216 and meter.time_zone == "America/New_York"
    assert meter.meter_type == "smart"


def test_two_meter_readings_of_one_usage_point_get_their_own_identifiers(tmp_path):
    text = ABRIDGED_ELECTRIC.read_text()
    usage_point_links = '<link rel="related" href="https://services.greenbuttondata.org/DataCustodian/espi/1_1/resource/RetailCustomer/3/UsagePoint/1/MeterReading"/>'
    # split the two IntervalBlocks between two MeterReadings, the second one exporting
    second = (
        "<entry><id>urn:uuid:second</id>"
        '<link rel="self" href="https://x/UsagePoint/1/MeterReading/02"/>'
        '<link rel="up" href="https://services.greenbuttondata.org/DataCustodian/espi/1_1/resource/RetailCustomer/3/UsagePoint/1/MeterReading"/>'
        '<link rel="related" href="https://x/IntervalBlock/174"/><link rel="related" href="https://x/ReadingType/19"/>'
        '<title>Export</title><content><MeterReading xmlns="http://naesb.org/espi"/></content></entry>'
        '<entry><id>urn:uuid:rt19</id><link rel="self" href="https://x/ReadingType/19"/>'
        '<content><ReadingType xmlns="http://naesb.org/espi"><flowDirection>19</flowDirection><uom>72</uom></ReadingType></content></entry>'
    )
    block_174 = "https://services.greenbuttondata.org/DataCustodian/espi/1_1/resource/RetailCustomer/3/UsagePoint/1/MeterReading/01/IntervalBlock"
    text = text.replace(
        f'<link rel="self" href="{block_174}/174"/>\n    <link rel="up" href="{block_174}"/>',
        '<link rel="self" href="https://x/IntervalBlock/174"/>',
    ).replace("</feed>", second + "</feed>")
    assert "https://x/IntervalBlock/174" in text
    assert usage_point_links in text
    path = tmp_path / "two.xml"
    path.write_text(text)
    meters = parse(path).meters
    assert len(meters) == 2
    assert len({m.identifier for m in meters}) == 2
    assert [m.direction for m in meters] == ["import", "export"]
    assert [len(m.readings) for m in meters] == [4, 4]
