"""SQL for expected consumption: model training data, temperatures, stored fits and per-site predictions.

The batch (``portfolio.services.expected_series``) stores each site's predictions (``site_expected``); graphs
read them summed in SQL (:func:`load_site_expected_sums`). Large scopes' precomputed sums are
``queries/expected_series.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, cast

import numpy as np
import pandas as pd
from sqlalchemy import CursorResult, delete, distinct, func, select
from sqlalchemy.orm import Session

from portfolio.analytics.expected import RESOLUTIONS, SUM_COLUMNS
from portfolio.db import driver_connection
from portfolio.models import (
    DailyUsage,
    Enrolment,
    Reading,
    Site,
    SiteExpected,
    SiteExpectedState,
    SiteModel,
    WeatherKind,
    WeatherReading,
)
from portfolio.queries.data_version import mark_usage_changed
from portfolio.queries.graphs import as_tuples, local_day_number_sql
from portfolio.queries.id_lists import in_ids
from portfolio.queries.spans import driver_rows, span_rows, span_sites_having

MAX_MODEL_INTERVAL_SECONDS = 3600
"""Models use interval data only: daily or monthly billing reads are not modelled."""


def _utc_index(seconds: Sequence[int] | np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(np.asarray(seconds, dtype="int64"), unit="s", utc=True))


def load_site_energy(session: Session, site_id: int, start_ts: int, end_ts: int) -> pd.Series:
    """Energy per interval [kWh] of a site in [start_ts, end_ts), indexed by UTC interval start; gaps absent."""
    rows = session.execute(
        select(Reading.start_ts, Reading.energy_kwh)
        .where(
            Reading.site_id == site_id,
            Reading.start_ts >= start_ts,
            Reading.start_ts < end_ts,
            Reading.interval_seconds <= MAX_MODEL_INTERVAL_SECONDS,
        )
        .order_by(Reading.start_ts)
    ).all()
    starts = [r[0] for r in rows]
    return pd.Series([r[1] for r in rows], index=_utc_index(starts), name="energy_kwh", dtype="float64")


def load_temperature(session: Session, location_id: int, start_ts: int, end_ts: int) -> pd.Series:
    """Hourly air temperature [°C] in [start_ts, end_ts): observed where known, else the latest forecast."""
    rows = session.execute(
        select(WeatherReading.hour_ts, WeatherReading.kind, WeatherReading.air_temperature_c).where(
            WeatherReading.location_id == location_id,
            WeatherReading.hour_ts >= start_ts,
            WeatherReading.hour_ts < end_ts,
        )
    ).all()
    if not rows:
        return pd.Series(dtype="float64", index=_utc_index([]), name="air_temperature_c")
    frame = pd.DataFrame(as_tuples(rows), columns=["hour_ts", "kind", "temperature"])
    frame["observed"] = frame["kind"].map(lambda k: WeatherKind(k) is WeatherKind.OBSERVED)
    frame = frame.sort_values(["hour_ts", "observed"]).drop_duplicates("hour_ts", keep="last")
    return pd.Series(
        frame["temperature"].to_numpy(dtype="float64"),
        index=_utc_index(frame["hour_ts"].to_numpy()),
        name="air_temperature_c",
    )


def load_model_candidates(session: Session, site_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """Sites that could have a model: their zone, weather location, last interval reading and current fit."""
    last_ts = select(func.max(Reading.start_ts)).where(Reading.site_id == Site.id).scalar_subquery()
    statement = (
        select(
            Site.id,
            Site.time_zone,
            Site.weather_location_id,
            last_ts.label("last_ts"),
            SiteModel.status,
            SiteModel.data_end_ts,
        )
        .outerjoin(SiteModel, SiteModel.site_id == Site.id)
        .order_by(Site.id)
    )
    if site_ids is not None:
        statement = statement.where(in_ids(Site.id, list(site_ids)))
    rows = session.execute(statement).all()
    return pd.DataFrame(
        rows, columns=["site_id", "time_zone", "weather_location_id", "last_ts", "status", "data_end_ts"]
    )


def load_site_models(session: Session, site_ids: Sequence[int]) -> dict[int, SiteModel]:
    return {m.site_id: m for m in session.scalars(select(SiteModel).where(in_ids(SiteModel.site_id, list(site_ids))))}


class ModelSummary(NamedTuple):
    """What a table shows of a site's stored model (not its fitted parameters)."""

    site_id: int
    status: str
    message: str | None
    resolution: str | None
    training_days: int | None
    cvrmse_pct: float | None
    nmbe_pct: float | None


def load_site_model_summaries(session: Session, site_ids: Sequence[int]) -> dict[int, ModelSummary]:
    """Each site's model status and quality figures, as plain rows: a 1,000-site table builds no ORM objects."""
    statement = select(
        SiteModel.site_id,
        SiteModel.status,
        SiteModel.message,
        SiteModel.resolution,
        SiteModel.training_days,
        SiteModel.cvrmse_pct,
        SiteModel.nmbe_pct,
    ).where(in_ids(SiteModel.site_id, list(site_ids)))
    return {int(row[0]): ModelSummary(*row) for row in session.execute(statement)}


def save_site_model(session: Session, record: SiteModel) -> None:
    """Replace the site's stored model (one current fit per site)."""
    mark_usage_changed(session)  # which stored estimates still hold depends on when the model was fitted
    existing = session.get(SiteModel, record.site_id)
    if existing is not None:
        session.delete(existing)
        session.flush()
    session.add(record)


def load_daily_only_site_ids(session: Session, site_ids: Sequence[int]) -> set[int]:
    """Those of ``site_ids`` whose organisation opted out of half-hourly data: only their daily totals may be used."""
    if not site_ids:
        return set()
    statement = (
        select(Site.id)
        .join(Enrolment, Enrolment.organisation_id == Site.organisation_id)
        .where(in_ids(Site.id, [int(s) for s in site_ids]), Enrolment.opted_out_at.is_not(None))
    )
    return {int(s) for s in session.scalars(statement)}


def load_daily_matrix(session: Session, site_ids: Sequence[int], first: dt.date, last: dt.date) -> pd.DataFrame:
    """Long frame of the daily roll-up (site_id, local_date, energy_kwh [kWh]) for a few sites and local days."""
    rows = session.execute(
        select(DailyUsage.site_id, DailyUsage.local_date, DailyUsage.energy_kwh).where(
            in_ids(DailyUsage.site_id, [int(s) for s in site_ids]),
            DailyUsage.local_date >= first,
            DailyUsage.local_date <= last,
        )
    )
    return pd.DataFrame(as_tuples(rows), columns=["site_id", "local_date", "energy_kwh"])


def load_daily_metered(
    session: Session, site_ids: Sequence[int], first: dt.date, last: dt.date
) -> tuple[float | None, int]:
    """Metered energy [kWh] of ``site_ids`` over local days first..last from the daily roll-up, added in SQL, and
    how many of the sites have any: (None, 0) when no day has a row. A year of 35 sites is one aggregate, not
    12,000 rows with their dates parsed."""
    if not site_ids:
        return None, 0
    rows, kwh, sites = session.execute(
        select(
            func.count(),
            func.sum(DailyUsage.energy_kwh),
            func.count(func.distinct(DailyUsage.site_id)).filter(DailyUsage.energy_kwh.is_not(None)),
        ).where(
            in_ids(DailyUsage.site_id, [int(s) for s in site_ids]),
            DailyUsage.local_date >= first,
            DailyUsage.local_date <= last,
        )
    ).one()
    if not rows:
        return None, 0
    return float(kwh or 0.0), int(sites or 0)


def load_readings_matrix(session: Session, site_ids: Sequence[int], start_ts: int, end_ts: int) -> pd.DataFrame:
    """Long frame of interval readings (site_id, start_ts, interval_seconds, energy_kwh) for a few sites and a range."""
    rows = session.execute(
        select(Reading.site_id, Reading.start_ts, Reading.interval_seconds, Reading.energy_kwh).where(
            in_ids(Reading.site_id, list(site_ids)),
            Reading.start_ts >= start_ts,
            Reading.start_ts < end_ts,
            Reading.interval_seconds <= MAX_MODEL_INTERVAL_SECONDS,
        )
    )
    return pd.DataFrame(as_tuples(rows), columns=["site_id", "start_ts", "interval_seconds", "energy_kwh"])


# Stored per-site predictions ------------------------------------------------------------------------

SITE_EXPECTED_RESOLUTIONS = ("hh", "hour", "day")
SITE_EXPECTED_COLUMNS = ["site_id", "start", "expected_kwh", "variance_kwh2"]
_INSERT_SITE = "INSERT INTO site_expected (site_id, resolution, start_ts, expected_kwh, variance_kwh2) VALUES ({marks})"
_COPY_SITE = "COPY site_expected (site_id, resolution, start_ts, expected_kwh, variance_kwh2) FROM STDIN"


def _epoch(moment: int | dt.datetime | pd.Timestamp) -> int:
    if isinstance(moment, dt.datetime):  # pd.Timestamp too
        if moment.tzinfo is None:
            raise ValueError(f"{moment} has no time zone: give UTC times")
        return int(moment.timestamp())
    return int(moment)


def _check_resolution(resolution: str) -> None:
    if resolution not in SITE_EXPECTED_RESOLUTIONS:
        raise ValueError(f"resolution {resolution!r} is not one of {', '.join(SITE_EXPECTED_RESOLUTIONS)}")


def load_site_expected(
    session: Session,
    site_ids: Sequence[int],
    start_utc: int | dt.datetime | pd.Timestamp,
    end_utc: int | dt.datetime | pd.Timestamp,
    resolution: str,
) -> pd.DataFrame:
    """Stored predictions of ``site_ids`` with buckets starting in [start_utc, end_utc), per site and bucket.

    Columns: site_id, start (UTC, tz-aware), expected_kwh [kWh], variance_kwh2 [kWh²]. ``resolution`` "hh" |
    "hour" | "day" (day = the site-local day, ``start`` its local midnight in UTC). Sites without a usable model
    have no rows. Times are tz-aware datetimes or UTC epoch seconds.
    """
    _check_resolution(resolution)
    lo, hi = _epoch(start_utc), _epoch(end_utc)
    rows = (
        session.execute(
            select(SiteExpected.site_id, SiteExpected.start_ts, SiteExpected.expected_kwh, SiteExpected.variance_kwh2)
            .where(
                in_ids(SiteExpected.site_id, [int(s) for s in site_ids]),
                SiteExpected.resolution == resolution,
                SiteExpected.start_ts >= lo,
                SiteExpected.start_ts < hi,
            )
            .order_by(SiteExpected.site_id, SiteExpected.start_ts)
        ).all()
        if len(site_ids)
        else []
    )
    return _site_expected_frame(rows)


def _site_expected_frame(rows: Sequence[Sequence[Any]], *, epoch: bool = False) -> pd.DataFrame:
    """Rows of (site_id, start_ts, expected_kwh, variance_kwh2) as a frame, converted as one float64 block (ids
    and epoch seconds are exact in it; pandas probing rows one by one costs seconds for a year of half hours). Rows
    become plain tuples first: numpy probes a SQLAlchemy Row's attributes through its missing-key path (~20 µs)."""
    values = np.array(as_tuples(rows), dtype=np.float64).reshape(-1, 4)
    seconds = values[:, 1].astype("int64")
    return pd.DataFrame(
        {
            "site_id": values[:, 0].astype("int64"),
            "start": seconds if epoch else _utc_index(seconds),
            "expected_kwh": values[:, 2],
            "variance_kwh2": values[:, 3],
        }
    )[SITE_EXPECTED_COLUMNS]


def load_site_expected_in(
    session: Session, spans: Mapping[int, Sequence[tuple[int, int]]], resolution: str, *, epoch: bool = False
) -> pd.DataFrame:
    """Stored predictions within each site's spans [UTC epoch s) (as :func:`load_site_expected`): a graph needs
    them only where a site is incomplete. ``epoch``: bucket starts as ``start_ts`` [UTC epoch s] instead of
    ``start`` timestamps (the graph's coverage works in epoch seconds: no round trip through datetimes)."""
    _check_resolution(resolution)
    rows = span_rows(
        session,
        "SELECT e.site_id, e.start_ts, e.expected_kwh, e.variance_kwh2 FROM site_expected e __SPAN_JOIN__"
        " WHERE e.resolution = :resolution ORDER BY e.site_id, e.start_ts",
        spans,
        {"resolution": resolution},
    )
    frame = _site_expected_frame(rows, epoch=epoch)
    return frame.rename(columns={"start": "start_ts"}) if epoch else frame


def load_site_expected_sums(
    session: Session, site_ids: Sequence[int], resolution: str, lo_ts: int, hi_ts: int
) -> pd.DataFrame:
    """The stored predictions of ``site_ids`` added per bucket in SQL: start_ts, expected_kwh, variance_kwh2, sites.

    Variances add (site errors independent); ``sites`` counts the site rows summed in each bucket.
    """
    _check_resolution(resolution)
    if not len(site_ids):
        return pd.DataFrame(
            {c: pd.Series(dtype="int64" if c in ("start_ts", "sites") else "float64") for c in SUM_COLUMNS}
        )
    statement = (
        select(
            SiteExpected.start_ts,
            func.sum(SiteExpected.expected_kwh),
            func.sum(SiteExpected.variance_kwh2),
            func.count(),
        )
        .where(
            in_ids(SiteExpected.site_id, [int(s) for s in site_ids]),
            SiteExpected.resolution == resolution,
            SiteExpected.start_ts >= lo_ts,
            SiteExpected.start_ts < hi_ts,
        )
        .group_by(SiteExpected.start_ts)
        .order_by(SiteExpected.start_ts)
    )
    frame = pd.DataFrame([tuple(r) for r in session.execute(statement)], columns=SUM_COLUMNS)
    return frame.astype({"start_ts": "int64", "expected_kwh": "float64", "variance_kwh2": "float64", "sites": "int64"})


def count_sites_expected(session: Session, site_ids: Sequence[int], resolution: str, lo_ts: int, hi_ts: int) -> int:
    """How many of ``site_ids`` have a stored prediction in a bucket starting in [lo_ts, hi_ts) [UTC epoch s]."""
    _check_resolution(resolution)
    if not len(site_ids):
        return 0
    statement = select(func.count(distinct(SiteExpected.site_id))).where(
        in_ids(SiteExpected.site_id, [int(s) for s in site_ids]),
        SiteExpected.resolution == resolution,
        SiteExpected.start_ts >= lo_ts,
        SiteExpected.start_ts < hi_ts,
    )
    return int(session.scalar(statement) or 0)


SITE_DAY_TOTAL_COLUMNS = {
    "site_id": "int64",
    "local_date": "object",
    "expected_kwh": "float64",
    "standard_error_kwh": "float64",
}
_SE = "CASE WHEN e.variance_kwh2 > 0 THEN sqrt(e.variance_kwh2) ELSE 0 END"  # PostgreSQL's sqrt raises below 0


def load_site_day_totals_in(
    session: Session,
    spans: Mapping[int, Sequence[tuple[int, int]]],
    offsets: Sequence[tuple[int, int]],
    resolution: str,
) -> pd.DataFrame:
    """Each site's stored predictions within its spans, added up per local day in SQL: site_id, local_date,
    expected_kwh [kWh] and standard_error_kwh [kWh], the rows' standard errors added (one site's errors fully
    correlated, as wherever a site's missing intervals are estimated). Site-days without rows are absent.

    ``offsets``: the zone's UTC offsets over the spans (:func:`portfolio.timekeeping.utc_offset_periods`); a row's
    local date is its start plus the offset then, in whole days. A day a site did not report at all is estimated
    from this one row, not from its 48 half hours.
    """
    _check_resolution(resolution)
    if not spans or not offsets:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in SITE_DAY_TOTAL_COLUMNS.items()})
    day, day_params = local_day_number_sql("e.start_ts", offsets)
    params: dict[str, Any] = {"resolution": resolution, **day_params}
    sql = (
        f"SELECT e.site_id, {day} AS day_number, SUM(e.expected_kwh), SUM({_SE})"
        " FROM site_expected e __SPAN_JOIN__ WHERE e.resolution = :resolution GROUP BY e.site_id, day_number"
    )
    values = np.array(span_rows(session, sql, spans, params), dtype=np.float64).reshape(-1, 4)
    frame = (
        pd.DataFrame(
            {
                "site_id": values[:, 0].astype("int64"),
                "day_number": values[:, 1].astype("int64"),
                "expected_kwh": values[:, 2],
                "standard_error_kwh": values[:, 3],
            }
        )
        .groupby(["site_id", "day_number"], as_index=False)
        .sum()
    )  # a site-day split over two of its spans, added
    epoch = dt.date(1970, 1, 1)
    frame["local_date"] = [epoch + dt.timedelta(days=int(n)) for n in frame["day_number"]]
    return frame[list(SITE_DAY_TOTAL_COLUMNS)].astype(
        {c: t for c, t in SITE_DAY_TOTAL_COLUMNS.items() if t != "object"}
    )


def load_sites_expected_in(
    session: Session, spans: Mapping[int, Sequence[tuple[int, int]]], resolution: str
) -> set[int]:
    """The sites with at least one stored prediction within their spans: those a model stands in for there."""
    _check_resolution(resolution)
    return span_sites_having(session, "site_expected", "e.resolution = :resolution", spans, {"resolution": resolution})


def load_site_expected_sums_in(
    session: Session, spans: Mapping[int, Sequence[tuple[int, int]]], resolution: str
) -> pd.DataFrame:
    """The stored predictions within each site's spans added per bucket in SQL (as :func:`load_site_expected_sums`):
    start_ts, expected_kwh, variance_kwh2 (variances add: sites independent), sites (rows summed)."""
    _check_resolution(resolution)
    sql = (
        "SELECT e.start_ts, SUM(e.expected_kwh), SUM(e.variance_kwh2), COUNT(*) FROM site_expected e __SPAN_JOIN__"
        " WHERE e.resolution = :resolution GROUP BY e.start_ts"
    )
    rows = span_rows(session, sql, spans, {"resolution": resolution}) if spans else []
    values = np.array(rows, dtype=np.float64).reshape(-1, 4)
    frame = pd.DataFrame(
        {
            "start_ts": values[:, 0].astype("int64"),
            "expected_kwh": values[:, 1],
            "variance_kwh2": values[:, 2],
            "sites": values[:, 3].astype("int64"),
        }
    )
    return frame.groupby("start_ts", as_index=False).sum().sort_values("start_ts", ignore_index=True)[SUM_COLUMNS]


def load_expected_states(session: Session, site_ids: Sequence[int] | None = None) -> dict[int, SiteExpectedState]:
    """Provenance of each site's stored predictions (sites without predictions are absent)."""
    statement = select(SiteExpectedState)
    if site_ids is not None:
        statement = statement.where(in_ids(SiteExpectedState.site_id, [int(s) for s in site_ids]))
    return {state.site_id: state for state in session.scalars(statement)}


def load_model_fits(session: Session, site_ids: Sequence[int] | None = None) -> pd.DataFrame:
    """site_id, status, fitted_at of every stored model (without the fitted parameters)."""
    statement = select(SiteModel.site_id, SiteModel.status, SiteModel.fitted_at).order_by(SiteModel.site_id)
    if site_ids is not None:
        statement = statement.where(in_ids(SiteModel.site_id, [int(s) for s in site_ids]))
    return pd.DataFrame(session.execute(statement).all(), columns=["site_id", "status", "fitted_at"])


def delete_site_expected(session: Session, site_ids: Sequence[int]) -> None:
    """Forget the stored predictions of ``site_ids`` (their model is gone or unusable)."""
    ids = [int(s) for s in site_ids]
    if ids:
        mark_usage_changed(session)
        session.execute(delete(SiteExpected).where(SiteExpected.site_id.in_(ids)))
        session.execute(delete(SiteExpectedState).where(SiteExpectedState.site_id.in_(ids)))


def delete_site_predictions(session: Session, site_ids: Sequence[int], resolutions: Sequence[str]) -> int:
    """Drop the stored predictions of ``site_ids`` at ``resolutions`` (e.g. the half-hourly and hourly ones of sites
    opted out of half-hourly data: their daily ones stay); returns rows."""
    if not site_ids or not resolutions:
        return 0
    mark_usage_changed(session)
    result = session.execute(
        delete(SiteExpected)
        .where(SiteExpected.site_id.in_(sorted(int(s) for s in site_ids)), SiteExpected.resolution.in_(resolutions))
        .execution_options(synchronize_session=False)
    )
    return int(cast(CursorResult[Any], result).rowcount or 0)


def prune_site_expected(session: Session, before_ts: int) -> int:
    """Drop stored predictions of buckets before ``before_ts`` (out of every site's window); returns rows."""
    mark_usage_changed(session)
    result = cast(CursorResult[Any], session.execute(delete(SiteExpected).where(SiteExpected.start_ts < before_ts)))
    return int(result.rowcount or 0)


def replace_site_expected(
    session: Session,
    site_id: int,
    from_ts: dict[str, int],
    rows: Sequence[tuple[object, ...]],
    state: SiteExpectedState,
) -> None:
    """Replace one site's rows of each resolution from ``from_ts[resolution]`` on, and its state row.

    ``rows``: (site_id, resolution, start_ts, expected_kwh, variance_kwh2). Rows before ``from_ts`` stay.
    """
    mark_usage_changed(session)
    for resolution, start_ts in from_ts.items():
        session.execute(
            delete(SiteExpected).where(
                SiteExpected.site_id == site_id,
                SiteExpected.resolution == resolution,
                SiteExpected.start_ts >= start_ts,
            )
        )
    session.execute(delete(SiteExpectedState).where(SiteExpectedState.site_id == site_id))
    if rows and session.get_bind().dialect.name == "postgresql":  # COPY: a daily run writes ~1.3M rows
        with driver_connection(session).cursor() as cursor, cursor.copy(_COPY_SITE) as copy:
            for row in rows:
                copy.write_row(row)
    elif rows:
        session.connection().exec_driver_sql(_INSERT_SITE.format(marks=", ".join(["?"] * 5)), list(rows))
    session.add(state)


def load_site_rows(session: Session, site_ids: Sequence[int], from_ts: Mapping[str, int], hi_ts: int) -> pd.DataFrame:
    """The stored rows of ``site_ids`` from ``from_ts[resolution]`` up to ``hi_ts`` [UTC epoch s]: the rows a
    :func:`replace_site_expected` with the same ``from_ts`` is about to replace (site_id, resolution, start_ts,
    expected_kwh, variance_kwh2), read through the driver's cursor as numbers (a chunk of whole sites is millions
    of rows; ids and epoch seconds are exact in float64)."""
    ids = [int(s) for s in site_ids]
    blocks: list[tuple[int, np.ndarray]] = []
    if ids and from_ts:
        marks = ", ".join(f":site_{n}" for n in range(len(ids)))
        params: dict[str, object] = {f"site_{n}": s for n, s in enumerate(ids)}
        sql = (
            "SELECT site_id, start_ts, expected_kwh, variance_kwh2 FROM site_expected"
            f" WHERE site_id IN ({marks}) AND resolution = :resolution AND start_ts >= :lo AND start_ts < :hi"
        )
        for resolution, lo in from_ts.items():
            _check_resolution(resolution)
            bound = {**params, "resolution": resolution, "lo": int(lo), "hi": int(hi_ts)}
            rows = driver_rows(session, sql, bound)  # plain tuples: numpy probes a Row object for ~20 µs
            if rows:
                blocks.append((RESOLUTIONS.index(resolution), np.array(rows, dtype=np.float64)))
    return _site_rows_frame(blocks)


def empty_site_rows() -> pd.DataFrame:
    """No site rows (:func:`load_site_rows`'s columns)."""
    return _site_rows_frame([])


def _site_rows_frame(blocks: Sequence[tuple[int, np.ndarray]]) -> pd.DataFrame:
    """Blocks of (resolution index, rows of site_id, start_ts, expected_kwh, variance_kwh2) as one frame."""
    values = np.concatenate([b for _, b in blocks]) if blocks else np.empty((0, 4))
    codes = np.concatenate([np.full(len(b), code, dtype=np.int8) for code, b in blocks]) if blocks else np.empty(0)
    return pd.DataFrame(
        {
            "site_id": values[:, 0].astype(np.int64),
            "resolution": pd.Categorical.from_codes(
                codes.astype(np.int8), dtype=pd.CategoricalDtype(list(RESOLUTIONS))
            ),
            "start_ts": values[:, 1].astype(np.int64),
            "expected_kwh": values[:, 2],
            "variance_kwh2": values[:, 3],
        }
    )
