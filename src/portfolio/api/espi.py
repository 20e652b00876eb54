"""The ESPI resource server under ``/espi/1_1/resource/``: Green Button feeds for an application's authorization.

Every call: the bearer token (hashed lookup, not expired, not revoked) -> its authorization -> the grant, checked
through :func:`portfolio.access.application_site_ids` at the time of the call (a revoked or expired grant: 401) ->
only the sites, data types, interval lengths and history the grant and the ESPI scope allow (anything else: 403).

Identifiers: a subscription is its authorization's uuid; a usage point is an mRID, a UUID derived from the fuel
and the meter's MPAN/MPRN (stable across exports and installations, never a database id); meter readings are "1";
interval blocks are the local day (``YYYYMMDD``); LocalTimeParameters are named by a UUID of the zone name.
Usage point, meter reading and interval block resources answer with a feed of the resource and what it holds
(the same writer as Batch), filtered to it; ReadingType and LocalTimeParameters answer with one entry.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2 import OAuth2Error
from flask import Blueprint, Response, abort, jsonify, request, stream_with_context
from lxml import etree

from portfolio.access import application_site_ids
from portfolio.api.oauth import make_resource_protector
from portfolio.api.scope import EspiScope, parse_scope
from portfolio.exports import espi_writer
from portfolio.exports.meta import ExportMeta
from portfolio.models import ApplicationStatus, DataType, ThirdPartyAuthorization
from portfolio.queries.exports import iter_reading_chunks, load_export_sites
from portfolio.queries.third_parties import load_first_local_dates
from portfolio.services.third_parties import record_api_call
from portfolio.web.context import request_session

PREFIX = "/espi/1_1/resource"
blueprint = Blueprint("espi", __name__, url_prefix=PREFIX)
protector: ResourceProtector = make_resource_protector()
ATOM_TYPE = "application/atom+xml"
MRID_NAMESPACE = uuid.UUID("6f1f4c1e-1a63-5b7e-9d0e-2c1b5d7a9e11")
FEED_CHUNK_ROWS = 16_384
"""Readings per database read for a feed: a site-year is two reads, and memory stays a few MB whatever the
range (50,000-row reads, the exports' default, are about 10 % cheaper in CPU but hold 15 MB more)."""


def usage_point_mrid(fuel: str, meter_identifier: str, site_id: int) -> str:
    """The usage point's mRID: a UUID of its fuel and MPAN/MPRN, the same wherever the meter's data is served."""
    key = f"{fuel}:{meter_identifier}" if meter_identifier else f"site-without-meter:{site_id}"
    return str(uuid.uuid5(MRID_NAMESPACE, key))


def zone_id(zone: str) -> str:
    return str(uuid.uuid5(MRID_NAMESPACE, f"zone:{zone}"))


class SubscriptionLinks(espi_writer._Links):  # noqa: SLF001 - the writer's href layout, specialised
    def __init__(self, base: str, subscription: str) -> None:
        super().__init__(base)
        self.feed = f"{base}/Batch/Subscription/{subscription}"
        self.usage_points = f"{base}/Subscription/{subscription}/UsagePoint"

    def time_zone_of(self, zone: str, number: int) -> str:
        return f"{self.time_zones}/{zone_id(zone)}"


@dataclass(frozen=True)
class Call:
    authorization: ThirdPartyAuthorization
    scope: EspiScope
    site_ids: list[int]  # granted for the data type asked
    details: bool  # site details granted: MPAN/MPRN shown
    now: dt.datetime


def _refuse(status: int, message: str) -> Response:
    response = jsonify(error="invalid_token" if status == 401 else "insufficient_scope", error_description=message)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = f'Bearer error="invalid_token", error_description="{message}"'
    return response


def _call(subscription: str | None, data: DataType | None) -> Call:
    """Check the token and the grant now; audit the call. Aborts 401 or 403."""
    try:
        token = protector.acquire_token()
    except OAuth2Error as error:
        abort(_refuse(401, error.description or error.error))
    authorization: ThirdPartyAuthorization = token.row.authorization
    session, now = request_session(), dt.datetime.now(dt.UTC)
    sites = application_site_ids(session, authorization.grant_id, data, now)
    if sites is None or authorization.application.status is not ApplicationStatus.APPROVED:
        abort(_refuse(401, "the authorization was revoked or has expired"))
    if subscription is not None and subscription != authorization.uuid:
        abort(_refuse(403, "this token is not for that subscription"))
    if not sites:
        abort(_refuse(403, f"{data.value if data else 'data'} is not granted"))
    details = bool(application_site_ids(session, authorization.grant_id, DataType.SITE_DETAILS, now))
    record_api_call(session, authorization, request.path, now)
    return Call(authorization, parse_scope(authorization.scope), sites, details, now)


def _instant(name: str) -> int | None:
    text = request.args.get(name)
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        abort(_refuse(400, f"{name} {text!r} is not an xs:dateTime such as 2025-01-01T00:00:00Z"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp())


def _window(call: Call) -> tuple[int, int]:
    """[from, to) in UTC epoch seconds: published-min/max within the scope's HistoryLength (earlier asks: 403)."""
    low, high = _instant("published-min"), _instant("published-max")
    earliest = call.scope.earliest(call.now)
    if earliest is not None:
        if low is not None and low < earliest.timestamp():
            abort(_refuse(403, f"published-min is before the HistoryLength of {call.scope.history_length} s"))
        low = low if low is not None else int(earliest.timestamp())
    return (low or 0), (high if high is not None else int(call.now.timestamp()) + 86_400)


def _sites(call: Call, mrid: str | None) -> pd.DataFrame:
    sites = load_export_sites(request_session(), call.site_ids)
    sites["mrid"] = [
        usage_point_mrid(str(f), str(m), int(s))
        for f, m, s in zip(sites["fuel"], sites["meter_identifier"], sites["site_id"], strict=True)
    ]
    if mrid is not None:
        sites = sites[sites["mrid"] == mrid]
        if sites.empty:
            abort(_refuse(403, "that usage point is not granted"))
    return sites


def _chunks(call: Call, sites: pd.DataFrame, low: int, high: int, day: str | None) -> Iterator[pd.DataFrame]:
    """Granted readings in [low, high) of allowed interval lengths, site ids replaced by mRIDs (and MPANs hidden)."""
    session = request_session()
    first = load_first_local_dates(session, [int(s) for s in sites["site_id"]])
    if not first:
        return
    start = max(min(first.values()), (dt.datetime.fromtimestamp(low, dt.UTC) - dt.timedelta(days=1)).date())
    end = (dt.datetime.fromtimestamp(min(high, 2**40), dt.UTC) + dt.timedelta(days=1)).date()
    if end < start:
        return
    mrids = dict(zip(sites["site_id"], sites["mrid"], strict=True))
    durations = sorted(call.scope.interval_durations)
    for chunk in iter_reading_chunks(session, sites.drop(columns=["mrid"]), start, end, FEED_CHUNK_ROWS):
        keep = (chunk["start_ts"] >= low) & (chunk["start_ts"] < high) & chunk["interval_seconds"].isin(durations)
        chunk = chunk[keep]
        if chunk.empty:
            continue
        chunk = chunk.assign(site_id=chunk["site_id"].map(mrids))
        if not call.details:
            chunk = chunk.assign(meter_identifier=chunk["site_id"])
        if day is not None:
            local = espi_writer.with_local_date(chunk)
            chunk = chunk[local["local_date"].dt.strftime("%Y%m%d").to_numpy() == day]
            if chunk.empty:
                continue
        yield chunk


def _feed(call: Call, mrid: str | None = None, day: str | None = None) -> Response:
    sites = _sites(call, mrid)
    low, high = _window(call)
    first_year = dt.datetime.fromtimestamp(max(low, 0), dt.UTC).date()
    meta = ExportMeta(
        start=max(first_year, dt.date(2000, 1, 1)),
        end=max(first_year, call.now.date()),
        generated_at=call.now,
        title=f"Green Button subscription {call.authorization.uuid}",
        espi_base_url=f"{request.host_url.rstrip('/')}{PREFIX}",
    )
    links = SubscriptionLinks(meta.espi_base_url, call.authorization.uuid)
    chunks = _chunks(call, sites, low, high, day)
    return Response(stream_with_context(espi_writer.write_espi(chunks, meta, links)), mimetype=ATOM_TYPE)


@blueprint.get("/Batch/Subscription/<subscription>")
def batch_subscription(subscription: str) -> Response:
    return _feed(_call(subscription, DataType.INTERVAL_USAGE))


@blueprint.get("/Subscription/<subscription>/UsagePoint")
@blueprint.get("/Subscription/<subscription>/UsagePoint/<mrid>")
@blueprint.get("/Subscription/<subscription>/UsagePoint/<mrid>/MeterReading")
@blueprint.get("/Subscription/<subscription>/UsagePoint/<mrid>/MeterReading/1")
@blueprint.get("/Subscription/<subscription>/UsagePoint/<mrid>/MeterReading/1/IntervalBlock")
def usage_points(subscription: str, mrid: str | None = None) -> Response:
    return _feed(_call(subscription, DataType.INTERVAL_USAGE), mrid)


@blueprint.get("/Subscription/<subscription>/UsagePoint/<mrid>/MeterReading/1/IntervalBlock/<day>")
def interval_block(subscription: str, mrid: str, day: str) -> Response:
    call = _call(subscription, DataType.INTERVAL_USAGE)  # the token first: nothing is answered without one
    if not (len(day) == 8 and day.isdigit()):
        abort(_refuse(404, "an IntervalBlock id is a local day YYYYMMDD"))
    return _feed(call, mrid, day)


def _entry_response(entry: etree._Element) -> Response:
    return Response(etree.tostring(entry, xml_declaration=True, encoding="utf-8"), mimetype=ATOM_TYPE)


@blueprint.get("/LocalTimeParameters/<zone_uuid>")
def local_time_parameters(zone_uuid: str) -> Response:
    call = _call(None, None)
    sites = load_export_sites(request_session(), call.site_ids)
    zones = {zone_id(str(zone)): str(zone) for zone in sites["time_zone"]}
    if zone_uuid not in zones:
        abort(_refuse(403, "no granted usage point uses that time zone"))
    base = f"{request.host_url.rstrip('/')}{PREFIX}"
    links = espi_writer._Links(base)  # noqa: SLF001
    updated = call.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    href = f"{links.time_zones}/{zone_uuid}"
    return _entry_response(espi_writer._time_zone_entry(zones[zone_uuid], call.now.year, href, links, updated))  # noqa: SLF001


@blueprint.get("/ReadingType/<mrid>")
def reading_type(mrid: str) -> Response:
    call = _call(None, DataType.INTERVAL_USAGE)
    site = _sites(call, mrid).iloc[0]
    base = f"{request.host_url.rstrip('/')}{PREFIX}"
    links = SubscriptionLinks(base, call.authorization.uuid)
    first = pd.Series(
        {
            "site_id": mrid,
            "fuel": site["fuel"],
            "meter_identifier": site["meter_identifier"] if call.details else mrid,
            "site_name": site["site_name"],
            "interval_seconds": min(call.scope.interval_durations),
        }
    )
    updated = call.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    entries = espi_writer._site_entries(first, links.time_zone_of(str(site["time_zone"]), 1), links, updated)  # noqa: SLF001
    return _entry_response(entries[2])


@blueprint.get("/ReadServiceStatus")
def read_service_status() -> Response:
    _call(None, None)
    status = etree.Element(f"{{{espi_writer.ESPI}}}ServiceStatus", nsmap={None: espi_writer.ESPI})
    etree.SubElement(status, f"{{{espi_writer.ESPI}}}currentStatus").text = "1"  # 1: available
    return Response(etree.tostring(status, xml_declaration=True, encoding="utf-8"), mimetype="application/xml")


@blueprint.get("/Authorization/<subscription>")
def authorization_resource(subscription: str) -> Response:
    """The ESPI Authorization of the calling token: period, published period (HistoryLength), scope, URIs."""
    call = _call(subscription, None)
    grant = call.authorization.grant
    token = protector.acquire_token()
    base = f"{request.host_url.rstrip('/')}{PREFIX}"
    start = int(grant.valid_from.replace(tzinfo=grant.valid_from.tzinfo or dt.UTC).timestamp())
    until = grant.valid_until
    earliest = call.scope.earliest(call.now)
    published_start = int(earliest.timestamp()) if earliest else start
    content = espi_writer._espi("Authorization")  # noqa: SLF001
    _period(
        content,
        "authorizedPeriod",
        start,
        int(until.replace(tzinfo=until.tzinfo or dt.UTC).timestamp()) - start if until else 0,
    )
    _period(content, "publishedPeriod", published_start, int(call.now.timestamp()) - published_start)
    for name, text in (
        ("status", "1"),  # active: a revoked or expired one never gets here (401)
        ("expires_at", str(token.row.issued_at + token.row.expires_in)),
        ("grant_type", "authorization_code"),
        ("scope", call.authorization.scope),
        ("token_type", "Bearer"),
        ("resourceURI", f"{base}/Batch/Subscription/{subscription}"),
        ("authorizationURI", f"{base}/Authorization/{subscription}"),
    ):
        etree.SubElement(content, f"{{{espi_writer.ESPI}}}{name}").text = text
    updated = call.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    href = f"{base}/Authorization/{subscription}"
    entry = espi_writer._entry(
        href, f"{base}/Authorization", [], f"Authorization of {call.authorization.application.name}", content, updated
    )  # noqa: SLF001
    return _entry_response(entry)


def _period(parent: etree._Element, name: str, start: int, duration: int) -> None:
    period = etree.SubElement(parent, f"{{{espi_writer.ESPI}}}{name}")
    etree.SubElement(period, f"{{{espi_writer.ESPI}}}duration").text = str(max(duration, 0))
    etree.SubElement(period, f"{{{espi_writer.ESPI}}}start").text = str(start)
