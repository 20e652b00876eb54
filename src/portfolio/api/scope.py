"""ESPI scope strings (``FB=4_5_15;IntervalDuration=1800;BlockDuration=daily;HistoryLength=34128000``): parsed once.

A third party asks for a scope; the customer then chooses what to grant within it; both limits apply to every call.

* ``FB``: Green Button function blocks, joined by ``_``. This portal reads: 4 (interval metering) as interval usage,
  15 or 16 (usage summaries) as daily totals, 51 (retail customer and service locations) as site and account details.
  Other blocks (1, 3, 5, 13, 14 ...) describe the protocol and are accepted without adding data.
* ``IntervalDuration``: the interval lengths [s] served, joined by ``_``; readings of other lengths are left out.
* ``BlockDuration``: ``daily`` only (the feed writes one IntervalBlock per local day).
* ``HistoryLength``: how far back from now data may be read [s]; absent: no limit beyond the grant's.
Other keys (``SubscriptionFrequency``, ``AccountCollection``...) are kept in the string and otherwise ignored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from portfolio.models import DataType

DATA_BY_FUNCTION_BLOCK: dict[int, DataType] = {
    4: DataType.INTERVAL_USAGE,
    15: DataType.DAILY_TOTALS,
    16: DataType.DAILY_TOTALS,
    51: DataType.SITE_DETAILS,
}
BLOCK_DURATIONS = frozenset({"daily"})
MAX_SCOPE_LENGTH = 500


class ScopeError(ValueError):
    """A scope string that cannot be granted; the message names the part at fault."""


@dataclass(frozen=True)
class EspiScope:
    text: str
    function_blocks: frozenset[int]
    interval_durations: frozenset[int]
    block_duration: str
    history_length: int | None  # [s]

    @property
    def data_types(self) -> frozenset[DataType]:
        """The data types this scope asks for (the customer may grant fewer)."""
        return frozenset(DATA_BY_FUNCTION_BLOCK[fb] for fb in self.function_blocks if fb in DATA_BY_FUNCTION_BLOCK)

    def earliest(self, now: dt.datetime) -> dt.datetime | None:
        """The oldest instant the scope lets a call read at ``now``; None: no limit."""
        return None if self.history_length is None else now - dt.timedelta(seconds=self.history_length)


def _positive_ints(key: str, value: str) -> list[int]:
    try:
        numbers = [int(part) for part in value.split("_")]
    except ValueError:
        raise ScopeError(f"scope {key}={value!r}: expected whole numbers joined by '_'") from None
    if not numbers or min(numbers) <= 0:
        raise ScopeError(f"scope {key}={value!r}: numbers must be positive")
    return numbers


def parse_scope(text: object) -> EspiScope:
    """Parse an ESPI scope string; refuse a malformed one with the reason (nothing is granted on a bad scope)."""
    raw = str(text or "").strip()
    if not raw:
        raise ScopeError("scope is empty: ask for e.g. FB=4_15;IntervalDuration=1800;BlockDuration=daily")
    if len(raw) > MAX_SCOPE_LENGTH:
        raise ScopeError(f"scope is longer than {MAX_SCOPE_LENGTH} characters")
    pairs: dict[str, str] = {}
    for part in filter(None, (piece.strip() for piece in raw.split(";"))):
        key, sep, value = part.partition("=")
        if not sep or not key or not value:
            raise ScopeError(f"scope part {part!r} is not KEY=VALUE")
        if key in pairs:
            raise ScopeError(f"scope key {key} appears twice")
        pairs[key] = value
    if "FB" not in pairs:
        raise ScopeError("scope has no FB (function blocks)")
    blocks = frozenset(_positive_ints("FB", pairs["FB"]))
    if not blocks & DATA_BY_FUNCTION_BLOCK.keys():
        raise ScopeError(f"scope FB={pairs['FB']} asks for no data: include 4, 15, 16 or 51")
    durations = frozenset(_positive_ints("IntervalDuration", pairs.get("IntervalDuration", "1800_3600")))
    block = pairs.get("BlockDuration", "daily")
    if block not in BLOCK_DURATIONS:
        raise ScopeError(f"scope BlockDuration={block!r}: only 'daily' is offered")
    history = _positive_ints("HistoryLength", pairs["HistoryLength"])[0] if "HistoryLength" in pairs else None
    return EspiScope(raw, blocks, durations, block, history)
