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

Streaming: the per-site entries are lxml elements, serialised one at a time; the IntervalBlock entries (one per
site and local day, nearly all of the bytes) are written as text from templates, a frame of whole days at a time,
and yielded every :data:`FLUSH_READINGS` readings, so memory holds one input chunk and one piece of output whatever
the range. The text is what lxml would write for the same elements (tests compare them), escaped the same way.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import hashlib
import itertools
import re
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
_URL_NAMESPACE = uuid.NAMESPACE_URL.bytes
COMMODITY = {"power": 1, "gas": 7}  # electricity secondary metered, natural gas
FLUSH_READINGS = 8192
"""Readings per yielded piece (about 1 MB of XML): few writes, yet the response never holds the document."""


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


@functools.lru_cache(maxsize=256)
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
    """Yield a Green Button feed of reading chunks (ordered by site then time), a few thousand readings at a time.

    ``links`` lays out the hrefs (default: Download My Data's); the Connect My Data API passes its own.
    """
    links = links or _Links(meta.espi_base_url.rstrip("/"))
    updated = meta.generated_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    feed = _FeedText(links, meta.start.year, updated)
    yield feed.head(meta.title)
    dated = (with_local_date(chunk) for chunk in readings if not chunk.empty)
    for frame in iter_whole_groups(dated, ("site_id", "local_date")):
        yield from feed.blocks(frame)
    yield b"</feed>"


class _FeedText:
    """The feed as UTF-8 text, byte for byte as lxml serialises it: the few per-site entries are lxml elements, the
    IntervalBlock entries (one per site and local day: the bulk of the feed) are string templates.

    A reading is one f-string over plain Python ints; building, or even parsing, an element per reading was the
    feed's bottleneck. The only data text in a block entry is the site name, escaped once per name; everything per
    reading is an integer, which needs no escaping.
    """

    def __init__(self, links: _Links, year: int, updated: str) -> None:
        self.links, self.year, self.updated = links, year, updated
        self.time_zones: dict[str, str] = {}  # zone -> LocalTimeParameters self href
        self.site: object = None
        self.site_blocks = ("", "")  # the site's IntervalBlock collection href: as is, and escaped for an attribute
        self.titles: dict[str, str] = {}  # site name -> escaped for a text node
        self.entry_end = (
            f"</IntervalBlock></content><published>{updated}</published><updated>{updated}</updated></entry>"
        )

    def head(self, title: str) -> bytes:
        """The XML declaration, the feed's start tag and its id, title, updated and self link."""
        elements = [
            _text_element("id", _urn(self.links.feed)),
            _text_element("title", xml_safe(title)),
            _text_element("updated", self.updated),
            _link("self", self.links.feed),
        ]
        start = f"<?xml version='1.0' encoding='utf-8'?>\n<feed xmlns=\"{ATOM}\">".encode()
        return start + b"".join(etree.tostring(element, encoding="utf-8") for element in elements)

    def blocks(self, frame: pd.DataFrame) -> Iterator[bytes]:
        """The entries of a frame of whole local days (ordered by site then time), about :data:`FLUSH_READINGS`
        readings a piece; a zone's and a site's entries come before the site's first block."""
        site_ids = frame["site_id"].to_numpy()
        dates = frame["local_date"].to_numpy(dtype="datetime64[D]")
        change = np.flatnonzero((site_ids[1:] != site_ids[:-1]) | (dates[1:] != dates[:-1])) + 1
        values = _values_mwh(frame["energy_kwh"].to_numpy(dtype="float64"), site_ids, dates).tolist()
        starts = frame["start_ts"].to_numpy(dtype="int64").tolist()
        durations = frame["interval_seconds"].to_numpy(dtype="int64").tolist()
        estimated = frame["estimated"].to_numpy(dtype=bool).tolist()
        names, zones = frame["site_name"].to_numpy(dtype=object), frame["time_zone"].to_numpy(dtype=object)
        bounds = [0, *change.tolist(), len(frame)]
        days = dates[bounds[:-1]]
        parts: list[str] = []
        pending = 0
        for (begin, end), local_date, iso_date in zip(
            itertools.pairwise(bounds), days.tolist(), np.datetime_as_string(days, unit="D").tolist(), strict=True
        ):
            zone = str(zones[begin])
            if zone not in self.time_zones:
                href = self.time_zones[zone] = self.links.time_zone_of(zone, len(self.time_zones) + 1)
                parts.append(_serialise(_time_zone_entry(zone, self.year, href, self.links, self.updated)))
            if site_ids[begin] != self.site:
                self.site = site_ids[begin]
                blocks = self.links.blocks(self.site)
                self.site_blocks = (blocks, _attribute(blocks))
                entries = _site_entries(frame.iloc[begin], self.time_zones[zone], self.links, self.updated)
                parts.extend(_serialise(entry) for entry in entries)
            parts.append(self._block_start(str(names[begin]), zone, local_date, iso_date))
            parts.extend(
                [
                    f"<IntervalReading>{_QUALITY if is_estimated else ''}<timePeriod><duration>{duration}</duration>"
                    f"<start>{start}</start></timePeriod><value>{value}</value></IntervalReading>"
                    for start, duration, value, is_estimated in zip(
                        starts[begin:end], durations[begin:end], values[begin:end], estimated[begin:end], strict=True
                    )
                ]
            )
            parts.append(self.entry_end)
            pending += end - begin
            if pending >= FLUSH_READINGS:
                yield "".join(parts).encode()
                parts, pending = [], 0
        if parts:
            yield "".join(parts).encode()

    def _block_start(self, site_name: str, time_zone: str, local_date: dt.date, iso_date: str) -> str:
        """An IntervalBlock entry up to its first reading; the block's interval is the local day (23, 24 or 25 h)."""
        day_start = _local_midnight(local_date, time_zone)
        day_seconds = _local_midnight(local_date + dt.timedelta(days=1), time_zone) - day_start
        title = self.titles.get(site_name)
        if title is None:
            title = self.titles[site_name] = _text(site_name)
        blocks, blocks_attribute = self.site_blocks
        day = iso_date.replace("-", "")
        return (
            f'<entry xmlns="{ATOM}"><id>{_urn(f"{blocks}/{day}")}</id>'
            f'<link rel="self" href="{blocks_attribute}/{day}"/><link rel="up" href="{blocks_attribute}"/>'
            f'<title>{title} {iso_date}</title><content><IntervalBlock xmlns="{ESPI}">'
            f"<interval><duration>{day_seconds}</duration><start>{day_start}</start></interval>"
        )


def _values_mwh(energy_kwh: np.ndarray, site_ids: np.ndarray, dates: np.ndarray) -> np.ndarray:
    """Readings as integer mWh; refuse (naming the site and day) any that ESPI's Int48 cannot hold."""
    values = np.rint(energy_kwh * VALUE_PER_KWH)
    with np.errstate(invalid="ignore"):
        bad = ~(np.abs(values) <= INT48_MAX)  # NaN compares false, so it is refused too
    if bad.any():
        row = int(np.argmax(bad))
        raise ExportError(f"site {site_ids[row]} on {dates[row].item()}: a reading is not finite or too large for ESPI")
    return values.astype("int64")


_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTRIBUTE_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"}
)


def xml_safe(text: str) -> str:
    """``text`` with the characters XML 1.0 cannot hold (controls, lone surrogates) replaced by U+FFFD.

    Names are data: a site name with a stray control character must neither break the feed nor abort it.
    """
    return _NOT_XML.sub("\ufffd", text)


def _text(text: str) -> str:
    """Escape for a text node, as libxml2 serialises one."""
    return xml_safe(text).translate(_TEXT_ESCAPES)


def _attribute(text: str) -> str:
    """Escape for a double-quoted attribute value, as libxml2 serialises one."""
    return xml_safe(text).translate(_ATTRIBUTE_ESCAPES)


def _serialise(element: etree._Element) -> str:
    return etree.tostring(element, encoding="unicode")


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
    """A stable Atom id per resource, so exporting the same data twice gives the same ids.

    ``uuid.uuid5(NAMESPACE_URL, href)`` spelled out on the SHA-1 digest: the same id, five times faster, and there is
    one per IntervalBlock.
    """
    digest = hashlib.sha1(_URL_NAMESPACE + href.encode()).hexdigest()  # noqa: S324 - RFC 4122 name-based UUID
    variant = "89ab"[int(digest[16], 16) & 3]
    return f"urn:uuid:{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-{variant}{digest[17:20]}-{digest[20:32]}"


def _text_element(name: str, text: str) -> etree._Element:
    element = etree.Element(f"{{{ATOM}}}{name}", nsmap={None: ATOM})
    element.text = text
    return element


def _link(rel: str, href: str) -> etree._Element:
    return etree.Element(f"{{{ATOM}}}link", {"rel": rel, "href": href}, nsmap={None: ATOM})


def usage_point_mrid(meter_identifier: str) -> str:
    """The UsagePoint's mRID: a UUID from the meter's MPAN/MPRN, the same in every installation and every export.

    Hrefs hold installation-local site ids, so two installations' exports would otherwise name different meters
    alike, and an import keyed on them would merge them; the mRID is what ``portfolio.ingest.espi`` keys on.
    """
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'urn:portfolio:meter:{meter_identifier}')}"


def _entry(
    self_href: str,
    up_href: str,
    related: list[str],
    title: str,
    content: etree._Element,
    updated: str,
    atom_id: str | None = None,
) -> etree._Element:
    """An Atom entry with the links and dates the Green Button samples give every resource."""
    entry = etree.Element(f"{{{ATOM}}}entry", nsmap={None: ATOM})
    entry.append(_text_element("id", atom_id or _urn(self_href)))
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
    etree.SubElement(delivery_point, f"{{{ESPI}}}name").text = xml_safe(str(first["meter_identifier"]))[:256]
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
            xml_safe(str(first["site_name"])),
            usage_point,
            updated,
            usage_point_mrid(str(first["meter_identifier"])),
        ),
        _entry(
            f"{links.meter_readings(site_id)}/1",
            links.meter_readings(site_id),
            [links.blocks(site_id), links.reading_type(site_id)],
            xml_safe(f"{fuel} consumption, {meter_label} {first['meter_identifier']}"),
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


@functools.lru_cache(maxsize=4096)
def _local_midnight(local_date: dt.date, time_zone: str) -> int:
    """UTC epoch seconds of a local midnight; a midnight the clocks skip moves forward to the first valid instant."""
    zone = ZoneInfo(time_zone)
    naive = dt.datetime.combine(local_date, dt.time())
    aware = naive.replace(tzinfo=zone, fold=0)
    if aware.astimezone(dt.UTC).astimezone(zone).replace(tzinfo=None) == naive:
        return int(aware.timestamp())
    return int(pd.Timestamp(local_date).tz_localize(zone, nonexistent="shift_forward", ambiguous=False).timestamp())


_QUALITY = f"<ReadingQuality><quality>{ESTIMATED_QUALITY}</quality></ReadingQuality>"
