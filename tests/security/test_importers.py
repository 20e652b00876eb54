"""Parser fuzzing of the importers: damaged CSV, Green Button XML and XLSX files (issue 18).

Every generated file either imports or is refused with a clear error (:class:`ImportFormatError` or another
``ValueError`` naming the problem); a refused file leaves the database exactly as it was (no partial state).
XML entity tricks (external entities, entity expansion) never read a local file or blow up memory.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.db import make_engine, make_session_factory
from portfolio.models import DailyUsage, ImportRecord, Meter, Organisation, Reading, Site, WeatherReading
from portfolio.services.imports import import_file
from tests.conftest import DATA
from tests.security.conftest import EXAMPLES
from tests.security.payloads import HOSTILE_TEXT
from tests.security.tally import TALLY

CSV_SAMPLE = DATA / "wide_synthetic_mac000002_dst_2013.csv"
LONG_CSV_SAMPLE = DATA / "lcl_halfhourly_2013-07_2households.csv"
XML_SAMPLE = DATA / "abridged_gas_direct.xml"
TABLES = (Reading, DailyUsage, Site, Meter, ImportRecord, Organisation, WeatherReading)
SECRET = "TOP-SECRET-LOCAL-FILE"


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


def _counts(factory: sessionmaker[Session]) -> tuple[int, ...]:
    with factory() as session:
        return tuple(session.scalar(select(func.count()).select_from(table)) or 0 for table in TABLES)


def _import(factory: sessionmaker[Session], folder: Path, name: str, data: bytes) -> None:
    """Import ``data``; a refusal must be a ValueError with a message and must change nothing."""
    path = folder / name
    path.write_bytes(data)
    before = _counts(factory)
    try:
        import_file(factory, path)
    except ValueError as error:  # ImportFormatError, LoaderError, UserError: all say what is wrong
        TALLY.files["refused"] += 1
        assert str(error).strip(), "an error without a message"
        assert _counts(factory) == before, f"a refused file changed the database: {error}"
    else:
        TALLY.files["imported"] += 1


def _mutate(data: bytes, draw: st.DrawFn) -> bytes:
    """Truncate, flip bytes, or splice hostile text into a line of a real sample."""
    kind = draw(st.sampled_from(["truncate", "flip", "splice", "line", "duplicate"]))
    if kind == "truncate":
        return data[: draw(st.integers(0, len(data)))]
    if kind == "flip":
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
        return bytes(out)
    lines = data.split(b"\n")
    at = draw(st.integers(0, len(lines) - 1))
    hostile = draw(st.sampled_from(HOSTILE_TEXT) | st.text(max_size=40)).encode("utf-8", "surrogatepass")
    if kind == "splice":
        cut = draw(st.integers(0, len(lines[at])))
        lines[at] = lines[at][:cut] + hostile + lines[at][cut:]
    elif kind == "line":
        lines[at] = hostile
    else:
        lines.insert(at, lines[at])
    return b"\n".join(lines)


FUZZ = settings(
    max_examples=EXAMPLES * 3,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("sample", [CSV_SAMPLE, LONG_CSV_SAMPLE], ids=["wide", "long"])
def test_damaged_csv_imports_or_is_refused_cleanly(engine: Engine, tmp_path: Path, sample: Path) -> None:
    factory = make_session_factory(engine)
    original = sample.read_bytes()[:20_000]

    @FUZZ
    @given(data=st.data())
    def attack(data: st.DataObject) -> None:
        _import(factory, tmp_path, "meter.csv", _mutate(original, data.draw))

    attack()


def test_damaged_green_button_xml_imports_or_is_refused_cleanly(engine: Engine, tmp_path: Path) -> None:
    factory = make_session_factory(engine)
    original = XML_SAMPLE.read_bytes()

    @FUZZ
    @given(data=st.data())
    def attack(data: st.DataObject) -> None:
        _import(factory, tmp_path, "usage.xml", _mutate(original, data.draw))

    attack()


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file://{secret}">]>',
        '<!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
        '<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">]>',
    ],
    ids=["external-entity", "entity-expansion"],
)
def test_xml_entities_are_never_expanded(engine: Engine, tmp_path: Path, doctype: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    original = XML_SAMPLE.read_text()
    header, rest = original.split("\n", 1)
    entity = "&xxe;" if "xxe" in doctype else "&f;"
    poisoned = (
        header
        + "\n"
        + doctype.replace("{secret}", str(secret))
        + "\n"
        + rest.replace('<title type="text">', f'<title type="text">{entity}', 1)
    )
    factory = make_session_factory(engine)
    _import(factory, tmp_path, "usage.xml", poisoned.encode())
    with factory() as session:
        names = " ".join(session.scalars(select(Site.name)).all())
    assert SECRET not in names


@st.composite
def workbooks(draw: st.DrawFn) -> bytes:
    """An .xlsx of meter-like rows with hostile cells (formulas, huge numbers, dates, markup)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(draw(st.sampled_from([["MPAN", "timestamp", "kWh"], ["LCLid", "tstp", "energy(kWh/hh)"], []])))
    cell = st.one_of(
        st.sampled_from([t for t in HOSTILE_TEXT if all(" " <= c < "\ud800" or c > "\udfff" for c in t)]),
        st.integers(min_value=-(2**40), max_value=2**40),
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from(["=1+1", '=HYPERLINK("http://attacker.example")', "2013-07-01 00:00:00", "1012345678901"]),
        st.none(),
    )
    for row in draw(st.lists(st.lists(cell, min_size=1, max_size=5), max_size=12)):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_spreadsheets_import_or_are_refused_cleanly(engine: Engine, tmp_path: Path) -> None:
    factory = make_session_factory(engine)

    @FUZZ
    @given(workbook=workbooks())
    def attack(workbook: bytes) -> None:
        _import(factory, tmp_path, "readings.xlsx", workbook)

    attack()
