"""Typed SQLAlchemy 2 models: the shape of everything the dashboard stores.

High-volume series (interval readings, weather) keep their time as integer UTC epoch seconds:
unambiguous, compact, and the same arithmetic on SQLite and PostgreSQL. Everything else uses
timezone-aware datetimes.

One module per domain noun; this package imports them all, so every model is registered on ``Base``
before mappers configure, and re-exports them: ``from portfolio.models import X`` is the way in.
"""

from __future__ import annotations

from portfolio.models.accounts import AccountToken, LoginAttempt, User, UserSession
from portfolio.models.audit import AuditEntry
from portfolio.models.base import NAMING_CONVENTION, Base
from portfolio.models.computed_results import ComputedResult, DataVersion
from portfolio.models.consent import Grant, SharedView, SharedViewOpen, SharedViewRecipient, grant_sites
from portfolio.models.enrolment import Enrolment, OrganisationContact
from portfolio.models.enums import (
    ApplicationStatus,
    ContactKind,
    ContactSource,
    DataType,
    Direction,
    Fuel,
    GranteeKind,
    IdentifierKind,
    MeterType,
    ModelStatus,
    OutboxStatus,
    Right,
    Role,
    RunStatus,
    TokenPurpose,
    WeatherKind,
)
from portfolio.models.expected import (
    SiteExpected,
    SiteExpectedState,
    SiteMissingEstimate,
    SiteMissingEstimateState,
    SiteModel,
)
from portfolio.models.groups import PortfolioGroup, portfolio_group_sites
from portfolio.models.notifications import Notification, NotificationPreference, OutboxEmail
from portfolio.models.pipeline import PipelineLock, PipelineRun
from portfolio.models.readings import DailyUsage, ImportProfile, ImportRecord, Reading, WeatherReading
from portfolio.models.series import ExpectedSeries, ExpectedSeriesRefresh, PortfolioSeries
from portfolio.models.sites import UNASSIGNED_ACCOUNT, Meter, Organisation, Site, WeatherLocation
from portfolio.models.third_parties import (
    OAuthCode,
    OAuthToken,
    ThirdPartyApplication,
    ThirdPartyAuthorization,
    ThirdPartyNotification,
)
from portfolio.models.trackers import Tracker, TrackerAlert, TrackerEvaluation

__all__ = [
    "AccountToken",
    "ApplicationStatus",
    "AuditEntry",
    "Base",
    "ComputedResult",
    "ContactKind",
    "ContactSource",
    "DailyUsage",
    "DataType",
    "DataVersion",
    "Direction",
    "Enrolment",
    "ExpectedSeries",
    "ExpectedSeriesRefresh",
    "Fuel",
    "Grant",
    "GranteeKind",
    "IdentifierKind",
    "ImportProfile",
    "ImportRecord",
    "LoginAttempt",
    "Meter",
    "MeterType",
    "ModelStatus",
    "NAMING_CONVENTION",
    "Notification",
    "NotificationPreference",
    "OAuthCode",
    "OAuthToken",
    "Organisation",
    "OrganisationContact",
    "OutboxEmail",
    "OutboxStatus",
    "PipelineLock",
    "PipelineRun",
    "PortfolioGroup",
    "PortfolioSeries",
    "Reading",
    "Right",
    "Role",
    "RunStatus",
    "SharedView",
    "SharedViewOpen",
    "SharedViewRecipient",
    "Site",
    "SiteExpected",
    "SiteExpectedState",
    "SiteMissingEstimate",
    "SiteMissingEstimateState",
    "SiteModel",
    "ThirdPartyApplication",
    "ThirdPartyAuthorization",
    "ThirdPartyNotification",
    "TokenPurpose",
    "Tracker",
    "TrackerAlert",
    "TrackerEvaluation",
    "UNASSIGNED_ACCOUNT",
    "User",
    "UserSession",
    "WeatherKind",
    "WeatherLocation",
    "WeatherReading",
    "grant_sites",
    "portfolio_group_sites",
]
