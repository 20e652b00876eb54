"""Never store a wrong number: every corrupted file is refused with exit 2, named, and the database is unchanged.

Each case first imports a good file, takes a checksum of everything an import can touch, runs ``portfolio import``
on the corrupted file and checks the exit status, the message (file and line or element) and the checksum, on
SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from portfolio.cli import main
from portfolio.db import make_engine
from portfolio.ingest.detect import parse_file
from portfolio.ingest.records import ImportFormatError
from tests.conftest import DATA

MPAN = "1234567890126"
GOOD = DATA / "layouts" / "wide_end_2400_sep_line.csv"
ABRIDGED = DATA / "abridged_electric_containerized.xml"
TABLES = (
    "organisations",
    "sites",
    "meters",
    "readings",
    "daily_usage",
    "imports",
    "portfolio_series",
    "weather_readings",
)


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("PORTFOLIO_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    return database_url


def checksum(database_url: str) -> tuple[object, ...]:
    """Row counts of every table an import writes, plus the readings' and roll-up's energy sums."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            counts = tuple(connection.scalar(text(f"SELECT count(*) FROM {t}")) for t in TABLES)
            sums = connection.execute(
                text(
                    "SELECT (SELECT sum(energy_kwh) FROM readings), (SELECT sum(start_ts) FROM readings),"
                    " (SELECT sum(energy_kwh) FROM daily_usage)"
                )
            ).one()
            return counts + tuple(sums)
    finally:
        engine.dispose()


def long_csv(rows: list[str], header: str = "MPAN,datetime,kWh") -> str:
    return header + "\n" + "\n".join(rows) + "\n"


def half_hours(n: int, value: str = "0.125", meter: str = MPAN) -> list[str]:
    return [f"{meter},2024-01-01 {k // 2:02d}:{k % 2 * 30:02d},{value}" for k in range(n)]


def cut_mid_value() -> bytes:
    return long_csv(half_hours(6)).rstrip("\n")[:-2].encode()  # "0.125" cut to "0.1", no line end


def cut_after_separator() -> bytes:
    text = GOOD.read_text()
    return text[: text.rindex(",") + 1].encode()  # the last line stops after a comma


def bad_check_digit() -> bytes:
    return long_csv(half_hours(4, meter="1234567890123")).encode()


def off_grid() -> bytes:
    rows = half_hours(6)
    rows[3] = f"{MPAN},2024-01-01 01:15,0.125"
    return long_csv(rows).encode()


def therms_on_electricity() -> bytes:
    rows = [f"{MPAN},2024-01-01 00:{m:02d},1,therm" for m in (0, 30)]
    return long_csv(rows, "MPAN,datetime,value,unit").encode()


def implausible_csv() -> bytes:
    return long_csv(half_hours(4, value="3e5")).encode()


def implausible_xml() -> bytes:
    return ABRIDGED.read_text().replace("<value>450</value>", "<value>100000000000000000</value>", 1).encode()


def conflicting_after_conversion() -> bytes:
    rows = [f"{MPAN},2024-01-01 00:00,1,kWh", f"{MPAN},2024-01-01 00:30,1,kWh", f"{MPAN},2024-01-01 00:00,1,MWh"]
    return long_csv(rows, "MPAN,datetime,value,unit").encode()


def header_only() -> bytes:
    return b"MPAN,datetime,kWh\n"


def bad_multiplier() -> bytes:
    return ABRIDGED.read_text().replace("<powerOfTenMultiplier>0<", "<powerOfTenMultiplier>kilo<", 1).encode()


def many_fields() -> bytes:
    return b"MPAN,datetime,kWh\n" + b",".join([b"1"] * 100_000) + b"\n"


def enormous_value() -> bytes:
    return f"MPAN,datetime,kWh\n{MPAN},2024-01-01 00:00,".encode() + b"9" * 20_000_000 + b"\n"


CASES: dict[str, tuple[Callable[[], bytes], str, str]] = {  # name: (file, problem contains, where starts with)
    "cut mid-value": (cut_mid_value, "truncated", "line 7"),
    "cut after a separator": (cut_after_separator, "truncated", "line 5"),
    "MPAN check digit": (bad_check_digit, "wrong check digit", "line 2"),
    "off the grid": (off_grid, "off the 30-minute grid", "line 5"),
    "therms on electricity": (therms_on_electricity, "gas unit but the meter is electricity", "meter"),
    "implausible CSV value": (implausible_csv, "not plausible", "line 2"),
    "implausible XML value": (implausible_xml, "not plausible", "IntervalBlock 1 / IntervalReading 1"),
    "repeat differs after conversion": (conflicting_after_conversion, "two different readings", "line 4"),
    "header without data": (header_only, "no data rows", "line 1"),
    "non-numeric powerOfTenMultiplier": (bad_multiplier, "'kilo' is not a whole number", "entry"),
    "100k fields on one line": (many_fields, "longer than", "line 2"),
    "20 MB value": (enormous_value, "longer than", "line 2"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_corrupted_file_is_refused_and_nothing_changes(
    case: str, cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, problem, where = CASES[case]
    assert main(["import", str(GOOD)]) == 0
    before = checksum(cli_env)
    path = tmp_path / "corrupted.dat"
    path.write_bytes(make())
    capsys.readouterr()
    assert main(["import", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and problem in err and f"({where}" in err
    assert len(err) < 1_000  # an error quotes at most a short piece of the file
    assert checksum(cli_env) == before


def test_repeats_that_agree_after_conversion_are_one_reading(tmp_path: Path) -> None:
    rows = [f"{MPAN},2024-01-01 00:00,1,kWh", f"{MPAN},2024-01-01 00:30,2,kWh", f"{MPAN},2024-01-01 00:00,1000,Wh"]
    path = tmp_path / "same.csv"
    path.write_text(long_csv(rows, "MPAN,datetime,value,unit"))
    [meter] = parse_file(path).meters
    assert meter.readings["energy_kwh"].tolist() == [1.0, 2.0]


def test_a_complete_file_without_a_final_line_end_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "no_final_newline.csv"
    path.write_text(long_csv(half_hours(6)).rstrip("\n"))
    assert len(parse_file(path).meters[0].readings) == 6


def test_quoted_values_are_capped(tmp_path: Path) -> None:
    path = tmp_path / "long_value.csv"
    path.write_text(long_csv([f"{MPAN},2024-01-01 00:00,{'x' * 5000}"]))
    with pytest.raises(ImportFormatError) as caught:
        parse_file(path)
    assert caught.value.where == "line 2" and len(str(caught.value)) < 400
