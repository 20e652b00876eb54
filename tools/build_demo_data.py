"""Build the compact demo dataset shipped in ``src/portfolio/demo_data/``.

A developer tool, run once by hand when the demo world changes::

    .venv/bin/python tools/build_demo_data.py /path/to/sample-data-folder

The folder is the collection of real third-party samples (``commercial/``, ``lcl_smart_meters/``,
``eemeter_uk/``). Output is deterministic: no randomness, gzip with mtime 0, fixed site order, so
re-running it on the same input gives byte-identical files and a clean diff.

The app never runs this module: it only reads what it writes.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

OUT_DIR = Path(__file__).resolve().parent.parent / "src" / "portfolio" / "demo_data"
GZIP = {"method": "gzip", "mtime": 0, "compresslevel": 9}  # mtime 0: reproducible bytes

COMMERCIAL_FILE = "commercial_hourly.csv.gz"
LCL_FILE = "lcl_halfhourly.csv.gz"
WEATHER_FILES = {"bedford": "weather_bedford_hourly.csv.gz", "london": "weather_london_hourly.csv.gz"}

MPAN_PRIMES = (3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43)
DISTRIBUTOR_EASTERN = "10"
DISTRIBUTOR_LONDON = "12"


# --------------------------------------------------------------------------------------------
# The demo world: who owns what. Names are fictional; postcodes and coordinates are plausible
# approximations for the area, not real premises.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Org:
    key: str
    name: str
    account_number: str


@dataclass(frozen=True)
class Building:
    """A Cambridge estate building (upstream id ``bN``) dressed up as a customer site."""

    building_id: str
    org: str
    name: str
    postcode: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Shop:
    """An LCL household meter dressed up as a small-business half-hourly site (or a site with no data)."""

    lcl_id: str | None
    org: str
    name: str
    postcode: str
    latitude: float
    longitude: float


ORGS: tuple[Org, ...] = (
    Org("granta", "Granta Life Sciences Estates Ltd", "4100238815"),
    Org("fenedge", "Fen Edge Learning Trust", "4100512207"),
    Org("kettle", "Kettle & Crumb Cafés Ltd", "4100774431"),
    Org("northcote", "Northcote Pharmacy Group Ltd", "4100830962"),
    Org("riverside", "Riverside Print & Copy Ltd", "4100917350"),
)

# 14 buildings: big and small, clean and gappy (b13/b24/b61: simultaneous outages; b46: 222 h
# electricity gap), boilers that stop in summer (b35, b62: schools), high gas users (b77, b79).
BUILDINGS: tuple[Building, ...] = (
    Building("b2", "granta", "Babraham Road Research Centre", "CB2 0QH", 52.1752, 0.1402),
    Building("b5", "granta", "Hills Road Tower", "CB2 8PE", 52.1905, 0.1371),
    Building("b58", "granta", "Cherry Hinton Logistics Hall", "CB1 9YE", 52.1861, 0.1830),
    Building("b105", "granta", "Cowley Road Data Hall", "CB4 0DS", 52.2283, 0.1462),
    Building("b40", "granta", "Fulbourn Pilot Plant", "CB21 5DH", 52.1830, 0.2215),
    Building("b31", "granta", "Milton Road Laboratories", "CB4 1XA", 52.2240, 0.1380),
    Building("b77", "granta", "Newmarket Road Innovation Centre", "CB5 8HB", 52.2110, 0.1480),
    Building("b79", "granta", "Coldham's Lane Studios", "CB1 3HR", 52.2030, 0.1610),
    Building("b13", "fenedge", "Arbury Park Academy", "CB4 2JF", 52.2262, 0.1221),
    Building("b24", "fenedge", "Trumpington Meadows Academy", "CB2 9FR", 52.1750, 0.1080),
    Building("b35", "fenedge", "Fen Ditton Upper School", "CB5 8SX", 52.2210, 0.1670),
    Building("b46", "fenedge", "Mill Road Nursery", "CB1 3DF", 52.1990, 0.1390),
    Building("b61", "fenedge", "Girton Corner Sports Hall", "CB3 0LW", 52.2280, 0.0950),
    Building("b62", "fenedge", "Coton Footpath Primary", "CB3 9ET", 52.2080, 0.0790),
)

# 20 LCL households. Chosen for variety: MAC000016 ends 2013-01-16, MAC000050 ends 2013-04-17,
# MAC000028 ends 2013-10-07 (and has zeros), MAC000008 ends 2013-10-30, MAC000079 has a 2-day gap,
# MAC000009/026/029/030 have 5-6.5 h gaps. MAC000004 (reads 0 most of the year) is left out.
SHOPS: tuple[Shop, ...] = (
    Shop("MAC000002", "kettle", "Dalston café", "E8 2PB", 51.5462, -0.0752),
    Shop("MAC000003", "kettle", "Islington café", "N1 2XH", 51.5382, -0.1031),
    Shop("MAC000009", "kettle", "Stoke Newington café", "N16 0JL", 51.5621, -0.0741),
    Shop("MAC000016", "kettle", "Bethnal Green café (closed January)", "E2 9PL", 51.5271, -0.0551),
    Shop("MAC000010", "kettle", "Walthamstow café", "E17 7JN", 51.5831, -0.0201),
    Shop("MAC000021", "kettle", "Peckham café", "SE15 5BS", 51.4701, -0.0691),
    Shop("MAC000024", "kettle", "Brixton café", "SW9 8PS", 51.4621, -0.1151),
    Shop("MAC000079", "kettle", "Camden Lock café", "NW1 8AH", 51.5412, -0.1461),
    Shop("MAC000005", "northcote", "Clapham pharmacy", "SW4 7AA", 51.4622, -0.1382),
    Shop("MAC000007", "northcote", "Balham pharmacy", "SW12 9AE", 51.4432, -0.1522),
    Shop("MAC000011", "northcote", "Tooting pharmacy", "SW17 0RG", 51.4282, -0.1682),
    Shop("MAC000026", "northcote", "Shepherd's Bush pharmacy", "W12 8PP", 51.5042, -0.2242),
    Shop("MAC000050", "northcote", "Ealing pharmacy (sold April)", "W5 5JY", 51.5132, -0.3042),
    Shop("MAC000013", "northcote", "Kentish Town pharmacy", "NW5 2AA", 51.5502, -0.1412),
    Shop("MAC000029", "northcote", "Lewisham pharmacy", "SE13 7EP", 51.4622, -0.0112),
    Shop("MAC000018", "riverside", "Southwark print shop", "SE1 0NZ", 51.5033, -0.1003),
    Shop("MAC000022", "riverside", "Paddington print shop", "W2 1HB", 51.5163, -0.1763),
    Shop("MAC000028", "riverside", "Kilburn print shop (meter removed October)", "NW6 7HY", 51.5413, -0.1963),
    Shop("MAC000030", "riverside", "Whitechapel print shop", "E1 1BJ", 51.5173, -0.0653),
    Shop("MAC000008", "riverside", "Finsbury Park print shop", "N4 3EF", 51.5653, -0.1063),
    Shop(None, "riverside", "Canary Wharf print shop (new, awaiting first reading)", "E14 5AB", 51.5053, -0.0203),
)

WEATHER_LOCATIONS: tuple[dict[str, Any], ...] = (
    # Met Office MIDAS station Bedford (from the upstream station metadata json).
    {"name": "bedford", "latitude": 52.227, "longitude": -0.465, "file": WEATHER_FILES["bedford"]},
    # eemeter's UK temperature sample for LCL household MAC000002: central London.
    {"name": "london", "latitude": 51.507, "longitude": -0.128, "file": WEATHER_FILES["london"]},
)

USERS: tuple[dict[str, Any], ...] = (
    {
        "role": "customer",
        "email": "customer@demo.portfolio.example",
        "display_name": "Priya Raman (Granta Life Sciences)",
        "organisation": "granta",
        "organisations": [],
    },
    {
        "role": "customer",
        "email": "customer2@demo.portfolio.example",
        "display_name": "Tom Okafor (Kettle & Crumb)",
        "organisation": "kettle",
        "organisations": [],
    },
    {
        "role": "broker",
        "email": "broker@demo.portfolio.example",
        "display_name": "Helen Marsh (Marsh Energy Brokers)",
        "organisation": None,
        "organisations": ["fenedge", "northcote", "riverside"],
    },
    {
        "role": "account_manager",
        "email": "account.manager@demo.portfolio.example",
        "display_name": "Sam Whitfield",
        "organisation": None,
        "organisations": ["granta", "kettle"],
    },
    {
        "role": "admin",
        "email": "admin@demo.portfolio.example",
        "display_name": "Demo Administrator",
        "organisation": None,
        "organisations": [],
    },
)


# --------------------------------------------------------------------------------------------
# Meter identifiers
# --------------------------------------------------------------------------------------------


def mpan_check_digit(first12: str) -> int:
    """The 13th digit of an MPAN core: sum of digit × prime, mod 11, mod 10."""
    if len(first12) != 12 or not first12.isdigit():
        raise ValueError(f"need 12 digits, got {first12!r}")
    return sum(int(d) * p for d, p in zip(first12, MPAN_PRIMES, strict=False)) % 11 % 10


def mpan_core(distributor: str, serial: int) -> str:
    """A valid-looking 13-digit MPAN core: distributor id, 10-digit serial, check digit."""
    first12 = f"{distributor}{serial:010d}"
    return first12 + str(mpan_check_digit(first12))


def mprn(serial: int) -> str:
    """A 10-digit gas meter point reference number (no check-digit rule enforced by the app)."""
    return f"{7_400_000_000 + serial:010d}"


# --------------------------------------------------------------------------------------------
# Series
# --------------------------------------------------------------------------------------------


@dataclass
class CommercialStats:
    power_gaps: int
    gas_gaps: int
    gas_zeros_kept: int


def build_commercial(source: Path) -> tuple[pd.DataFrame, CommercialStats]:
    """Wide hourly table of the chosen buildings, with upstream zero-fills turned back into gaps.

    Rule (upstream replaces missing readings with 0, so a 0 can mean "no data" or "no use"):
    - electricity: every exact-zero hour is a gap. A whole building never draws 0 kWh in an hour
      (lighting, IT, plant), so a zero is the monitoring system's fill.
    - gas: a zero hour is a gap when the same building's electricity is 0 at that hour too (the
      monitoring outage hit both meters); otherwise it is kept as a real zero (boiler off, e.g. summer).
    Values clipped upstream at 10 × mean are left as they are.
    """
    base = source / "commercial" / "building_data" / "processed_data"
    columns: dict[str, pd.Series] = {}
    timestamps: pd.Series | None = None
    power_gaps = gas_gaps = gas_zeros_kept = 0
    for b in BUILDINGS:
        folder = base / f"UCam_Building_{b.building_id}"
        power = pd.read_csv(folder / "electricity" / "2019.csv.gz", dtype={"datetime": str})
        gas = pd.read_csv(folder / "gas" / "2019.csv.gz", dtype={"datetime": str})
        if timestamps is None:
            timestamps = power["datetime"]
        for frame in (power, gas):
            if not frame["datetime"].equals(timestamps):
                raise SystemExit(f"{b.building_id}: timestamps differ from the first building")
        p = power["equipment load [kWh]"].astype(float)
        g = gas["heating load [kWh]"].astype(float)
        power_zero = p.eq(0) | p.isna()
        gas_gap = g.eq(0) & power_zero
        power_gaps += int(power_zero.sum())
        gas_gaps += int(gas_gap.sum())
        gas_zeros_kept += int((g.eq(0) & ~power_zero).sum())
        columns[f"{b.building_id}-power"] = p.mask(power_zero)
        columns[f"{b.building_id}-gas"] = g.mask(gas_gap)
    assert timestamps is not None
    wide = pd.DataFrame({"timestamp": timestamps, **columns})
    return wide, CommercialStats(power_gaps, gas_gaps, gas_zeros_kept)


def build_lcl(source: Path) -> pd.DataFrame:
    """Wide half-hourly table of the chosen LCL households on a full 2013 UTC grid.

    Missing intervals stay empty (never zero-filled). Duplicate timestamps (the LCL midnight
    artefact) keep the first reading. float32 artefacts such as 1.0779999 round back to 3 decimals.
    """
    raw = pd.read_csv(
        source / "lcl_smart_meters" / "lcl_halfhourly_2013_31households.csv.gz",
        skipinitialspace=True,
        dtype={"LCLid": str, "tstp": str, "energy(kWh/hh)": str},
    )
    raw.columns = ["lcl_id", "timestamp", "kwh"]
    wanted = [s.lcl_id for s in SHOPS if s.lcl_id is not None]
    raw = raw[raw["lcl_id"].isin(wanted)].copy()
    missing = sorted(set(wanted) - set(raw["lcl_id"]))
    if missing:
        raise SystemExit(f"households not found in the LCL file: {missing}")
    raw["kwh"] = pd.to_numeric(raw["kwh"].str.strip(), errors="coerce").round(3)  # "Null" -> gap
    raw["timestamp"] = pd.to_datetime(raw["timestamp"].str.strip(), format="%Y-%m-%d %H:%M:%S")
    raw = raw.drop_duplicates(["lcl_id", "timestamp"], keep="first")
    wide = raw.pivot(index="timestamp", columns="lcl_id", values="kwh")
    grid = pd.date_range("2013-01-01 00:00", "2013-12-31 23:30", freq="30min", name="timestamp")
    wide = wide.reindex(grid)[wanted]
    wide.columns.name = None
    wide.index = wide.index.strftime("%Y-%m-%d %H:%M:%S")
    return wide.reset_index()


def build_weather(source: Path) -> dict[str, pd.DataFrame]:
    """Hourly air temperature per weather location, naive UTC timestamps."""
    bedford = pd.read_csv(
        source / "commercial" / "aux_data" / "MetOffice Weather Data" / "processed_data" / "bedford" / "2019.csv.gz",
        dtype={"datetime": str},
    )
    london = pd.read_csv(source / "eemeter_uk" / "uk-tempC-sample-1_2.csv.gz", index_col=0, dtype={"dt": str})
    return {
        "bedford": pd.DataFrame(
            {"timestamp": bedford["datetime"], "air_temperature_c": bedford["air_temperature [degC]"].round(1)}
        ),
        "london": pd.DataFrame({"timestamp": london["dt"], "air_temperature_c": london["tempC"].round(2)}),
    }


# --------------------------------------------------------------------------------------------
# demo.json
# --------------------------------------------------------------------------------------------


def profile_class(series: pd.Series) -> str:
    """Non-domestic maximum-demand profile class 05-08 from the load factor (mean / peak)."""
    clean = series.dropna()
    load_factor = float(clean.mean() / clean.max())
    if load_factor <= 0.20:
        return "05"
    if load_factor <= 0.30:
        return "06"
    if load_factor <= 0.40:
        return "07"
    return "08"


def build_world(commercial: pd.DataFrame) -> dict[str, Any]:
    """The demo world as plain JSON: organisations, weather locations, sites, users (no passwords)."""
    accounts = {o.key: o.account_number for o in ORGS}
    sites: list[dict[str, Any]] = []
    power_serial = gas_serial = 0

    def next_mpan(distributor: str) -> str:
        nonlocal power_serial
        power_serial += 1
        return mpan_core(distributor, 3_000_050_000 + power_serial * 104_729)

    def next_mprn() -> str:
        nonlocal gas_serial
        gas_serial += 1
        return mprn(gas_serial * 31_337)

    for b in BUILDINGS:
        common = {
            "organisation": accounts[b.org],
            "postcode": b.postcode,
            "latitude": b.latitude,
            "longitude": b.longitude,
            "time_zone": "Europe/London",
            "meter_type": "amr",
            "weather_location": "bedford",
            "source": "commercial",
        }
        power_key = f"{b.building_id}-power"
        gas_key = f"{b.building_id}-gas"
        sites.append(
            {
                "key": power_key,
                "name": f"{b.name} (electricity)",
                **common,
                "fuel": "power",
                "profile_class": profile_class(commercial[power_key]),
                "identifier": next_mpan(DISTRIBUTOR_EASTERN),
                "identifier_kind": "mpan",
                "series": power_key,
            }
        )
        sites.append(
            {
                "key": gas_key,
                "name": f"{b.name} (gas)",
                **common,
                "fuel": "gas",
                "profile_class": None,
                "identifier": next_mprn(),
                "identifier_kind": "mprn",
                "series": gas_key,
            }
        )
    for s in SHOPS:
        sites.append(
            {
                "key": f"{s.lcl_id.lower()}-power" if s.lcl_id else "new-canary-wharf-power",
                "name": s.name,
                "organisation": accounts[s.org],
                "postcode": s.postcode,
                "latitude": s.latitude,
                "longitude": s.longitude,
                "time_zone": "Europe/London",
                "fuel": "power",
                "meter_type": "smart",
                "profile_class": "03",  # non-domestic unrestricted
                "identifier": next_mpan(DISTRIBUTOR_LONDON),
                "identifier_kind": "mpan",
                "weather_location": "london",
                "series": s.lcl_id,
                "source": "lcl" if s.lcl_id else None,
            }
        )
    identifiers = [s["identifier"] for s in sites]
    if len(set(identifiers)) != len(identifiers):
        raise SystemExit("duplicate meter identifiers")
    return {
        "version": 1,
        "sources": {
            "commercial": {
                "file": COMMERCIAL_FILE,
                "interval_seconds": 3600,
                "source_year": 2019,
                "timestamp_basis": "source naive text, documented as UTC upstream (looks like local clock "
                "regularised to 8760 hours); interval start",
            },
            "lcl": {
                "file": LCL_FILE,
                "interval_seconds": 1800,
                "source_year": 2013,
                "timestamp_basis": "naive UTC; interval start",
            },
        },
        "weather_locations": [dict(w, timestamp_basis="naive UTC; start of hour") for w in WEATHER_LOCATIONS],
        "organisations": [{"key": o.key, "name": o.name, "account_number": o.account_number} for o in ORGS],
        "sites": sites,
        "users": [
            {
                **u,
                "organisation": accounts[u["organisation"]] if u["organisation"] else None,
                "organisations": [accounts[k] for k in u["organisations"]],
            }
            for u in USERS
        ],
    }


# --------------------------------------------------------------------------------------------
# Attribution
# --------------------------------------------------------------------------------------------


def attribution(stats: CommercialStats, mit_text: str) -> str:
    """ATTRIBUTION.md: sources, licences, required notices and every transformation made."""
    buildings = " ".join(b.building_id for b in BUILDINGS)
    households = " ".join(s.lcl_id for s in SHOPS if s.lcl_id)
    return f"""# Demo data: sources, licences and transformations

The demo dataset is real, third-party metered data, re-dressed as a fictional customer portfolio.
Organisation names, site names, postcodes, coordinates, MPANs, MPRNs, account numbers and users
in `demo.json` are invented (MPANs carry a valid check digit, distributor 10 Eastern / 12 London);
they do not describe the real premises the data came from.

Built by `tools/build_demo_data.py` (deterministic: re-running it on the same input gives the same bytes).

## `commercial_hourly.csv.gz`: Cambridge University Estates buildings (MIT)

- Source: Cambridge University Estates building energy usage archive, version 2.1,
  https://github.com/EECi/Cambridge-Estates-Building-Energy-Archive, commit 97b8a6b79a66296f54bf4f0c74c23b7d6b541bae,
  files `building_data/processed_data/UCam_Building_bN/{{electricity,gas}}/2019.csv`.
- Citation requested by the authors: Langtry, M. and Choudhary, R. (2024). *Cambridge University Estates
  building energy usage archive*, version 2.1. doi:10.5281/zenodo.10955332.
- Licence: MIT (notice below). The Cambridge University Estates division made the data publicly accessible.
- Selection: 2019, 14 buildings ({buildings}); electricity `equipment load [kWh]` → column `bN-power`,
  gas `heating load [kWh]` → column `bN-gas`. Hourly, kWh per hour, 1 decimal (source precision).
  `timestamp` is the source's naive text unchanged (start of hour; documented as UTC upstream).
- Zero → gap rule. Upstream replaced missing readings with 0, so a 0 means "no data" or "no use":
  - electricity: every exact-zero hour is written as an empty cell (a whole building never uses
    0 kWh of electricity in an hour) — {stats.power_gaps} hours;
  - gas: a zero hour is written as an empty cell when the same building's electricity is also zero
    at that hour (a monitoring outage hitting both meters) — {stats.gas_gaps} hours; the other
    {stats.gas_zeros_kept} gas zero hours are kept as real zeros (boiler off).
- Upstream clipped values at 10 × mean; those clip levels are left as they are.

```
{mit_text.strip()}
```

## `lcl_halfhourly.csv.gz`: Low Carbon London smart meters (OGL)

- Source: "SmartMeter Energy Consumption Data in London Households", UK Power Networks Low Carbon London
  project, published on the London Datastore under the Open Government Licence v3.0
  (https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/), via the per-household
  files of github.com/Ryanhilde/meter_readings @e6f8f9e (Kaggle "Smart meters in London" format).
- Attribution: Contains data from UK Power Networks' Low Carbon London project, London Datastore,
  licensed under the Open Government Licence v3.0.
- Selection: calendar year 2013, 20 households ({households}); one column per household (LCLid).
- Transformations: raw text values stripped of spaces and rounded to 3 decimals (undoing float32
  artefacts such as `1.0779999`); duplicate timestamps per household keep the first reading;
  rows put on a full half-hourly 2013 grid where a missing interval is an empty cell (never zero).
  `timestamp` is naive UTC (interval start), as in the source. Households used as small-business
  half-hourly sites in the demo.

## `weather_bedford_hourly.csv.gz`: Met Office MIDAS Open, Bedford (OGL)

- Source: the Cambridge archive's pre-processed `aux_data/MetOffice Weather Data/processed_data/bedford/2019.csv`
  (MIT as above), derived from Met Office MIDAS Open hourly observations, station Bedford (52.227, -0.465).
- Attribution: Met Office. MIDAS Open: UK hourly weather observation data, v202207. NERC EDS Centre for
  Environmental Data Analysis. Contains public sector information licensed under the Open Government Licence v3.0.
- Selection: column `air_temperature [degC]` → `air_temperature_c`, 1 decimal; `timestamp` naive UTC.

## `weather_london_hourly.csv.gz`: eemeter UK temperature sample (Apache-2.0)

- Source: `eemeter/samples/uk-tempC-sample-1_2.csv.gz` in the PyPI package eemeter 4.1.1
  (openeemeter/eemeter, commit a7b89ad2, Carbon Co-op), licensed under the Apache License 2.0
  (https://www.apache.org/licenses/LICENSE-2.0). Copyright the OpenEEmeter contributors.
- Selection: column `tempC` → `air_temperature_c`, rounded to 2 decimals; leading index column dropped;
  `timestamp` naive UTC, hourly 2012-10-12 .. 2014-01-25.

## At load time

The app shifts every timestamp by a whole number of weeks (keeping weekday patterns) so each source's
data ends yesterday; data after the chosen cut day is dropped, and up to 7 days of weather after the
cut day become the demo "forecast" (see `portfolio.services.demo`). Values are not changed.
"""


# --------------------------------------------------------------------------------------------


def write_csv(frame: pd.DataFrame, path: Path, float_format: str | None) -> None:
    """Empty cells for gaps, LF line endings, reproducible gzip."""
    frame.to_csv(path, index=False, float_format=float_format, na_rep="", lineterminator="\n", compression=GZIP)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder with commercial/, lcl_smart_meters/ and eemeter_uk/")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help=f"output folder (default {OUT_DIR})")
    args = parser.parse_args(argv)
    source: Path = args.source
    out: Path = args.out
    for sub in ("commercial", "lcl_smart_meters", "eemeter_uk"):
        if not (source / sub).is_dir():
            parser.error(f"{source / sub} not found")
    out.mkdir(parents=True, exist_ok=True)

    commercial, stats = build_commercial(source)
    write_csv(commercial, out / COMMERCIAL_FILE, "%.1f")
    lcl = build_lcl(source)
    write_csv(lcl, out / LCL_FILE, "%.3f")
    for name, frame in build_weather(source).items():
        write_csv(frame, out / WEATHER_FILES[name], None)
    world = build_world(commercial)
    (out / "demo.json").write_text(json.dumps(world, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    mit_text = (source / "commercial" / "LICENSE-MIT.txt").read_text(encoding="utf-8")
    (out / "ATTRIBUTION.md").write_text(attribution(stats, mit_text), encoding="utf-8")

    total = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    for p in sorted(out.iterdir()):
        if p.is_file():
            print(f"{p.stat().st_size:>10,}  {p.name}")
    print(f"{total:>10,}  total")
    print(
        f"commercial gaps from zero fills: power {stats.power_gaps} h, gas {stats.gas_gaps} h; "
        f"gas zeros kept {stats.gas_zeros_kept} h"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
