import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lxml import etree

from portfolio.exports import ExportError, write_export
from portfolio.exports.espi_validation import validate_espi
from portfolio.exports.espi_writer import compute_local_time_parameters, encode_dst_rule, usage_point_mrid
from portfolio.ingest.espi import parse_espi
from tests.exports import GAS_MPRN, POWER_MPAN, POWER_NAME, iter_chunks, make_meta, make_readings

SAMPLE = Path(__file__).parent.parent / "data" / "TestGBDataHourlyNineDaysBinnedDaily.xml"


def export_espi(readings: pd.DataFrame, chunk_rows: int = 17) -> bytes:
    return b"".join(write_export("interval", "espi", iter_chunks(readings, chunk_rows), make_meta()))


def test_feed_is_valid_espi():
    assert validate_espi(export_espi(make_readings())) == []


def test_round_trip_through_our_green_button_parser():
    readings = make_readings()
    parsed = parse_espi(Path("export.xml"), export_espi(readings))
    assert [(m.fuel, m.name, m.time_zone, m.identifier_kind) for m in parsed.meters] == [
        ("power", POWER_NAME, "Europe/London", "espi"),
        ("gas", "Beta Depot", "Europe/London", "espi"),
    ]
    for site_id, meter in zip((1, 2), parsed.meters, strict=True):
        expected = readings[readings["site_id"] == site_id].reset_index(drop=True)
        got = meter.readings
        assert got["start_ts"].tolist() == expected["start_ts"].tolist()
        assert got["interval_seconds"].tolist() == expected["interval_seconds"].tolist()
        assert got["estimated"].tolist() == expected["estimated"].tolist()
        np.testing.assert_allclose(got["energy_kwh"], expected["energy_kwh"], rtol=1e-9, atol=0)
        assert meter.identifier == usage_point_mrid(str(expected["meter_identifier"].iloc[0]))
        assert str(expected["meter_identifier"].iloc[0]) in meter.aliases


def test_six_decimal_kwh_survive_exactly_enough():
    readings = make_readings().head(5).assign(energy_kwh=[0.000001, 0.123456, 1.0779999, 98765.432109, 0.0])
    [meter] = parse_espi(Path("export.xml"), export_espi(readings)).meters
    np.testing.assert_allclose(
        meter.readings["energy_kwh"], [0.000001, 0.123456, 1.078, 98765.432109, 0.0], rtol=1e-9, atol=0
    )


def test_units_meter_ids_and_service_kinds_are_stated():
    xml = export_espi(make_readings()).decode()
    assert xml.count("<uom>72</uom>") == 2 and xml.count("<powerOfTenMultiplier>-3</powerOfTenMultiplier>") == 2
    assert "<intervalLength>1800</intervalLength>" in xml and "<intervalLength>3600</intervalLength>" in xml
    assert (
        "<ServiceCategory><kind>0</kind></ServiceCategory>" in xml
        and "<ServiceCategory><kind>1</kind></ServiceCategory>" in xml
    )
    assert f"<name>{POWER_MPAN}</name>" in xml and f"<name>{GAS_MPRN}</name>" in xml
    assert "<value>250000</value>" in xml  # 0.25 kWh in mWh
    assert xml.count("<LocalTimeParameters") == 1  # one shared entry for the one zone


def test_one_interval_block_per_local_day_covering_the_day():
    xml = export_espi(make_readings()).decode()
    blocks = re.findall(
        r"<IntervalBlock .*?<interval><duration>(\d+)</duration><start>(\d+)</start></interval>(.*?)</IntervalBlock>",
        xml,
    )
    assert [(int(d), int(s), body.count("<IntervalReading>")) for d, s, body in blocks] == [
        (82800, 1711843200, 46),
        (90000, 1729983600, 48),  # power: 23 h and 25 h local days, 2 half hours missing
        (82800, 1711843200, 23),
        (90000, 1729983600, 25),  # gas, hourly
    ]
    assert xml.count("<quality>8</quality>") == 2  # estimated readings only


def test_uk_and_us_dst_rules_encode_as_espi_expects():
    london = compute_local_time_parameters("Europe/London", 2024)
    assert (london.tz_offset, london.dst_offset, london.dst_start_rule, london.dst_end_rule) == (
        0,
        3600,
        "3E0E1000",
        "AE0E2000",
    )
    new_york = compute_local_time_parameters("America/New_York", 2013)
    sample = SAMPLE.read_text()
    assert f"<dstStartRule>{new_york.dst_start_rule}</dstStartRule>" in sample  # 360E2000
    assert f"<dstEndRule>{new_york.dst_end_rule}</dstEndRule>" in sample  # B40E2000
    assert new_york.tz_offset == -18000
    utc = compute_local_time_parameters("UTC", 2024)
    assert (utc.dst_offset, utc.dst_start_rule) == (0, "FFFFFFFF")
    assert encode_dst_rule(3, 15, 5, 6300, 31) == "380A1A8C"  # the xsd's example: third Friday of March 01:45


def test_validation_reports_schema_and_envelope_problems():
    xml = export_espi(make_readings()).decode()
    broken_value = xml.replace("<value>250000</value>", "<value>250.5</value>", 1)
    assert any("IntervalBlock" in problem and "value" in problem for problem in validate_espi(broken_value.encode()))
    no_up = re.sub(r'<link rel="up" href="[^"]*/ReadingType"/>', "", xml, count=1)
    assert any("rel=up" in problem for problem in validate_espi(no_up.encode()))
    dangling = xml.replace('/MeterReading/1/IntervalBlock"/>', '/MeterReading/9/IntervalBlock"/>', 1)
    assert any("leads to no entry" in problem for problem in validate_espi(dangling.encode()))
    assert validate_espi(xml[:-200].encode())[0].startswith("XML is not well-formed")


def test_feed_streams_a_site_day_at_a_time():
    consumed = []

    def chunks():
        for number, chunk in enumerate(iter_chunks(make_readings(), 30)):
            consumed.append(number)
            yield chunk

    stream = write_export("interval", "espi", chunks(), make_meta())
    assert consumed == []
    head = next(stream)
    assert head.startswith(b"<?xml") and consumed == []
    first_day = next(stream)
    assert b"<IntervalBlock" in first_day and consumed == [0, 1]  # the day ends in the second chunk
    rest = list(stream)
    assert len(rest) >= 3 and consumed == [0, 1, 2, 3, 4]


def test_only_power_and_gas_can_be_green_button():
    with pytest.raises(ExportError, match="power and gas only"):
        export_espi(make_readings().assign(fuel="water"))


ODD_NAME = "Café <Unit> & \"Sons\" 'Ltd'\ttab\nline\rreturn \x01bell 💡"


def test_entries_are_what_lxml_would_serialise_with_names_escaped():
    """Block entries are written from templates: each must be exactly lxml's own serialisation of what it parses to."""
    readings = make_readings().assign(site_name=lambda frame: np.where(frame["site_id"] == 1, ODD_NAME, "A & B"))
    xml = export_espi(readings)
    assert validate_espi(xml) == []
    feed = etree.fromstring(xml)
    entries = feed.findall("{http://www.w3.org/2005/Atom}entry")
    text = xml.decode()
    for entry in entries:
        assert etree.tostring(entry, encoding="unicode", with_tail=False) in text
    titles = [entry.findtext("{http://www.w3.org/2005/Atom}title") for entry in entries]
    shown = ODD_NAME.replace("\x01", "\ufffd")  # not an XML character: replaced, never an aborted feed
    assert shown in titles and f"{shown} 2024-03-31" in titles and "A & B 2024-10-27" in titles
    assert sum(title.startswith(shown) for title in titles) == 3  # the usage point and its two days


def test_feed_reads_back_the_same_from_any_chunking():
    readings = make_readings()
    whole = export_espi(readings, chunk_rows=len(readings))
    assert all(export_espi(readings, chunk_rows=size) == whole for size in (1, 7, 45, 46, 47, 95))
