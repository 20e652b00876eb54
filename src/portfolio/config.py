"""Settings from the environment: the only module that reads ``os.environ``."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in _TRUE


@dataclass(frozen=True)
class Settings:
    """Runtime configuration; build it with :func:`load_settings`, never at import time."""

    database_url: str
    secret_key: str
    instance_path: Path
    smtp_url: str = "smtp://127.0.0.1:25"
    mail_from: str = "portfolio@localhost"
    cookie_secure: bool = True
    login_max_failures: int = 5  # failures per (email, address) pair before sign-in delays begin
    login_window_seconds: int = 900  # [s] how long a failure counts towards the pair's delay
    login_max_delay_seconds: int = 900  # [s] the longest wait the pair's delay doubles up to
    login_email_ceiling: int = 100  # failures per email from all addresses in the ceiling window
    login_address_ceiling: int = 500  # failures per address for all emails in the ceiling window
    login_ceiling_window_seconds: int = 3600  # [s]
    login_notify_after: int = 10  # failures per email in the ceiling window that email the account's owner
    session_idle_seconds: int = 1800  # [s] a session unused this long ends
    session_absolute_seconds: int = 43200  # [s] a session ends this long after sign-in, used or not
    invitation_valid_seconds: int = 7 * 86400  # [s] how long an invitation link sets a password
    reset_valid_seconds: int = 3600  # [s] how long a password-reset link sets a password
    base_url: str = "http://127.0.0.1:8050"
    inbox_path: Path | None = None
    max_export_days: int = 400
    trusted_proxies: int = 0  # reverse proxies in front of the app whose X-Forwarded-* headers to believe
    retention_days: int = 1827  # [days] readings and derived series older than this many UK local days are deleted
    daily_run_nice: int = 10  # CPU priority the daily run lowers itself by (0-19): people browsing come first


def _positive(value: str, name: str) -> int:
    """A whole number of at least 1, or a ValueError naming the variable (a zero retention would empty the database)."""
    try:
        number = int(value.strip())
    except ValueError:
        raise ValueError(f"{name} must be a whole number of days, not {value!r}") from None
    if number < 1:
        raise ValueError(f"{name} must be at least 1, not {number}")
    return number


def _niceness(value: str) -> int:
    """0 (no change) to 19 (lowest priority), or a ValueError naming the variable."""
    try:
        number = int(value.strip())
    except ValueError:
        raise ValueError(f"PORTFOLIO_DAILY_RUN_NICE must be a whole number from 0 to 19, not {value!r}") from None
    if not 0 <= number <= 19:
        raise ValueError(f"PORTFOLIO_DAILY_RUN_NICE must be from 0 to 19, not {number}")
    return number


def _read_or_create_secret(instance_path: Path) -> str:
    """Keep one random secret per install so sessions survive restarts and no key sits in the code."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Read settings from ``environ`` (default ``os.environ``); keyword overrides win (tests use them)."""
    env = os.environ if environ is None else environ
    instance_path = Path(str(overrides.pop("instance_path", env.get("PORTFOLIO_INSTANCE", "instance")))).resolve()
    database_url = str(
        overrides.pop("database_url", None) or env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'portfolio.db'}"
    )
    secret_key = str(
        overrides.pop("secret_key", None) or env.get("SECRET_KEY") or _read_or_create_secret(instance_path)
    )
    inbox = env.get("PORTFOLIO_INBOX")
    values: dict[str, object] = dict(
        database_url=database_url,
        secret_key=secret_key,
        instance_path=instance_path,
        smtp_url=env.get("SMTP_URL", "smtp://127.0.0.1:25"),
        mail_from=env.get("MAIL_FROM", "portfolio@localhost"),
        cookie_secure=_flag(env.get("PORTFOLIO_COOKIE_SECURE"), True),
        login_max_failures=int(env.get("PORTFOLIO_LOGIN_MAX_FAILURES", "5")),
        login_window_seconds=int(env.get("PORTFOLIO_LOGIN_WINDOW_SECONDS", "900")),
        login_max_delay_seconds=int(env.get("PORTFOLIO_LOGIN_MAX_DELAY_SECONDS", "900")),
        login_email_ceiling=int(env.get("PORTFOLIO_LOGIN_EMAIL_CEILING", "100")),
        login_address_ceiling=int(env.get("PORTFOLIO_LOGIN_ADDRESS_CEILING", "500")),
        login_ceiling_window_seconds=int(env.get("PORTFOLIO_LOGIN_CEILING_WINDOW_SECONDS", "3600")),
        login_notify_after=int(env.get("PORTFOLIO_LOGIN_NOTIFY_AFTER", "10")),
        session_idle_seconds=int(env.get("PORTFOLIO_SESSION_IDLE_MINUTES", "30")) * 60,
        session_absolute_seconds=int(env.get("PORTFOLIO_SESSION_ABSOLUTE_HOURS", "12")) * 3600,
        invitation_valid_seconds=int(env.get("PORTFOLIO_INVITATION_VALID_DAYS", "7")) * 86400,
        reset_valid_seconds=int(env.get("PORTFOLIO_RESET_VALID_MINUTES", "60")) * 60,
        base_url=env.get("PORTFOLIO_BASE_URL", "http://127.0.0.1:8050"),
        inbox_path=Path(inbox).resolve() if inbox else instance_path / "inbox",
        max_export_days=int(env.get("PORTFOLIO_MAX_EXPORT_DAYS", "400")),
        trusted_proxies=int(env.get("PORTFOLIO_TRUSTED_PROXIES", "0")),
        retention_days=_positive(env.get("PORTFOLIO_RETENTION_DAYS", "1827"), "PORTFOLIO_RETENTION_DAYS"),
        daily_run_nice=_niceness(env.get("PORTFOLIO_DAILY_RUN_NICE", "10")),
    )
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
