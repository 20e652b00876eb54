import gzip
import shutil
from pathlib import Path

import pytest

from portfolio.ingest.detect import detect_format, parse_file
from portfolio.ingest.records import ImportFormatError

DATA = Path(__file__).parent.parent / "data"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("abridged_electric_containerized.xml", "espi-xml"),
        ("ngma_gas_provider_2024-07-16.xml", "espi-xml"),  # prefixed namespaces
        ("lcl_halfhourly_dst_weeks_3households.csv", "hh-csv-long"),
        ("wide_synthetic_mac000002_dst_2013.csv", "hh-csv-wide"),
        ("uk-tempC-sample-1_2.csv.gz", "weather-csv"),
        ("metoffice_bedford_2019.csv.gz", "weather-csv"),
        ("ucam_b0_electricity_2019.csv.gz", "hh-csv-long"),
    ],
)
def test_format_comes_from_content(name, kind):
    path = DATA / name
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    assert detect_format(path, data) == kind


def test_names_and_extensions_do_not_matter(tmp_path):
    xml_as_txt = tmp_path / "download.txt"
    shutil.copy(DATA / "abridged_gas_direct.xml", xml_as_txt)
    assert parse_file(xml_as_txt).format == "espi-xml"
    gzipped_without_gz = tmp_path / "meter.csv"
    shutil.copy(DATA / "ucam_b0_electricity_2019.csv.gz", gzipped_without_gz)
    parsed = parse_file(gzipped_without_gz, meter="b0")
    assert parsed.format == "hh-csv-long" and len(parsed.meters[0].readings) == 8760
    xml_gz = tmp_path / "feed.bin"
    xml_gz.write_bytes(gzip.compress((DATA / "abridged_electric_containerized.xml").read_bytes()))
    assert len(parse_file(xml_gz).meters[0].readings) == 8


def test_parse_file_passes_options_through():
    parsed = parse_file(DATA / "lcl_halfhourly_dst_weeks_3households.csv", fuel="gas")
    assert {m.fuel for m in parsed.meters} == {"gas"}
    with pytest.raises(ImportFormatError, match="does not exist"):
        parse_file(DATA / "lcl_halfhourly_dst_weeks_3households.csv", local_time=True)
    assert parse_file(DATA / "metoffice_bedford_2019.csv.gz", location="Bedford").weather[0].location == "Bedford"


def test_unknown_content_names_the_file(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("name,colour\nbob,blue\n")
    with pytest.raises(ImportFormatError) as caught:
        parse_file(path)
    assert str(path) in str(caught.value) and "['name', 'colour']" in caught.value.problem
    other_xml = tmp_path / "other.xml"
    other_xml.write_text("<?xml version='1.0'?><html><body/></html>")
    with pytest.raises(ImportFormatError, match="not a Green Button"):
        parse_file(other_xml)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(ImportFormatError, match="empty"):
        parse_file(empty)


def test_truncated_gzip_is_reported(tmp_path):
    path = tmp_path / "cut.csv.gz"
    path.write_bytes((DATA / "ucam_b0_gas_2019.csv.gz").read_bytes()[:2000])
    with pytest.raises(ImportFormatError, match="gzip"):
        parse_file(path, meter="b0")
