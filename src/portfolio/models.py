"""Typed SQLAlchemy 2 models: the shape of everything the dashboard stores.

High-volume series (interval readings, weather) keep their time as integer UTC epoch seconds:
unambiguous, compact, and the same arithmetic on SQLite and PostgreSQL. Everything else uses
timezone-aware datetimes.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

UNASSIGNED_ACCOUNT = "UNASSIGNED"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _enum(kind: type[enum.Enum], name: str) -> Enum:
    """Store enums as their values in a checked VARCHAR: portable, readable in SQL, no native types to migrate."""
    return Enum(
        kind,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Role(str, enum.Enum):
    CUSTOMER = "customer"
    BROKER = "broker"
    ACCOUNT_MANAGER = "account_manager"
    ADMIN = "admin"


class Fuel(str, enum.Enum):
    POWER = "power"
    GAS = "gas"


class MeterType(str, enum.Enum):
    SMART = "smart"
    AMR = "amr"
    HH = "hh"


class Direction(str, enum.Enum):
    IMPORT = "import"
    EXPORT = "export"


class IdentifierKind(str, enum.Enum):
    MPAN = "mpan"
    MPRN = "mprn"
    ESPI = "espi"  # a Green Button UsagePoint, identified by its Atom id
    OTHER = "other"  # e.g. a data logger or smart-meter id such as an LCL household id


class WeatherKind(str, enum.Enum):
    OBSERVED = "observed"
    FORECAST = "forecast"


class RunStatus(enum.StrEnum):
    """``PipelineRun.status``: a run is "partial" when some step reported errors but none failed outright."""

    RUNNING = "running"
    OK = "ok"
    PARTIAL = "partial"
    FAILED = "failed"


class OutboxStatus(enum.StrEnum):
    """``OutboxEmail.status``: pending until sent, or failed once the retries are used up."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class ModelStatus(enum.StrEnum):
    """``SiteModel.status``: "insufficient" means too little data to fit; "failed" means the fit itself broke."""

    OK = "ok"
    INSUFFICIENT = "insufficient"
    FAILED = "failed"


portfolio_group_sites = Table(
    "portfolio_group_sites",
    Base.metadata,
    Column("group_id", ForeignKey("portfolio_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
)


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    account_number: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    sites: Mapped[list[Site]] = relationship(back_populates="organisation")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    display_name: Mapped[str | None] = mapped_column(String(200))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="SET NULL"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    organisation: Mapped[Organisation | None] = relationship()


class WeatherLocation(Base):
    __tablename__ = "weather_locations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)


class Site(Base):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(16))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    time_zone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    fuel: Mapped[Fuel] = mapped_column(_enum(Fuel, "fuel"))
    meter_type: Mapped[MeterType] = mapped_column(_enum(MeterType, "meter_type"))
    profile_class: Mapped[str | None] = mapped_column(String(8))
    direction: Mapped[Direction] = mapped_column(_enum(Direction, "direction"), default=Direction.IMPORT)
    weather_location_id: Mapped[int | None] = mapped_column(ForeignKey("weather_locations.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    organisation: Mapped[Organisation] = relationship(back_populates="sites")
    meters: Mapped[list[Meter]] = relationship(back_populates="site", cascade="all, delete-orphan")
    weather_location: Mapped[WeatherLocation | None] = relationship()


class Meter(Base):
    """A meter identifier (MPAN, MPRN, Green Button UsagePoint...) that data files use to name a site."""

    __tablename__ = "meters"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    identifier: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[IdentifierKind] = mapped_column(_enum(IdentifierKind, "identifier_kind"))

    site: Mapped[Site] = relationship(back_populates="meters")


class ImportRecord(Base):
    """One imported file: the ``source`` of the readings it brought."""

    __tablename__ = "imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    format: Mapped[str] = mapped_column(String(40))
    readings: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Reading(Base):
    """One metered interval. Unique per (site, interval start): re-importing a file changes nothing."""

    __tablename__ = "readings"
    __table_args__ = {"sqlite_with_rowid": False}  # clustered on the primary key: smaller, faster range scans

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    start_ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # UTC epoch seconds, interval start
    interval_seconds: Mapped[int] = mapped_column(Integer)
    energy_kwh: Mapped[float] = mapped_column(Float)
    estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("imports.id", ondelete="SET NULL"))
    original_value: Mapped[float | None] = mapped_column(Float)  # as read, before conversion to kWh
    original_unit: Mapped[str | None] = mapped_column(String(12))  # e.g. "m3", "hcf", "therm", "Wh"


class DailyUsage(Base):
    """Daily roll-up per site and *local* day, kept current by the loader so lists never scan raw readings."""

    __tablename__ = "daily_usage"
    __table_args__ = {"sqlite_with_rowid": False}  # clustered on the primary key: smaller, faster range scans

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    local_date: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    energy_kwh: Mapped[float] = mapped_column(Float)
    intervals: Mapped[int] = mapped_column(Integer)  # readings present that day
    estimated_intervals: Mapped[int] = mapped_column(Integer, default=0)
    interval_seconds: Mapped[int] = mapped_column(Integer)  # the shortest interval length seen that day


class WeatherReading(Base):
    __tablename__ = "weather_readings"
    __table_args__ = {"sqlite_with_rowid": False}  # clustered on the primary key: smaller, faster range scans

    location_id: Mapped[int] = mapped_column(ForeignKey("weather_locations.id", ondelete="CASCADE"), primary_key=True)
    hour_ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # UTC epoch seconds, start of the hour
    kind: Mapped[WeatherKind] = mapped_column(_enum(WeatherKind, "weather_kind"), primary_key=True)
    air_temperature_c: Mapped[float] = mapped_column(Float)
    issued_at_ts: Mapped[int | None] = mapped_column(BigInteger)  # forecasts: when the forecast was issued


class PortfolioGroup(Base):
    __tablename__ = "portfolio_groups"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    owner: Mapped[User] = relationship()
    sites: Mapped[list[Site]] = relationship(secondary=portfolio_group_sites)


class AuditEntry(Base):
    """Something that happened: who did it (``user_id``), and whose data it concerns (``organisation_id``).

    ``organisation_id`` is what lets a customer read "who has seen my data": a broker's export for a client
    names the client here. Summary entries (one "viewed_by" per outside person, organisation and day) carry a
    ``dedupe_key`` so repeats update ``last_at`` instead of adding rows.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_organisation_at", "organisation_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="SET NULL"))
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    last_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class LoginAttempt(Base):
    """Failed and successful logins, shared by every worker so rate limiting holds across processes."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_at", "email", "at_ts"),
        Index("ix_login_attempts_ip_at", "ip", "at_ts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at_ts: Mapped[int] = mapped_column(BigInteger)
    email: Mapped[str] = mapped_column(String(320))
    ip: Mapped[str | None] = mapped_column(String(64))
    success: Mapped[bool] = mapped_column(Boolean)


class PortfolioSeries(Base):
    """Consumption of a whole scope (a group, an organisation or everything) per fuel, location and interval.

    Kept current by ``portfolio.series`` on import and on group change, so a portfolio graph reads a few
    hundred rows instead of grouping millions of readings. ``scope_kind`` is "group", "org" or "all" (id 0);
    ``resolution`` is "hh", "hour" (UTC epoch bucket starts) or "day" (keyed by the local day's start as a
    UTC epoch second). Split by weather location (0 = none) so weighted temperatures come for free; the
    location rows of one bucket add up to the scope's total (a site has one location).
    """

    __tablename__ = "portfolio_series"
    __table_args__ = {"sqlite_with_rowid": False}  # clustered on the primary key: one range scan per graph

    scope_kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    scope_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fuel: Mapped[str] = mapped_column(String(8), primary_key=True)
    resolution: Mapped[str] = mapped_column(String(8), primary_key=True)
    start_ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    weather_location_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0: no weather location
    energy_kwh: Mapped[float] = mapped_column(Float)
    sites_reporting: Mapped[int] = mapped_column(Integer)
    estimated_intervals: Mapped[int] = mapped_column(Integer, default=0)


class ExpectedSeries(Base):
    """Expected consumption of a whole scope per fuel and bucket, summed from its sites' model forecasts.

    Precomputed in batch (``portfolio.expected_series``) for the scopes whose portfolios have more sites
    than a request may predict; keys mean what they mean in :class:`PortfolioSeries`. ``variance_kwh2`` is
    the sum of the sites' variances in the bucket (site errors taken as independent), ``sites`` the number
    of site forecasts summed. A scope's rows are replaced whole, in one transaction.
    """

    __tablename__ = "expected_series"
    __table_args__ = {"sqlite_with_rowid": False}  # clustered on the primary key: one range scan per graph

    scope_kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    scope_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fuel: Mapped[str] = mapped_column(String(8), primary_key=True)
    resolution: Mapped[str] = mapped_column(String(8), primary_key=True)
    start_ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    expected_kwh: Mapped[float] = mapped_column(Float)
    variance_kwh2: Mapped[float] = mapped_column(Float)
    sites: Mapped[int] = mapped_column(Integer)


class ExpectedSeriesRefresh(Base):
    """When a scope's expected series was last computed, over which range and from how many sites.

    A row exists exactly while the scope and fuel are maintained in ``expected_series``; written in the
    same transaction as its rows. ``sites``: the scope's sites of the fuel then; ``sites_modelled``: those
    with a forecast summed in.
    """

    __tablename__ = "expected_series_refreshes"

    scope_kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    scope_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fuel: Mapped[str] = mapped_column(String(8), primary_key=True)
    refreshed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    lo_ts: Mapped[int] = mapped_column(BigInteger)  # the window computed [UTC epoch s): local day starts
    hi_ts: Mapped[int] = mapped_column(BigInteger)
    sites: Mapped[int] = mapped_column(Integer)
    sites_modelled: Mapped[int] = mapped_column(Integer)


class SiteModel(Base):
    """A site's fitted expected-consumption model, refitted in batch and only ever used for prediction.

    ``status`` is "ok" (``model`` holds the fitted parameters), "insufficient" (``message`` says how much
    data is needed) or "failed". Quality figures come from an out-of-sample backtest (ASHRAE Guideline 14).
    """

    __tablename__ = "site_models"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    message: Mapped[str | None] = mapped_column(String(500))
    resolution: Mapped[str | None] = mapped_column(String(8))
    model: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    cvrmse_pct: Mapped[float | None] = mapped_column(Float)
    nmbe_pct: Mapped[float | None] = mapped_column(Float)
    training_days: Mapped[int | None] = mapped_column(Integer)
    data_end_ts: Mapped[int | None] = mapped_column(BigInteger)  # last reading start the fit saw [UTC epoch s]
    fitted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class SiteExpected(Base):
    """A site's expected consumption [kWh] and its variance [kWh²] per bucket, predicted from its stored model.

    Written in batch (``portfolio.services.expected_series``: after fitting, the daily run, new temperatures),
    never in a web request. ``resolution`` "hh" / "hour": the site's forecast summed into half-hour / hour
    buckets (UTC starts); "day": per site-local day (UTC start of the local midnight). Within one bucket a site's
    errors are taken as fully correlated; across sites graphs add variances (independent). A site without a
    usable model has no rows.
    """

    __tablename__ = "site_expected"
    __table_args__ = {"sqlite_with_rowid": False}  # clustered on (site, resolution, start): one range scan per site

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    resolution: Mapped[str] = mapped_column(String(8), primary_key=True)
    start_ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    expected_kwh: Mapped[float] = mapped_column(Float)
    variance_kwh2: Mapped[float] = mapped_column(Float)


class SiteExpectedState(Base):
    """Which fit a site's stored predictions come from and the window they cover [UTC epoch s).

    A row exists exactly while the site has rows in ``site_expected``; a model refitted since (``fitted_at``
    differs) makes the next refresh recompute the whole window, otherwise only the recent days and the forecast.
    """

    __tablename__ = "site_expected_state"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    model_fitted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    lo_ts: Mapped[int] = mapped_column(BigInteger)
    hi_ts: Mapped[int] = mapped_column(BigInteger)
    computed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Tracker(Base):
    """A user's consumption budget for one fuel over a local calendar period (day, week from Monday, month).

    ``scope_kind`` is "all" (scope_id NULL), "group" or "site"; access is re-checked at every evaluation.
    ``target_kind`` "kwh": ``target_value`` is the budget [kWh]; "percent": the budget is the models' expected
    consumption over the period plus ``target_value`` % (covering only the sites that have a model).
    """

    __tablename__ = "trackers"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    scope_kind: Mapped[str] = mapped_column(String(8))
    scope_id: Mapped[int | None] = mapped_column(Integer)
    fuel: Mapped[Fuel] = mapped_column(_enum(Fuel, "fuel"))
    period: Mapped[str] = mapped_column(String(8))
    target_kind: Mapped[str] = mapped_column(String(8))
    target_value: Mapped[float] = mapped_column(Float)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_evaluated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_result: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the last evaluation's figures and notes


class TrackerAlert(Base):
    """The one alert of a tracker and period: its unique key is what makes the pipeline notify only once."""

    __tablename__ = "tracker_alerts"
    __table_args__ = (UniqueConstraint("tracker_id", "period_start", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tracker_id: Mapped[int] = mapped_column(ForeignKey("trackers.id", ondelete="CASCADE"), index=True)
    period_start: Mapped[dt.date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))  # "exceeded" or "skipped" (access revoked, nothing to track)
    consumption_kwh: Mapped[float | None] = mapped_column(Float)
    target_kwh: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Notification(Base):
    """An in-app notification (the bell); ``dedupe_key`` makes re-running the pipeline harmless."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(2000))
    link: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class NotificationPreference(Base):
    """Which channels a user wants tracker alerts on; no row means both."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[bool] = mapped_column(Boolean, default=True)
    in_app: Mapped[bool] = mapped_column(Boolean, default=True)


class OutboxEmail(Base):
    """An email to send; kept with its attempts and last error until sent, so none is lost silently.

    ``status``: "pending" (to send when ``next_attempt_at`` has passed), "sent", or "failed" (gave up).
    """

    __tablename__ = "email_outbox"
    __table_args__ = (Index("ix_email_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(String(10000))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class PipelineRun(Base):
    """One run of the daily pipeline: per step counts, errors and duration in ``steps``."""

    __tablename__ = "pipeline_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_date: Mapped[dt.date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(12))  # running, ok, partial (some errors), failed
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class PipelineLock(Base):
    """The row that keeps two daily runs apart where there is no advisory lock (SQLite)."""

    __tablename__ = "pipeline_locks"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    run_date: Mapped[dt.date] = mapped_column(Date)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ImportProfile(Base):
    """A named hint for files the detector cannot read alone (meter column, labelling, unit, time basis).

    Saved with ``portfolio import --profile NAME``; re-applied automatically to later files whose header has the
    same signature (sha256 of the normalised header), so a data collector's odd layout is explained once.
    """

    __tablename__ = "import_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    header_signature: Mapped[str | None] = mapped_column(String(64), index=True)
    header: Mapped[str | None] = mapped_column(String(2000))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class UserSession(Base):
    """One signed-in browser session, kept server-side so logout and revocation end every copy of the cookie.

    The cookie carries a random id; only its SHA-256 (``id_hash``) is stored, so a database read does not hand
    out live sessions. ``client_hash`` binds the session to the browser that signed in (its User-Agent), and
    ``privilege_hash`` to the access rights it was issued for: a change rotates the id. Times are UTC epoch [s].
    """

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_id", "user_id"),)

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_ts: Mapped[int] = mapped_column(BigInteger)
    last_seen_ts: Mapped[int] = mapped_column(BigInteger)
    client_hash: Mapped[str] = mapped_column(String(64))
    privilege_hash: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))


class TokenPurpose(enum.StrEnum):
    """``AccountToken.purpose``: an invitation (valid for days) or a password reset (valid for an hour or so)."""

    INVITATION = "invitation"
    RESET = "reset"


class AccountToken(Base):
    """A one-time link to set a password: only its SHA-256 is stored, so reading the table hands out no link.

    Single use: ``used_at`` is set when the link sets a password. A link ends early (``expires_at`` moved to
    the moment) when a newer one of the same purpose is sent or another link of the user is used.
    """

    __tablename__ = "account_tokens"
    __table_args__ = (Index("ix_account_tokens_user_purpose", "user_id", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[TokenPurpose] = mapped_column(_enum(TokenPurpose, "token_purpose"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship()


# Consent: who may see an organisation's data besides its own people ------------------------------------------


class GranteeKind(str, enum.Enum):
    BROKER = "broker"  # a broker firm (grantee_organisation_id) or one broker (grantee_user_id)
    ACCOUNT_MANAGER = "account_manager"
    PERSON = "person"  # a named person by email (shared views, one-off consent)
    APPLICATION = "application"  # a third-party application (Connect My Data; application_id)


class Right(str, enum.Enum):
    READ = "read"
    MANAGE = "manage"  # brokers: groups, trackers and exports on the client's behalf


class DataType(str, enum.Enum):
    INTERVAL_USAGE = "interval_usage"  # half-hourly / hourly readings
    DAILY_TOTALS = "daily_totals"  # daily roll-ups (portfolio lists, trackers, daily graphs)
    SITE_DETAILS = "site_details"  # postcode, meter identifiers, account details


grant_sites = Table(
    "grant_sites",
    Base.metadata,
    Column("grant_id", ForeignKey("grants.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True, index=True),
)
"""The chosen sites of a grant that does not cover all of its organisation's sites."""


class Grant(Base):
    """One organisation's consent that someone outside it may see (or manage) some of its data for a while.

    Exactly one grantee column is set, as ``grantee_kind`` says: a user, a broker firm (every user whose
    organisation is the firm), an email address (a named person, who may not have an account yet) or, later,
    an application. The grant is active while not revoked and ``valid_from <= now < valid_until`` (no end:
    until revoked); :mod:`portfolio.access` reads active grants on every request. Revoked grants are kept as
    the organisation's history.
    """

    __tablename__ = "grants"
    __table_args__ = (
        Index("ix_grants_grantee_user", "grantee_user_id", "revoked_at"),
        Index("ix_grants_grantee_email", "grantee_email", "revoked_at"),
        Index("ix_grants_grantee_organisation", "grantee_organisation_id", "revoked_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    grantee_kind: Mapped[GranteeKind] = mapped_column(_enum(GranteeKind, "grantee_kind"))
    grantee_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    grantee_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"))
    grantee_email: Mapped[str | None] = mapped_column(String(320))  # lower-cased
    application_id: Mapped[int | None] = mapped_column(Integer)  # placeholder until applications exist
    all_sites: Mapped[bool] = mapped_column(Boolean, default=True)  # False: only the sites in grant_sites
    interval_usage: Mapped[bool] = mapped_column(Boolean, default=True)
    daily_totals: Mapped[bool] = mapped_column(Boolean, default=True)
    site_details: Mapped[bool] = mapped_column(Boolean, default=True)
    rights: Mapped[Right] = mapped_column(_enum(Right, "grant_rights"), default=Right.READ)
    valid_from: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    shared_view_id: Mapped[int | None] = mapped_column(ForeignKey("shared_views.id", ondelete="CASCADE"), index=True)

    organisation: Mapped[Organisation] = relationship(foreign_keys=[organisation_id])
    grantee_user: Mapped[User | None] = relationship(foreign_keys=[grantee_user_id])
    grantee_organisation: Mapped[Organisation | None] = relationship(foreign_keys=[grantee_organisation_id])
    granted_by: Mapped[User | None] = relationship(foreign_keys=[granted_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])
    sites: Mapped[list[Site]] = relationship(secondary=grant_sites)

    @property
    def data_types(self) -> frozenset[DataType]:
        flags = {
            DataType.INTERVAL_USAGE: self.interval_usage,
            DataType.DAILY_TOTALS: self.daily_totals,
            DataType.SITE_DETAILS: self.site_details,
        }
        return frozenset(kind for kind, granted in flags.items() if granted)


class SharedView(Base):
    """A saved view (group, local date range, fuel, granularity) shared read-only with named people.

    Sharing creates one read grant per recipient and organisation whose sites the view shows (``Grant.
    shared_view_id``), so :mod:`portfolio.access` needs no second rule; revoking the view revokes them.
    ``group_id`` NULL: the sharer's "All sites" at the time of sharing.
    """

    __tablename__ = "shared_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("portfolio_groups.id", ondelete="SET NULL"))
    date_from: Mapped[dt.date] = mapped_column(Date)
    date_to: Mapped[dt.date] = mapped_column(Date)  # inclusive, local days
    fuel: Mapped[str] = mapped_column(String(8))  # "power", "gas" or "both"
    granularity: Mapped[str] = mapped_column(String(8))  # "auto", "day", "hour" or "hh"
    valid_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    recipients: Mapped[list[SharedViewRecipient]] = relationship(
        back_populates="shared_view", cascade="all, delete-orphan", order_by="SharedViewRecipient.email"
    )


class SharedViewRecipient(Base):
    """One named person a view is shared with; ``user_id`` is set once an account has that email."""

    __tablename__ = "shared_view_recipients"
    __table_args__ = (UniqueConstraint("shared_view_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shared_view_id: Mapped[int] = mapped_column(ForeignKey("shared_views.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320), index=True)  # lower-cased
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    invited: Mapped[bool] = mapped_column(Boolean, default=False)  # an invitation email was queued

    shared_view: Mapped[SharedView] = relationship(back_populates="recipients")


class SharedViewOpen(Base):
    """Each time a recipient opened a shared view: what the sharer sees as "opened by ... at ..."."""

    __tablename__ = "shared_view_opens"
    __table_args__ = (Index("ix_shared_view_opens_view_at", "shared_view_id", "opened_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shared_view_id: Mapped[int] = mapped_column(ForeignKey("shared_views.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


# Green Button Connect My Data: third-party applications and their OAuth credentials ------------------------------


class ApplicationStatus(str, enum.Enum):
    PENDING = "pending"  # applied; customers cannot pick it yet
    APPROVED = "approved"
    REJECTED = "rejected"


class ThirdPartyApplication(Base):
    """A third party that may ask customers for their data (an OAuth client). Only approved ones are offered.

    The client secret is kept as a SHA-256 hash: the registering script sees it once, the database never holds it.
    """

    __tablename__ = "third_party_applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(2000))
    website: Mapped[str | None] = mapped_column(String(500))
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_secret_hash: Mapped[str] = mapped_column(String(64))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    notify_uri: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[ApplicationStatus] = mapped_column(_enum(ApplicationStatus, "application_status"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ThirdPartyAuthorization(Base):
    """An ESPI Authorization (and its Subscription): one customer's grant to one application, with its scope.

    ``uuid`` names both in URLs (``Subscription/{uuid}``, ``Authorization/{uuid}``), never the database id. What
    may be read is the grant's (sites, data types, validity, revocation), checked on every API call; ``scope``
    is the ESPI scope string the application asked for (interval lengths, history length).
    """

    __tablename__ = "third_party_authorizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id", ondelete="CASCADE"), unique=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("third_party_applications.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    scope: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_access_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    grant: Mapped[Grant] = relationship()
    application: Mapped[ThirdPartyApplication] = relationship()


class OAuthCode(Base):
    """A one-time authorization code (stored hashed) with its PKCE challenge; deleted when exchanged."""

    __tablename__ = "oauth_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    authorization_id: Mapped[int] = mapped_column(
        ForeignKey("third_party_authorizations.id", ondelete="CASCADE"), index=True
    )
    redirect_uri: Mapped[str] = mapped_column(String(1000))
    scope: Mapped[str] = mapped_column(String(500))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(10))
    auth_time: Mapped[int] = mapped_column(BigInteger)  # UTC epoch seconds
    expires_at: Mapped[int] = mapped_column(BigInteger)  # UTC epoch seconds


class OAuthToken(Base):
    """An access token and its refresh token, both stored as SHA-256 hashes; revoked ones are kept for the audit."""

    __tablename__ = "oauth_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    authorization_id: Mapped[int] = mapped_column(
        ForeignKey("third_party_authorizations.id", ondelete="CASCADE"), index=True
    )
    access_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(500))
    issued_at: Mapped[int] = mapped_column(BigInteger)  # UTC epoch seconds
    expires_in: Mapped[int] = mapped_column(Integer)  # access token lifetime [s]
    access_revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    refresh_revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    authorization: Mapped[ThirdPartyAuthorization] = relationship()


class ThirdPartyNotification(Base):
    """An ESPI BatchList to POST to an application's notification URI, kept with its attempts until delivered.

    ``status``: "pending" (send when ``next_attempt_at`` has passed), "sent", or "failed" (gave up); ``dedupe_key``
    (application and run date) makes re-running the daily pipeline harmless.
    """

    __tablename__ = "third_party_notifications"
    __table_args__ = (Index("ix_third_party_notifications_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("third_party_applications.id", ondelete="CASCADE"), index=True
    )
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    body: Mapped[str] = mapped_column(String(100000))
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    application: Mapped[ThirdPartyApplication] = relationship()


class TrackerEvaluation(Base):
    """One evaluation of a tracker's period, kept (the ledger): what was known then and what it projected.

    A re-evaluation after restated data (estimates replaced, late readings) adds a row; the latest row of a
    period is its current state. ``state`` is "under", "warning" (the projection's lower 90 % bound is above
    the amount) or "exceeded" (consumption so far is above it).
    """

    __tablename__ = "tracker_evaluations"
    __table_args__ = (Index("ix_tracker_evaluations_period", "tracker_id", "period_start", "evaluated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tracker_id: Mapped[int] = mapped_column(ForeignKey("trackers.id", ondelete="CASCADE"))
    period_start: Mapped[dt.date] = mapped_column(Date)
    period_end: Mapped[dt.date] = mapped_column(Date)
    data_day: Mapped[dt.date] = mapped_column(Date)  # readings counted up to and including this local day
    evaluated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    consumption_kwh: Mapped[float | None] = mapped_column(Float)
    target_kwh: Mapped[float | None] = mapped_column(Float)
    sites_reporting: Mapped[int] = mapped_column(Integer)
    sites_total: Mapped[int] = mapped_column(Integer)
    projection_kwh: Mapped[float | None] = mapped_column(Float)
    projection_lower_kwh: Mapped[float | None] = mapped_column(Float)  # 90 % band
    projection_upper_kwh: Mapped[float | None] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(10))  # "under", "warning" or "exceeded"
    reason: Mapped[str] = mapped_column(String(12))  # "daily", "import" (data arrived during the day)


# Enrolment: the supplier's customer list, contacts, and the micro-business half-hourly opt-out -------------------


class ContactKind(str, enum.Enum):
    PRIMARY = "primary"
    BILLING = "billing"
    GENERAL = "general"  # a shared mailbox or switchboard: shown, never edited by the customer


class ContactSource(str, enum.Enum):
    IMPORT = "import"  # from the customer list: a re-import replaces these
    CUSTOMER = "customer"  # given by the customer on the contact-details prompt: a re-import keeps these


class Enrolment(Base):
    """An organisation as the customer list describes it, and its micro-business half-hourly opt-out.

    One row per organisation imported from the customer list (others have none: not micro-business, never
    opted out). ``notice_at`` is when the 7-day opt-out notice went out (None: not sent yet); ``opted_out_at``
    set means no half-hourly or hourly data of the organisation's sites is kept or shown (daily totals only).
    """

    __tablename__ = "enrolments"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True)
    micro_business: Mapped[bool] = mapped_column(Boolean, default=False)
    elected_broker: Mapped[str | None] = mapped_column(String(320))  # as the list names it (firm name or email)
    notice_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    opted_out_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    organisation: Mapped[Organisation] = relationship()


class OrganisationContact(Base):
    """A person (or shared mailbox) to contact about an organisation's account; the email may be unknown."""

    __tablename__ = "organisation_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))  # lower-cased; None when the list has none
    kind: Mapped[ContactKind] = mapped_column(_enum(ContactKind, "contact_kind"))
    portal_user: Mapped[bool] = mapped_column(Boolean, default=False)  # uses the supplier's billing portal
    source: Mapped[ContactSource] = mapped_column(_enum(ContactSource, "contact_source"))
