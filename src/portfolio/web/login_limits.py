"""Sign-in limits that stop guessing without handing out lockouts.

* Per (email, address) pair: the first ``login_max_failures`` failures are free, then each further attempt waits
  twice as long as the one before (2 s, 4 s, 8 s, ... up to ``login_max_delay_seconds``). Only the guesser waits:
  the owner signing in from elsewhere, or a colleague behind the same office address, is not delayed.
* Per email and per address: much higher ceilings over ``login_ceiling_window_seconds``, which stop a guesser
  spreading attempts over many addresses or many accounts. An address the account signed in from within
  :data:`TRUSTED_DAYS` is exempt, so nobody can lock the owner out of their usual place by failing on purpose.
* The account's owner gets one email per ceiling window once ``login_notify_after`` failures have been counted.
* Every rule works on the email *as typed*: an unknown email is limited exactly like a real one, so the limits
  reveal nothing about which accounts exist.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from portfolio.config import Settings
from portfolio.models import User
from portfolio.queries.auth import FailureCounts, load_failure_counts
from portfolio.services.notifications import queue_email

FIRST_DELAY_SECONDS = 2
TRUSTED_DAYS = 30


def pair_delay_seconds(failures: int, free_failures: int, max_delay_seconds: int) -> int:
    """The wait [s] after the pair's latest failure: 0 while free, then doubling from 2 s up to the maximum."""
    if failures < free_failures:
        return 0
    return min(max_delay_seconds, FIRST_DELAY_SECONDS * 2 ** min(failures - free_failures, 30))


def retry_after_seconds(counts: FailureCounts, settings: Settings, now_ts: int) -> int:
    """How long [s] this pair must wait before its next attempt is weighed at all; 0 when it may try now."""
    delay = pair_delay_seconds(counts.pair, settings.login_max_failures, settings.login_max_delay_seconds)
    if delay and counts.pair_last_ts is not None and now_ts < counts.pair_last_ts + delay:
        return counts.pair_last_ts + delay - now_ts
    over_ceiling = counts.email >= settings.login_email_ceiling or counts.address >= settings.login_address_ceiling
    if over_ceiling and not counts.known_pair:
        return settings.login_ceiling_window_seconds
    return 0


def load_counts(session: Session, settings: Settings, *, email: str, ip: str | None, now_ts: int) -> FailureCounts:
    return load_failure_counts(
        session,
        email=email,
        ip=ip,
        pair_since_ts=now_ts - settings.login_window_seconds,
        ceiling_since_ts=now_ts - settings.login_ceiling_window_seconds,
        trusted_since_ts=now_ts - TRUSTED_DAYS * 86400,
    )


def describe_wait(seconds: int) -> str:
    if seconds <= 1:
        return "1 second"
    if seconds < 120:
        return f"{seconds} seconds"
    return f"{round(seconds / 60)} minutes"


def notify_owner_if_targeted(
    session: Session, settings: Settings, user: User, *, ip: str | None, now_ts: int, base_url: str
) -> bool:
    """Queue one email per ceiling window to the owner of an account with many recent failures (caller commits)."""
    counts = load_counts(session, settings, email=user.email, ip=ip, now_ts=now_ts)
    if counts.email < settings.login_notify_after:
        return False
    window = settings.login_ceiling_window_seconds
    body = (
        f"There have been {counts.email} failed attempts to sign in to your account ({user.email}) in the last "
        f"{describe_wait(window)}, the latest from address {ip or 'unknown'}.\n\n"
        "If this was you, there is nothing to do. If not, someone may be guessing your password: nobody has "
        "signed in with it, and attempts from new places are being slowed down. Consider choosing a longer "
        f"password and tell your administrator.\n\n{base_url}\n"
    )
    return queue_email(
        session,
        user,
        key=f"login-failures:{user.id}:{now_ts // window}",
        subject="Failed sign-in attempts on your account",
        body=body,
        now=dt.datetime.fromtimestamp(now_ts, dt.UTC),
    )
