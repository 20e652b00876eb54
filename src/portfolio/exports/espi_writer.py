"""Write interval readings as a Green Button "Download My Data" feed (NAESB ESPI Atom XML), streamed.

Per site the feed holds a UsagePoint (ServiceCategory kind 0 electricity, 1 gas; the MPAN/MPRN as its
serviceDeliveryPoint name; the site name as entry title), one MeterReading, its ReadingType, and one IntervalBlock
entry per *local* day (the block's interval is that day: 82,800, 86,400 or 90,000 s in the UK). One
LocalTimeParameters entry per time zone is shared by the sites in it. Links follow the "direct" shape of the Green
Button samples (related hrefs name another entry's self or up href), which ``portfolio.ingest.espi`` reads back.

Decisions:

* Units: ``uom`` 72 (Wh) with ``powerOfTenMultiplier`` -3, so values are integer mWh. ESPI values are integers
  (Int48); mWh keeps 6 decimals of kWh (exact for any reading stored to 6 dp, otherwise within 5e-7 kWh) and
  reaches 1.4e8 kWh per interval. Plain Wh (multiplier 0) would round 0.2345 kWh to 0.235.
* Estimated readings carry ReadingQuality 8 (machine-computed from history: the UK "estimated"); actual readings
  carry none.
* DST rules are derived from the zone's transitions in the year the range starts and encoded per ESPI DstRuleType,
  with the wall-clock time before the change, as the North-American samples do (360E2000: second Sunday of March
  02:00). Europe/London: tzOffset 0, dstOffset 3600, start 3E0E1000 (last Sunday of March 01:00), end AE0E2000
  (last Sunday of October 02:00). A zone without DST gets dstOffset 0 and rules FFFFFFFF (disabled).
* Only interval data is offered as ESPI; daily and portfolio shapes are refused by the dispatcher.

XML is produced with lxml's incremental writer: entries are built one at a time and flushed, so memory holds one
local day of one site at most (plus the current input chunk).
"""

from __future__ import annotations

import calendar
import datetime as dt
import io
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from lxml import etree

from portfolio.exports.errors import ExportError
from portfolio.exports.meta import ExportMeta
from portfolio.exports.shapes import iter_whole_groups, with_local_date

ATOM = "http://www.w3.org/2005/Atom"
ESPI = "http://naesb.org/espi"
UOM_WH = 72
POWER_OF_TEN_MULTIPLIER = -3
VALUE_PER_KWH = 1_000_000  # kWh -> mWh
INT48_MAX = 2**47 - 1
ESTIMATED_QUALITY = 8
DST_DISABLED = "FFFFFFFF"
SERVICE_KIND = {"power": 0, "gas": 1}
COMMODITY = {"power": 1, "gas": 7}  # electricity secondary metered, natural gas


@dataclass(frozen=True)
class LocalTimeParameters:
    """ESPI TimeConfiguration: standard offset and DST offset [s], DST rules as 8 hex digits."""

    tz_offset: int
    dst_offset: int
    dst_start_rule: str
    dst_end_rule: str


def encode_dst_rule(month: int, day: int, weekday: int, seconds_of_day: int, days_in_month: int) -> str:
    """Encode a clock change as an ESPI DstRuleType: nth (or last) weekday of the month at a wall-clock time.

    ``weekday`` is ISO (Monday 1 .. Sunday 7). Bits: 0-11 seconds, 12-16 hours, 17-19 weekday, 20-24 day of month
    (0: not used), 25-27 operator (2..6: first..fifth occurrence, 7: last), 28-31 month.
    """
    operator = 7 if day + 7 > days_in_month else 2 + (day - 1) // 7
    hours, seconds = divmod(seconds_of_day, 3600)
    rule = (month << 28) | (operator << 25) | (weekday << 17) | (hours << 12) | seconds
    return f"{rule:08X}"


def compute_local_time_parameters(time_zone: str, year: int) -> LocalTimeParameters:
    """Describe ``time_zone`` in ESPI terms from its clock changes in ``year``; refuse zones that do not fit."""
    utc = pd.date_range(f"{year}-01-01", f"{year + 1}-01-01", freq="15min", tz="UTC", inclusive="left")
    wall = utc.tz_convert(ZoneInfo(time_zone)).tz_localize(None).as_unit("s").asi8
    offsets = wall - utc.as_unit("s").asi8
    changes = np.flatnonzero(np.diff(offsets)) + 1
    if len(changes) == 0:
        return LocalTimeParameters(int(offsets[0]), 0, DST_DISABLED, DST_DISABLED)
    if len(changes) != 2 or offsets[changes[0]] == offsets[changes[1]]:
        raise ExportError(
            f"time zone {time_zone} does not have one summer-time period in {year}: cannot describe it in ESPI"
        )
    standard, summer = int(offsets.min()), int(offsets.max())
    rules = {}
    for index in changes:
        before = dt.datetime.fromtimestamp(int(wall[index - 1]) + 900, dt.UTC)  # wall clock just before the change
        seconds_of_day = before.hour * 3600 + before.minute * 60 + before.second
        days = calendar.monthrange(before.year, before.month)[1]
        kind = "start" if offsets[index] > offsets[index - 1] else "end"
        rules[kind] = encode_dst_rule(before.month, before.day, before.isoweekday(), seconds_of_day, days)
    return LocalTimeParameters(standard, summer - standard, rules["start"], rules["end"])


def write_espi(readings: Iterable[pd.DataFrame], meta: ExportMeta, links: _Links | None = None) -> Iterator[bytes]:
    """Yield a Green Button feed of reading chunks (ordered by site then time), one site and day at a time.

    ``links`` lays out the hrefs (default: Download My Data's); the Connect My Data API passes its own.
    """
    links = links or _Links(meta.espi_base_url.rstrip("/"))
    updated = meta.generated_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sink = io.BytesIO()
    time_zones: dict[str, str] = {}  # zone -> LocalTimeParameters self href
    current_site: object = None
    with etree.xmlfile(sink, encoding="utf-8") as xml:
        xml.write_declaration()
        with xml.element(f"{{{ATOM}}}feed", nsmap={None: ATOM}):
            xml.write(
                _text_element("id", _urn(links.feed)),
                _text_element("title", meta.title),
                _text_element("updated", updated),
            )
            xml.write(_link("self", links.feed))
            xml.flush()
            yield _drain(sink)
            dated = (with_local_date(chunk) for chunk in readings if not chunk.empty)
            for day in _iter_site_days(iter_whole_groups(dated, ("site_id", "local_date"))):
                first = day.iloc[0]
                zone = str(first["time_zone"])
                if zone not in time_zones:
                    time_zones[zone] = links.time_zone_of(zone, len(time_zones) + 1)
                    xml.write(_time_zone_entry(zone, meta.start.year, time_zones[zone], links, updated))
                if first["site_id"] != current_site:
                    current_site = first["site_id"]
                    for entry in _site_entries(first, time_zones[zone], links, updated):
                        xml.write(entry)
                xml.write(_block_entry(day, links, updated))
                xml.flush()
                yield _drain(sink)
    yield _drain(sink)


def _iter_site_days(frames: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """Split whole-day frames into one frame per site and local day, in stream order."""
    for frame in frames:
        yield from (group for _, group in frame.groupby(["site_id", "local_date"], sort=False))


def _drain(sink: io.BytesIO) -> bytes:
    """Take what the incremental writer has produced so far and empty the buffer."""
    data = sink.getvalue()
    sink.seek(0)
    sink.truncate()
    return data


class _Links:
    """Hrefs of the feed's resources, laid out as the Green Button samples lay them out."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.feed = f"{base}/Batch/RetailCustomer/1/UsagePoint"
        self.usage_points = f"{base}/RetailCustomer/1/UsagePoint"
        self.time_zones = f"{base}/LocalTimeParameters"
        self.reading_types = f"{base}/ReadingType"

    def time_zone(self, number: int) -> str:
        return f"{self.time_zones}/{number}"

    def time_zone_of(self, zone: str, number: int) -> str:
        """The href of ``zone``'s LocalTimeParameters, the ``number``-th zone of this feed."""
        return self.time_zone(number)

    def usage_point(self, site_id: object) -> str:
        return f"{self.usage_points}/{site_id}"

    def meter_readings(self, site_id: object) -> str:
        return f"{self.usage_point(site_id)}/MeterReading"

    def blocks(self, site_id: object) -> str:
        return f"{self.meter_readings(site_id)}/1/IntervalBlock"

    def reading_type(self, site_id: object) -> str:
        return f"{self.reading_types}/{site_id}"


def _urn(href: str) -> str:
    """A stable Atom id per resource, so exporting the same data twice gives the same ids."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, href)}"


def _text_element(name: str, text: str) -> etree._Element:
    element = etree.Element(f"{{{ATOM}}}{name}", nsmap={None: ATOM})
    element.text = text
    return element


def _link(rel: str, href: str) -> etree._Element:
    return etree.Element(f"{{{ATOM}}}link", {"rel": rel, "href": href}, nsmap={None: ATOM})


def _entry(
    self_href: str, up_href: str, related: list[str], title: str, content: etree._Element, updated: str
) -> etree._Element:
    """An Atom entry with the links and dates the Green Button samples give every resource."""
    entry = etree.Element(f"{{{ATOM}}}entry", nsmap={None: ATOM})
    entry.append(_text_element("id", _urn(self_href)))
    entry.append(_link("self", self_href))
    entry.append(_link("up", up_href))
    for href in related:
        entry.append(_link("related", href))
    entry.append(_text_element("title", title))
    holder = etree.SubElement(entry, f"{{{ATOM}}}content")
    holder.append(content)
    entry.append(_text_element("published", updated))
    entry.append(_text_element("updated", updated))
    return entry


def _espi(name: str, children: list[tuple[str, object]] | None = None) -> etree._Element:
    """An ESPI element in its own default namespace with simple text children, in schema order."""
    element = etree.Element(f"{{{ESPI}}}{name}", nsmap={None: ESPI})
    for child, text in children or []:
        etree.SubElement(element, f"{{{ESPI}}}{child}").text = str(text)
    return element


def _time_zone_entry(zone: str, year: int, href: str, links: _Links, updated: str) -> etree._Element:
    parameters = compute_local_time_parameters(zone, year)
    content = _espi(
        "LocalTimeParameters",
        [
            ("dstEndRule", parameters.dst_end_rule),
            ("dstOffset", parameters.dst_offset),
            ("dstStartRule", parameters.dst_start_rule),
            ("tzOffset", parameters.tz_offset),
        ],
    )
    return _entry(href, links.time_zones, [], f"Local time {zone}", content, updated)


def _site_entries(first: pd.Series, time_zone_href: str, links: _Links, updated: str) -> list[etree._Element]:
    """UsagePoint, MeterReading and ReadingType entries of one site."""
    site_id, fuel = first["site_id"], str(first["fuel"])
    if fuel not in SERVICE_KIND:
        raise ExportError(f"site {site_id} has fuel {fuel!r}: Green Button export covers power and gas only")
    usage_point = _espi("UsagePoint")
    etree.SubElement(etree.SubElement(usage_point, f"{{{ESPI}}}ServiceCategory"), f"{{{ESPI}}}kind").text = str(
        SERVICE_KIND[fuel]
    )
    delivery_point = etree.SubElement(usage_point, f"{{{ESPI}}}serviceDeliveryPoint")
    etree.SubElement(delivery_point, f"{{{ESPI}}}name").text = str(first["meter_identifier"])[:256]
    reading_type = _espi(
        "ReadingType",
        [
            ("accumulationBehaviour", 4),  # delta data: energy per interval
            ("commodity", COMMODITY[fuel]),
            ("dataQualifier", 12),  # normal
            ("flowDirection", 1),  # forward (delivered to the site)
            ("intervalLength", int(first["interval_seconds"])),
            ("kind", 12),  # energy
            ("powerOfTenMultiplier", POWER_OF_TEN_MULTIPLIER),
            ("timeAttribute", 0),
            ("uom", UOM_WH),
        ],
    )
    meter_label = "MPRN" if fuel == "gas" else "MPAN"
    return [
        _entry(
            links.usage_point(site_id),
            links.usage_points,
            [links.meter_readings(site_id), time_zone_href],
            str(first["site_name"]),
            usage_point,
            updated,
        ),
        _entry(
            f"{links.meter_readings(site_id)}/1",
            links.meter_readings(site_id),
            [links.blocks(site_id), links.reading_type(site_id)],
            f"{fuel} consumption, {meter_label} {first['meter_identifier']}",
            _espi("MeterReading"),
            updated,
        ),
        _entry(
            links.reading_type(site_id),
            links.reading_types,
            [],
            f"{fuel} energy per interval [mWh: uom 72 (Wh) x 10^-3]",
            reading_type,
            updated,
        ),
    ]


def _block_entry(day: pd.DataFrame, links: _Links, updated: str) -> etree._Element:
    """One IntervalBlock entry covering one local day of one site; missing intervals are simply absent."""
    first = day.iloc[0]
    local_date = pd.Timestamp(first["local_date"]).date()
    zone = ZoneInfo(str(first["time_zone"]))
    midnight = pd.Timestamp(local_date).tz_localize(zone, nonexistent="shift_forward", ambiguous=False)
    next_midnight = pd.Timestamp(local_date + dt.timedelta(days=1)).tz_localize(
        zone, nonexistent="shift_forward", ambiguous=False
    )
    day_start = int(midnight.timestamp())
    day_seconds = int(next_midnight.timestamp()) - day_start
    values = np.rint(day["energy_kwh"].to_numpy(dtype="float64") * VALUE_PER_KWH)
    if not np.isfinite(values).all() or np.abs(values).max() > INT48_MAX:
        raise ExportError(f"site {first['site_id']} on {local_date}: a reading is not finite or too large for ESPI")
    block = _espi("IntervalBlock")
    interval = etree.SubElement(block, f"{{{ESPI}}}interval")
    etree.SubElement(interval, f"{{{ESPI}}}duration").text = str(day_seconds)
    etree.SubElement(interval, f"{{{ESPI}}}start").text = str(day_start)
    starts = day["start_ts"].to_numpy(dtype="int64").tolist()
    durations = day["interval_seconds"].to_numpy(dtype="int64").tolist()
    estimated = day["estimated"].to_numpy(dtype=bool).tolist()
    for start, duration, value, is_estimated in zip(
        starts, durations, values.astype("int64").tolist(), estimated, strict=True
    ):
        reading = etree.SubElement(block, f"{{{ESPI}}}IntervalReading")
        if is_estimated:
            etree.SubElement(etree.SubElement(reading, f"{{{ESPI}}}ReadingQuality"), f"{{{ESPI}}}quality").text = str(
                ESTIMATED_QUALITY
            )
        period = etree.SubElement(reading, f"{{{ESPI}}}timePeriod")
        etree.SubElement(period, f"{{{ESPI}}}duration").text = str(duration)
        etree.SubElement(period, f"{{{ESPI}}}start").text = str(start)
        etree.SubElement(reading, f"{{{ESPI}}}value").text = str(value)
    self_href = f"{links.blocks(first['site_id'])}/{local_date:%Y%m%d}"
    return _entry(
        self_href, links.blocks(first["site_id"]), [], f"{first['site_name']} {local_date.isoformat()}", block, updated
    )
