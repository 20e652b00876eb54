"""What an export is: its shape, its format, and the facts every file states (range, time zone, units)."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass

from portfolio.exports.errors import ExportError


class ExportShape(str, enum.Enum):
    INTERVAL = "interval"  # one row per site and metered interval
    DAILY = "daily"  # one row per site and local day, with coverage
    PORTFOLIO = "portfolio"  # one row per fuel and interval: the portfolio sum and sites reporting


class ExportFormat(str, enum.Enum):
    CSV = "csv"
    XLSX = "xlsx"
    ESPI = "espi"  # Green Button Download My Data (ESPI Atom XML)


@dataclass(frozen=True)
class ExportMeta:
    """Facts about one export, stated in headers and file names.

    ``start``/``end`` are the first and last *local* days, inclusive; ``generated_at`` is timezone-aware;
    ``time_zone`` is the zone of the portfolio shape and of the range; ``expected_rows`` is rows per fuel as
    counted by the caller, so an xlsx export that cannot fit is refused before any work is done.
    """

    start: dt.date
    end: dt.date
    generated_at: dt.datetime
    title: str = "Portfolio energy export"
    fuels: tuple[str, ...] = ("power", "gas")
    time_zone: str = "Europe/London"
    expected_rows: Mapping[str, int] | None = None
    espi_base_url: str = "https://portfolio.invalid/DataCustodian/espi/1_1/resource"

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ExportError(f"export range ends ({self.end}) before it starts ({self.start})")
        if self.generated_at.tzinfo is None:
            raise ExportError("generated_at must be timezone-aware")

    def range_label(self) -> str:
        """Say the range the way every header does: local dates, inclusive, with the zone."""
        return f"{self.start.isoformat()} to {self.end.isoformat()} (local days, {self.time_zone})"


def as_shape(value: str | ExportShape) -> ExportShape:
    """Accept a shape name from a URL or form, refusing unknown ones with the list of valid names."""
    try:
        return ExportShape(value)
    except ValueError:
        raise ExportError(
            f"unknown export shape {value!r} (one of {', '.join(s.value for s in ExportShape)})"
        ) from None


def as_format(value: str | ExportFormat) -> ExportFormat:
    """Accept a format name from a URL or form, refusing unknown ones with the list of valid names."""
    try:
        return ExportFormat(value)
    except ValueError:
        raise ExportError(
            f"unknown export format {value!r} (one of {', '.join(f.value for f in ExportFormat)})"
        ) from None
