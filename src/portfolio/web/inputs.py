"""Typed checks for what a browser sends: a bad value raises :class:`InputError`, which becomes HTTP 400.

Dash callbacks are public HTTP endpoints: any of them can be posted any JSON. The dispatch guard in
:mod:`portfolio.web.callback_guard` checks the payload's shape and the types of the standard properties before
Dash runs a callback; callbacks use these helpers for the meaning of their own values (an id that must be an
integer, a date, one of a few choices), and raise :class:`InputError` with a message naming the problem.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

MAX_ID = 2**31 - 1  # ids are INTEGER columns: anything larger names nothing and would overflow PostgreSQL


class InputError(ValueError):
    """A request value that cannot be used as sent; the message names the value and the problem."""


def as_count(value: Any, name: str = "n_clicks") -> int:
    """A click or tick counter: a non-negative int, with None (never clicked) as 0."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"{name} must be a non-negative integer, not {value!r:.60}")
    return value


def as_id(value: Any, name: str = "id") -> int:
    """A database id sent by the page: a positive integer (an int, or a string of digits)."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise InputError(f"{name} must be a positive integer id, not {value!r:.60}")
    return value


def as_optional_id(value: Any, name: str = "id") -> int | None:
    return None if value in (None, "") else as_id(value, name)


def as_choice(value: Any, allowed: Collection[str], name: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise InputError(f"{name} must be one of {', '.join(sorted(allowed))}, not {value!r:.60}")
    return value


def as_optional_date(value: Any, name: str = "date") -> dt.date | None:
    """A date picker's value: None, or an ISO date (a datetime string is cut to its date), in years 1900..9999."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise InputError(f"{name} must be an ISO date, not {value!r:.60}")
    try:
        parsed = dt.date.fromisoformat(value[:10])
    except ValueError:
        raise InputError(f"{name} must be an ISO date (YYYY-MM-DD), not {value!r:.60}") from None
    if parsed.year < 1900:
        raise InputError(f"{name} is out of range: {value!r:.60}")
    return parsed


def as_mapping(value: Any, name: str) -> dict[str, Any]:
    """A JSON object the page echoes back (a ``dcc.Store``'s data): None is empty, anything but an object is refused."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(f"{name} must be an object, not {type(value).__name__}")
    return value


def as_choices(value: Any, allowed: Collection[str], name: str) -> list[str]:
    """A checklist's value: None is nothing chosen; else a list of the allowed strings."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v in allowed for v in value):
        raise InputError(f"{name} must be a list drawn from {', '.join(sorted(allowed))}, not {value!r:.60}")
    return value


def as_optional_text(value: Any, name: str, max_length: int) -> str | None:
    """A text value (a file name, a token, a data URL): None or "" is none; anything but a string is refused."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise InputError(f"{name} must be text, not {type(value).__name__}")
    if len(value) > max_length:
        raise InputError(f"{name} is longer than {max_length:,} characters")
    return value
