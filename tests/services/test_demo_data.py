"""The demo dataset shipped in the package: consistent, small, licensed, and free of secrets.

Reads only the installed package files, exactly as the app's demo loader will.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

import pandas as pd
import pytest

MPAN_PRIMES = (3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43)
MAX_BYTES = 15 * 1024 * 1024


def demo_dir() -> Traversable:
    return files("portfolio") / "demo_data"


@pytest.fixture(scope="module")
def world() -> dict[str, Any]:
    return json.loads((demo_dir() / "demo.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tables(world: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """Each source's wide csv, keyed by source name."""
    out = {}
    for name, spec in world["sources"].items():
        with (demo_dir() / spec["file"]).open("rb") as handle:
            out[name] = pd.read_csv(handle, compression="gzip", dtype={"timestamp": str})
    return out


def mpan_is_valid(core: str) -> bool:
    if not re.fullmatch(r"\d{13}", core):
        return False
    check = sum(int(d) * p for d, p in zip(core[:12], MPAN_PRIMES, strict=False)) % 11 % 10
    return check == int(core[12])


def test_mpan_check_digit_rule_on_a_known_core() -> None:
    # Worked example published with the MPAN check-digit algorithm.
    assert mpan_is_valid("1200023305967")
    assert not mpan_is_valid("1200023305968")


def test_site_count_fuels_and_intervals(world: dict[str, Any]) -> None:
    sites = world["sites"]
    assert 40 <= len(sites) <= 60
    assert {s["fuel"] for s in sites} == {"power", "gas"}
    intervals = {world["sources"][s["source"]]["interval_seconds"] for s in sites if s["source"]}
    assert intervals == {1800, 3600}
    assert len({s["key"] for s in sites}) == len(sites)
    assert len({s["identifier"] for s in sites}) == len(sites)
    assert {s["meter_type"] for s in sites} <= {"smart", "amr", "hh"}
    # Hourly data cannot come from a half-hourly ("hh") meter.
    assert all(s["meter_type"] != "hh" for s in sites if s["source"] == "commercial")
    accounts = {o["account_number"] for o in world["organisations"]}
    assert 4 <= len(accounts) <= 5
    assert all(s["organisation"] in accounts for s in sites)
    locations = {w["name"] for w in world["weather_locations"]}
    assert all(s["weather_location"] in locations for s in sites)


def test_every_series_exists(world: dict[str, Any], tables: dict[str, pd.DataFrame]) -> None:
    for site in world["sites"]:
        if site["series"] is None:
            assert site["source"] is None
            continue
        table = tables[site["source"]]
        assert site["series"] in table.columns, site["key"]
        assert table[site["series"]].notna().any(), site["key"]


def test_exactly_one_site_without_data(world: dict[str, Any]) -> None:
    assert sum(s["series"] is None for s in world["sites"]) == 1


def test_identifiers(world: dict[str, Any]) -> None:
    for site in world["sites"]:
        if site["fuel"] == "power":
            assert site["identifier_kind"] == "mpan"
            assert mpan_is_valid(site["identifier"]), site["identifier"]
            assert site["profile_class"] in {"03", "04", "05", "06", "07", "08"}
        else:
            assert site["identifier_kind"] == "mprn"
            assert re.fullmatch(r"\d{10}", site["identifier"])
            assert site["profile_class"] is None


def test_roles(world: dict[str, Any]) -> None:
    users = world["users"]
    roles = Counter(u["role"] for u in users)
    assert roles == {"customer": 2, "broker": 1, "account_manager": 1, "admin": 1}
    (broker,) = (u for u in users if u["role"] == "broker")
    assert len(set(broker["organisations"])) == 3
    (manager,) = (u for u in users if u["role"] == "account_manager")
    assert len(set(manager["organisations"])) == 2
    customers = [u for u in users if u["role"] == "customer"]
    assert customers[0]["organisation"] == world["organisations"][0]["account_number"]
    assert len({c["organisation"] for c in customers}) == 2
    assert all(u["email"].endswith("@demo.portfolio.example") for u in users)


def test_no_passwords(world: dict[str, Any]) -> None:
    text = (demo_dir() / "demo.json").read_text(encoding="utf-8").lower()
    assert "password" not in text
    assert "hash" not in text
    assert "$argon2" not in text


def test_commercial_zero_fills_are_gaps(tables: dict[str, pd.DataFrame]) -> None:
    table = tables["commercial"]
    assert len(table) == 8760
    power = table[[c for c in table.columns if c.endswith("-power")]]
    gas = table[[c for c in table.columns if c.endswith("-gas")]]
    assert not (power == 0).any().any()
    assert power.isna().any().any()  # the rule did turn some fills into gaps
    # A gas gap only where the building's electricity is a gap too.
    for column in gas.columns:
        building = column.removesuffix("-gas")
        assert table.loc[table[column].isna(), f"{building}-power"].isna().all(), column
    assert (gas == 0).any().any()  # real zeros (boiler off) are kept


def test_lcl_grid_and_gaps(tables: dict[str, pd.DataFrame]) -> None:
    table = tables["lcl"]
    stamps = pd.to_datetime(table["timestamp"], format="%Y-%m-%d %H:%M:%S")
    assert stamps.is_unique and stamps.is_monotonic_increasing
    assert (stamps.diff().dropna() == pd.Timedelta(minutes=30)).all()
    assert table["MAC000016"].last_valid_index() is not None
    assert stamps[table["MAC000016"].last_valid_index()] < pd.Timestamp("2013-02-01")
    assert table["MAC000079"].isna().sum() > 96  # the 2-day gap stays a gap, not zeros
    assert "MAC000004" not in table.columns


def test_weather_files(world: dict[str, Any]) -> None:
    for location in world["weather_locations"]:
        with (demo_dir() / location["file"]).open("rb") as handle:
            frame = pd.read_csv(handle, compression="gzip")
        assert list(frame.columns) == ["timestamp", "air_temperature_c"]
        assert frame["air_temperature_c"].between(-30, 45).all()
        assert len(frame) > 8000


def test_attribution_present() -> None:
    text = (demo_dir() / "ATTRIBUTION.md").read_text(encoding="utf-8")
    for needle in (
        "MIT License",
        "10.5281/zenodo.10955332",
        "MIDAS Open",
        "UK Power Networks",
        "Open Government Licence",
        "Apache License 2.0",
    ):
        assert needle in text


def test_total_size() -> None:
    total = sum(len(entry.read_bytes()) for entry in demo_dir().iterdir() if entry.is_file())
    assert total < MAX_BYTES
