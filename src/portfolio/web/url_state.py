"""The portfolio pages' state (group, date range, fuel) as it travels in the URL and the shell's store.

A bookmark such as ``/portfolio?group=12&from=2026-10-25&to=2026-11-24&fuel=power`` must reproduce the
view, so parsing is strict: every bad parameter is named in the error, nothing is guessed. Whether the
group is one the viewer may see is *not* decided here (that needs the database): callers pass the
parsed group to :func:`portfolio.services.groups.group_site_ids`, which refuses other people's groups.

The shell's ``dcc.Store`` (``ids.PORTFOLIO_STATE``) holds :func:`to_store` of the last valid state, so
other portfolio pages can open on the same group, range and fuel.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from portfolio.services.groups import ALL_SITES
from portfolio.timekeeping import MAX_RANGE_DAYS

DEFAULT_DAYS = 30
FUELS = ("power", "gas", "both")
DEFAULT_FUEL = "both"
URL_KEYS = ("group", "from", "to", "fuel")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_GROUP_ID = re.compile(r"^\d{1,10}$")
MAX_GROUP_ID = 2**31 - 1  # an INTEGER column: a larger number names no group and would overflow PostgreSQL
EARLIEST_YEAR = 1900  # no meter read before; keeps date arithmetic (``to`` minus 30 days) inside the calendar


class UrlStateError(ValueError):
    """The URL (or a request) carries a parameter we cannot use; the message names each problem."""


@dataclass(frozen=True)
class PortfolioState:
    """A validated selection: ``group`` is ``"all"`` or a numeric id; ``start``..``end`` are local days."""

    group: str
    start: dt.date
    end: dt.date
    fuel: str

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def default_range(today: dt.date) -> tuple[dt.date, dt.date]:
    """The last ``DEFAULT_DAYS`` whole local days, ending yesterday (today is still arriving)."""
    end = today - dt.timedelta(days=1)
    return end - dt.timedelta(days=DEFAULT_DAYS - 1), end


def default_state(today: dt.date) -> PortfolioState:
    start, end = default_range(today)
    return PortfolioState(ALL_SITES, start, end, DEFAULT_FUEL)


def _single(params: Mapping[str, object], key: str, problems: list[str]) -> str | None:
    """One text value, or None when absent or blank; a repeated parameter is a problem, not a choice."""
    value = params.get(key)
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        problems.append(f"'{key}' is given more than once")
        return None
    text = str(value).strip()
    return text or None


def _date(params: Mapping[str, object], key: str, problems: list[str]) -> dt.date | None:
    text = _single(params, key, problems)
    if text is None:
        return None
    try:
        if not _ISO_DATE.match(text):
            raise ValueError
        date = dt.date.fromisoformat(text)
    except ValueError:
        problems.append(f"'{key}' must be a date like 2026-10-25, not {text[:40]!r}")
        return None
    if date.year < EARLIEST_YEAR:
        problems.append(f"'{key}' ({date}) is before {EARLIEST_YEAR}")
        return None
    return date


def parse_state(params: Mapping[str, object], today: dt.date) -> PortfolioState:
    """Validate URL query parameters (or callback inputs under the same keys) into a state.

    Missing parameters take their defaults; the range defaults to the last 30 days ending yesterday.
    Raises :class:`UrlStateError` naming every problem found.
    """
    problems: list[str] = []
    default = default_state(today)
    group = _single(params, "group", problems) or default.group
    if group != ALL_SITES and not (_GROUP_ID.match(group) and int(group) <= MAX_GROUP_ID):
        problems.append(f"'group' must be a group number or '{ALL_SITES}', not {group[:40]!r}")
    fuel = (_single(params, "fuel", problems) or default.fuel).lower()
    if fuel not in FUELS:
        problems.append(f"'fuel' must be one of {', '.join(FUELS)}, not {fuel[:40]!r}")
    start = _date(params, "from", problems)
    end = _date(params, "to", problems)
    if start is None and end is None:
        start, end = default.start, default.end
    elif start is None and end is not None:
        start = end - dt.timedelta(days=DEFAULT_DAYS - 1)
    elif end is None:
        end = default.end
    if start is not None and end is not None:
        if end < start:
            problems.append(f"the range ends ({end}) before it starts ({start})")
        elif (end - start).days + 1 > MAX_RANGE_DAYS:
            problems.append(
                f"the range is {(end - start).days + 1} days; at most {MAX_RANGE_DAYS} days (two years) can be shown"
            )
        if end > today:
            problems.append(f"'to' ({end}) is in the future")
    if problems:
        raise UrlStateError("; ".join(problems))
    assert start is not None and end is not None
    return PortfolioState(group, start, end, fuel)


def to_params(state: PortfolioState) -> dict[str, str]:
    return {"group": state.group, "from": state.start.isoformat(), "to": state.end.isoformat(), "fuel": state.fuel}


def to_query(state: PortfolioState) -> str:
    """The ``?group=..&from=..&to=..&fuel=..`` part of a bookmarkable URL."""
    return "?" + urlencode(to_params(state))


def to_store(state: PortfolioState) -> dict[str, str]:
    """What the shell's store keeps: the URL parameters, plus the query string ready to append to a path."""
    return {**to_params(state), "query": to_query(state)}


def from_store(data: object, today: dt.date) -> PortfolioState | None:
    """The stored state if it is still valid (a stale or tampered store is ignored, never trusted)."""
    if not isinstance(data, Mapping) or not data:
        return None
    try:
        return parse_state({key: data.get(key) for key in URL_KEYS}, today)
    except UrlStateError:
        return None
