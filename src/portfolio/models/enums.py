"""Every enum of a stored state or kind, stored as its value (see :func:`portfolio.models.base.checked_enum`)."""

from __future__ import annotations

import enum

# People, sites and series ---------------------------------------------------------------------------------


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


# States: pipeline runs, outbox, site models, account links-------------------------------------------------------------


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


class TokenPurpose(enum.StrEnum):
    """``AccountToken.purpose``: an invitation (valid for days) or a password reset (valid for an hour or so)."""

    INVITATION = "invitation"
    RESET = "reset"


# Consent and third parties ------------------------------------------------------------------------------


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


class ApplicationStatus(str, enum.Enum):
    PENDING = "pending"  # applied; customers cannot pick it yet
    APPROVED = "approved"
    REJECTED = "rejected"


# Enrolment: the supplier's customer list and its contacts -----------------------------------------------


class ContactKind(str, enum.Enum):
    PRIMARY = "primary"
    BILLING = "billing"
    GENERAL = "general"  # a shared mailbox or switchboard: shown, never edited by the customer


class ContactSource(str, enum.Enum):
    IMPORT = "import"  # from the customer list: a re-import replaces these
    CUSTOMER = "customer"  # given by the customer on the contact-details prompt: a re-import keeps these
