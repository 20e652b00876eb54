"""Green Button (NAESB ESPI) XML: an Atom feed whose entries hold UsagePoints, MeterReadings and IntervalBlocks.

Entries are linked the way the published samples do it: an entry's ``related`` hrefs name either another entry's
``self`` href (the "direct" shape) or the collection in its ``up`` href (the "containerized" shape). Elements are
matched by namespace, never by prefix. Time is UTC epoch seconds throughout, so clock changes need no handling here.

Decisions, kept deliberately simple:

* A ReadingType without ``uom`` is refused: the NGMA provider sample has none, its values (12000...210000 per month,
  costs 28...370 dollars) fit neither Wh nor therm at multiplier 0, so any guess would be wrong by a factor of 1000.
* IntervalReadings of one MeterReading that share a start but differ in value are refused (the NGMA provider sample
  stamps all 36 monthly readings with the feed's own generation time, 1721154384.66136).
* Fractional starts are rounded to whole seconds.
* LocalTimeParameters map to an IANA zone only when unambiguous: a known North-American standard offset with DST
  rules, UTC with DST rules (Europe/London), or a whole-hour offset without DST (``Etc/GMT±N``); anything else
  (such as the NGMA sample's +18000 with North-American DST, a sign error) gives no zone and the loader decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
from lxml import etree

from portfolio.identifiers import is_plausible_mprn, is_valid_mpan_core
from portfolio.ingest.records import READING_COLUMNS, ImportFormatError, MeterSeries, ParsedFile
from portfolio.ingest.text import quote
from portfolio.ingest.units import GAS_ONLY_UNITS, MAX_AVERAGE_POWER_KW, to_kwh

_Item = TypeVar("_Item")

ATOM = "http://www.w3.org/2005/Atom"
ESPI = "http://naesb.org/espi"
FORMAT = "espi-xml"

UNIT_BY_UOM = {72: "Wh", 169: "therm", 42: "m3", 166: "m3", 167: "m3", 119: "ft3", 132: "btu"}
"""ESPI UnitSymbolKind codes of energy or gas volume that can be converted to kWh."""

ESTIMATED_QUALITY_CODES = frozenset({8, 9, 12})
"""QualityOfReading: estimated using reference day, estimated using linear interpolation, projected (forecast)."""

FUEL_BY_SERVICE_KIND = {0: "power", 1: "gas"}
FUEL_BY_COMMODITY = {1: "power", 2: "power", 3: "power", 7: "gas"}
DIRECTION_BY_FLOW = {1: "import", 19: "export"}

NORTH_AMERICAN_ZONES = {
    -18000: "America/New_York",
    -21600: "America/Chicago",
    -25200: "America/Denver",
    -28800: "America/Los_Angeles",
}

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_comments=True)


@dataclass
class _Entry:
    """One Atom entry with the links that tie it to others."""

    number: int
    kind: str
    resources: list[etree._Element]
    self_href: str | None
    up_href: str | None
    related: list[str]
    atom_id: str | None
    title: str | None
    hrefs: list[str] = field(default_factory=list)


def parse_espi(path: Path, data: bytes, *, fuel: str | None = None) -> ParsedFile:
    """Turn a Green Button feed into one series per UsagePoint and MeterReading; the file stays the only truth."""
    try:
        return _parse_espi(path, data, fuel=fuel)
    except ImportFormatError as error:
        if error.path:
            raise
        raise ImportFormatError(str(path), error.problem, error.where) from None


def _parse_espi(path: Path, data: bytes, *, fuel: str | None = None) -> ParsedFile:
    root = _parse_xml(path, data)
    entries = _entries(path, root)
    if not entries:
        raise ImportFormatError(str(path), "no Atom entries with ESPI content found", f"element {root.tag}")
    by_href: dict[str, list[_Entry]] = {}
    for entry in entries:
        for href in {entry.self_href, entry.up_href}:
            if href is not None:
                by_href.setdefault(href, []).append(entry)

    usage_points = [e for e in entries if e.kind == "UsagePoint"]
    meters: list[MeterSeries] = []
    for usage_point in usage_points:
        readings = _linked(usage_point, "MeterReading", by_href, entries, single_owner=len(usage_points) == 1)
        time_zone = _time_zone(_first(_linked(usage_point, "LocalTimeParameters", by_href, entries, single_owner=True)))
        maybe_built = [
            (_meter_reading(path, usage_point, mr, by_href, entries, fuel, time_zone), mr) for mr in readings
        ]
        built = [(series, mr) for series, mr in maybe_built if series is not None]
        meters.extend(_renamed(series, mr) if len(built) > 1 else series for series, mr in built)
    if not meters:
        raise ImportFormatError(str(path), "no UsagePoint with IntervalBlock readings found in the feed")
    return ParsedFile(path=str(path), format=FORMAT, meters=tuple(meters))


def _parse_xml(path: Path, data: bytes) -> etree._Element:
    """Parse strictly so a truncated download is reported with its line rather than half-imported."""
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as error:
        line = getattr(error, "lineno", None) or (error.position[0] if error.position else None)
        raise ImportFormatError(
            str(path), f"XML is not well-formed: {error.msg}", f"line {line}" if line else None
        ) from error


def _entries(path: Path, root: etree._Element) -> list[_Entry]:
    """Index every Atom entry by its ESPI resource type and links."""
    if root.tag == f"{{{ATOM}}}entry":
        raw_entries = [root]
    elif root.tag == f"{{{ATOM}}}feed":
        raw_entries = root.findall(f"{{{ATOM}}}entry")
    else:
        raise ImportFormatError(str(path), "not an Atom feed of ESPI data", f"element {root.tag}")
    entries = []
    for number, raw in enumerate(raw_entries, start=1):
        content = raw.find(f"{{{ATOM}}}content")
        resources = [child for child in (content if content is not None else []) if _is_espi(child)]
        if not resources:
            continue
        links = raw.findall(f"{{{ATOM}}}link")
        hrefs = {
            rel: [(link.get("href") or "").strip() for link in links if link.get("rel") == rel]
            for rel in ("self", "up", "related")
        }
        entries.append(
            _Entry(
                number=number,
                kind=etree.QName(resources[0]).localname,
                resources=resources,
                self_href=_first(hrefs["self"]),
                up_href=_first(hrefs["up"]),
                related=hrefs["related"],
                atom_id=_text(raw.find(f"{{{ATOM}}}id")),
                title=_text(raw.find(f"{{{ATOM}}}title")),
            )
        )
    return entries


def _is_espi(element: etree._Element) -> bool:
    return isinstance(element.tag, str) and element.tag.startswith(f"{{{ESPI}}}")


def _linked(
    owner: _Entry, kind: str, by_href: dict[str, list[_Entry]], entries: list[_Entry], *, single_owner: bool
) -> list[_Entry]:
    """Follow related links; fall back on href nesting, then on the only candidate when the feed has one owner."""
    found: list[_Entry] = []
    for href in owner.related:
        for entry in by_href.get(href, []):
            if entry.kind == kind and entry not in found:
                found.append(entry)
    if found:
        return found
    candidates = [e for e in entries if e.kind == kind]
    if owner.self_href:
        nested = [e for e in candidates if (e.self_href or "").startswith(owner.self_href.rstrip("/") + "/")]
        if nested:
            return nested
    return candidates if single_owner else []


def _meter_reading(
    path: Path,
    usage_point: _Entry,
    meter_reading: _Entry,
    by_href: dict[str, list[_Entry]],
    entries: list[_Entry],
    fuel: str | None,
    time_zone: str | None,
) -> MeterSeries | None:
    """Build one series from a MeterReading's blocks, converted to kWh with its ReadingType."""
    single_reading = sum(e.kind == "MeterReading" for e in entries) == 1
    blocks = _linked(meter_reading, "IntervalBlock", by_href, entries, single_owner=single_reading)
    if not blocks:
        return None
    reading_type = _first(_linked(meter_reading, "ReadingType", by_href, entries, single_owner=single_reading))
    frame = _interval_readings(path, blocks, _int(_child(reading_type, "intervalLength")))
    if frame.empty:
        return None
    unit, multiplier, direction, commodity = _reading_type(path, reading_type)
    resolved_fuel = fuel or _fuel(path, usage_point, commodity, unit)
    original = frame["value"].to_numpy(dtype="float64") * 10.0**multiplier
    energy_kwh = to_kwh(original, unit)
    if (energy_kwh < 0).any():
        bad = int(np.flatnonzero(energy_kwh < 0)[0])
        raise ImportFormatError(str(path), f"negative energy {original[bad]:g} {unit}", frame["where"].iloc[bad])
    limit = MAX_AVERAGE_POWER_KW * frame["interval_seconds"].to_numpy(dtype="float64") / 3600.0
    if (energy_kwh > limit).any():
        bad = int(np.flatnonzero(energy_kwh > limit)[0])
        raise ImportFormatError(
            str(path),
            f"energy {energy_kwh[bad]:g} kWh in {int(frame['interval_seconds'].iloc[bad])} s is not plausible "
            f"(more than {MAX_AVERAGE_POWER_KW:g} kW on average; value {original[bad]:g} {unit})",
            frame["where"].iloc[bad],
        )
    if resolved_fuel == "power" and unit in GAS_ONLY_UNITS:
        raise ImportFormatError(
            str(path),
            f"unit {unit} is a gas unit but the UsagePoint is electricity",
            f"entry {reading_type.number if reading_type else '?'}, element {{{ESPI}}}ReadingType/{{{ESPI}}}uom",
        )
    readings = pd.DataFrame(
        {
            "start_ts": frame["start_ts"].to_numpy(dtype="int64"),
            "interval_seconds": frame["interval_seconds"].to_numpy(dtype="int64"),
            "energy_kwh": energy_kwh,
            "estimated": frame["estimated"].to_numpy(dtype=bool),
            "original_value": original,
            "original_unit": pd.Series([unit] * len(frame), dtype=object),
        },
        columns=list(READING_COLUMNS),
    )
    interval_data = bool((readings["interval_seconds"] <= 3600).all())
    identifier, aliases = _usage_point_ids(usage_point)
    return MeterSeries(
        identifier=identifier,
        aliases=aliases,
        identifier_kind="espi",
        fuel=resolved_fuel,
        readings=readings,
        time_zone=time_zone,
        direction=direction,
        meter_type="smart" if interval_data else None,
        name=usage_point.title or None,
    )


def _usage_point_ids(usage_point: _Entry) -> tuple[str, tuple[str, ...]]:
    """Key a UsagePoint on its mRID (the entry's ``urn:uuid`` id), stable across installations and exports.

    Hrefs hold installation-local ids, so they are only aliases, with the MPAN/MPRN of the serviceDeliveryPoint:
    a meter first imported under either is still found.
    """
    mrid = usage_point.atom_id if usage_point.atom_id and usage_point.atom_id.lower().startswith("urn:uuid:") else None
    point = usage_point.resources[0].find(f"{{{ESPI}}}serviceDeliveryPoint/{{{ESPI}}}name")
    delivery = _text(point)
    aliases = []
    if delivery:
        digits = delivery.replace(" ", "")
        if is_valid_mpan_core(digits) or is_plausible_mprn(digits):
            aliases.append(digits)
    if usage_point.self_href:
        aliases.append(usage_point.self_href)
    identifier = mrid or usage_point.self_href or f"entry {usage_point.number}"
    return identifier, tuple(a for a in aliases if a != identifier)


def _interval_readings(path: Path, blocks: list[_Entry], default_seconds: int | None) -> pd.DataFrame:
    """Collect every IntervalReading, rounding fractional starts, refusing conflicting repeats."""
    rows: list[tuple[int, int, float, bool, str]] = []
    block_number = 0
    for entry in blocks:
        for block in entry.resources:
            if etree.QName(block).localname != "IntervalBlock":
                continue
            block_number += 1
            for reading_number, reading in enumerate(block.iter(f"{{{ESPI}}}IntervalReading"), start=1):
                where = f"IntervalBlock {block_number} / IntervalReading {reading_number} (line {reading.sourceline})"
                rows.append(_interval_reading(path, reading, default_seconds, where))
    frame = pd.DataFrame(rows, columns=["start_ts", "interval_seconds", "value", "estimated", "where"])
    frame = frame.sort_values("start_ts", kind="stable")
    repeated = frame[frame.duplicated("start_ts", keep=False)]
    conflicting = repeated.groupby("start_ts")["value"].nunique()
    if (conflicting > 1).any():
        start_ts = int(conflicting[conflicting > 1].index[0])
        clash = repeated[repeated["start_ts"] == start_ts]
        stamp = pd.Timestamp(start_ts, unit="s", tz="UTC").isoformat()
        raise ImportFormatError(
            str(path),
            f"{len(clash)} IntervalReadings start at the same time {start_ts} ({stamp}) with different values",
            clash["where"].iloc[1],
        )
    return frame.drop_duplicates("start_ts").reset_index(drop=True)


def _interval_reading(
    path: Path, reading: etree._Element, default_seconds: int | None, where: str
) -> tuple[int, int, float, bool, str]:
    """Read one IntervalReading's start, duration, value and quality."""
    period = reading.find(f"{{{ESPI}}}timePeriod")
    start_text = _text(period.find(f"{{{ESPI}}}start")) if period is not None else None
    duration_text = _text(period.find(f"{{{ESPI}}}duration")) if period is not None else None
    value_text = _text(reading.find(f"{{{ESPI}}}value"))
    try:
        start_ts = round(float(start_text)) if start_text is not None else None
        duration = int(duration_text) if duration_text is not None else default_seconds
        value = float(value_text) if value_text is not None else None
    except (ValueError, OverflowError):
        bad = next(
            (t for t in (start_text, duration_text, value_text) if t is not None and not _is_number(t)), value_text
        )
        raise ImportFormatError(str(path), f"not a number: {quote(bad)}", where) from None
    if start_ts is None or value is None or duration is None:
        missing = "timePeriod/start" if start_ts is None else "value" if value is None else "timePeriod/duration"
        raise ImportFormatError(str(path), f"IntervalReading has no {missing}", where)
    if duration <= 0:
        raise ImportFormatError(str(path), f"IntervalReading duration {duration} s is not positive", where)
    if not np.isfinite(value):
        raise ImportFormatError(str(path), f"IntervalReading value {value_text!r} is not finite", where)
    qualities = {_int(q) for q in reading.iterfind(f"{{{ESPI}}}ReadingQuality/{{{ESPI}}}quality")}
    return start_ts, duration, value, bool(qualities & ESTIMATED_QUALITY_CODES), where


def _reading_type(path: Path, reading_type: _Entry | None) -> tuple[str, int, str, int | None]:
    """Unit, power-of-ten multiplier, direction and commodity a MeterReading's values are in."""
    where = (
        f"entry {reading_type.number}, element {{{ESPI}}}ReadingType"
        if reading_type
        else f"element {{{ESPI}}}ReadingType"
    )
    if reading_type is None:
        raise ImportFormatError(
            str(path), "MeterReading has no ReadingType, so the unit of its values is unknown", where
        )
    uom = _int(_child(reading_type, "uom"))
    if uom is None:
        raise ImportFormatError(
            str(path),
            f"ReadingType {reading_type.self_href or ''} has no uom: the unit of its values is unknown",
            where,
        )
    if uom not in UNIT_BY_UOM:
        raise ImportFormatError(
            str(path), f"unknown unit of measure code {uom} in ReadingType {reading_type.self_href or ''}", where
        )
    flow = _int(_child(reading_type, "flowDirection"))
    if flow is not None and flow not in DIRECTION_BY_FLOW:
        raise ImportFormatError(
            str(path), f"flowDirection {flow} is not supported (only 1 forward and 19 reverse)", where
        )
    multiplier_text = _child(reading_type, "powerOfTenMultiplier")
    try:
        multiplier = int(multiplier_text) if multiplier_text is not None else 0
    except ValueError:
        raise ImportFormatError(
            str(path),
            f"powerOfTenMultiplier {quote(multiplier_text)} is not a whole number",
            f"{where}/{{{ESPI}}}powerOfTenMultiplier",
        ) from None
    if not -12 <= multiplier <= 12:
        raise ImportFormatError(
            str(path),
            f"powerOfTenMultiplier {multiplier} is outside -12..12",
            f"{where}/{{{ESPI}}}powerOfTenMultiplier",
        )
    return UNIT_BY_UOM[uom], multiplier, DIRECTION_BY_FLOW[flow or 1], _int(_child(reading_type, "commodity"))


def _fuel(path: Path, usage_point: _Entry, commodity: int | None, unit: str) -> str:
    """Say power or gas from ServiceCategory, else commodity, else a gas-only unit."""
    kind = _int(usage_point.resources[0].find(f"{{{ESPI}}}ServiceCategory/{{{ESPI}}}kind"))
    if kind is not None:
        if kind not in FUEL_BY_SERVICE_KIND:
            raise ImportFormatError(
                str(path),
                f"ServiceCategory kind {kind} is not electricity (0) or gas (1)",
                f"entry {usage_point.number}, element {{{ESPI}}}UsagePoint",
            )
        return FUEL_BY_SERVICE_KIND[kind]
    if commodity in FUEL_BY_COMMODITY:
        return FUEL_BY_COMMODITY[commodity]
    if unit in GAS_ONLY_UNITS:
        return "gas"
    if unit == "Wh":
        return "power"
    raise ImportFormatError(
        str(path),
        "cannot tell whether this UsagePoint is electricity or gas: pass --fuel",
        f"entry {usage_point.number}",
    )


def _time_zone(parameters: _Entry | None) -> str | None:
    """Name the IANA zone LocalTimeParameters most plausibly mean, or None when unclear."""
    if parameters is None:
        return None
    offset_seconds = _int(_child(parameters, "tzOffset"))
    dst_seconds = _int(_child(parameters, "dstOffset")) or 0
    has_dst = dst_seconds != 0 and _child(parameters, "dstStartRule") is not None
    if offset_seconds is None:
        return None
    if has_dst:
        return NORTH_AMERICAN_ZONES.get(offset_seconds) or ("Europe/London" if offset_seconds == 0 else None)
    if offset_seconds % 3600:
        return None
    hours = offset_seconds // 3600
    return "UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"  # Etc/GMT+5 is five hours *behind* UTC


def _renamed(series: MeterSeries, meter_reading: _Entry) -> MeterSeries:
    """Give each of several MeterReadings of one UsagePoint its own identifier, since their readings overlap."""
    mrid = meter_reading.atom_id if (meter_reading.atom_id or "").lower().startswith("urn:uuid:") else None
    identifier = mrid or meter_reading.self_href or f"{series.identifier}#entry{meter_reading.number}"
    name = " / ".join(part for part in (series.name, meter_reading.title) if part) or None
    return MeterSeries(
        identifier=identifier,
        identifier_kind=series.identifier_kind,
        fuel=series.fuel,
        readings=series.readings,
        time_zone=series.time_zone,
        direction=series.direction,
        meter_type=series.meter_type,
        name=name,
        aliases=(meter_reading.self_href,) if meter_reading.self_href and meter_reading.self_href != identifier else (),
    )


def _child(entry: _Entry | None, name: str) -> str | None:
    """Text of a direct ESPI child of the entry's resource."""
    if entry is None:
        return None
    return _text(entry.resources[0].find(f"{{{ESPI}}}{name}"))


def _text(element: etree._Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip() or None


def _int(value: str | etree._Element | None) -> int | None:
    if isinstance(value, etree._Element):
        value = _text(value)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        try:
            return int(round(float(value)))
        except (ValueError, OverflowError):
            raise ImportFormatError("", f"{quote(value)} is not a number") from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _first(items: list[_Item]) -> _Item | None:
    return items[0] if items else None
