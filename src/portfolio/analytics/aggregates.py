"""Aggregate release under the 15/15 rule: consumption summed across customers, each cell released or refused.

A cell (period x region or profile class x fuel) is released only when at least ``MIN_CUSTOMERS`` (15) customers
contribute to it and no one customer is more than ``MAX_SHARE_PCT`` (15 %) of its consumption; otherwise its
consumption is withheld and ``suppressed_reason`` says why. A refused cell stays in the output, so nothing is
dropped silently. A customer is an organisation. Pure pandas.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

MIN_CUSTOMERS = 15
"""Fewest customers a released cell may have."""
MAX_SHARE_PCT = 15.0
"""Largest share of a released cell's consumption one customer may have [%]; exactly 15 % passes."""
SHARE_DECIMALS = 6
"""Shares are compared rounded to this many decimals of a percent, so float sums do not decide the boundary."""
UNKNOWN = "unknown"
"""The region or profile class of sites that have none."""
CELL_KEYS = ["period", "group", "fuel"]
AGGREGATE_COLUMNS = [*CELL_KEYS, "customers", "energy_kwh", "largest_share_pct", "released", "suppressed_reason"]
_AREA = re.compile(r"^([A-Z]{1,2})[0-9]")


class AggregateInputError(ValueError):
    """The contributions frame lacks a column the rule needs."""


def compute_postcode_area(postcode: str | None) -> str:
    """The postcode area: the letters that open the outward code ("CB2 1TN" -> "CB", "E1 6AN" -> "E").

    There are about 120 areas in the UK, each large enough (a city and its surroundings) to say where consumption
    is without saying whose; a missing or unreadable postcode gives "unknown".
    """
    if not postcode:
        return UNKNOWN
    match = _AREA.match(postcode.strip().upper())
    return match.group(1) if match else UNKNOWN


def compute_period_label(local_dates: pd.Series, period: str) -> pd.Series:
    """The cell's period of each local day: the ISO date ("day") or "YYYY-MM" ("month")."""
    days = pd.to_datetime(local_dates.astype(str))
    if period == "day":
        return days.dt.strftime("%Y-%m-%d")
    if period == "month":
        return days.dt.strftime("%Y-%m")
    raise AggregateInputError(f"period must be day or month, not {period!r}")


def describe_suppression(customers: int, largest_share_pct: float) -> str:
    """Why a cell is refused, or "" when it may be released."""
    if customers < MIN_CUSTOMERS:
        return f"fewer than {MIN_CUSTOMERS} customers (n={customers})"
    if largest_share_pct > MAX_SHARE_PCT:
        return f"one customer is {largest_share_pct:.2f} % of the cell (more than {MAX_SHARE_PCT:g} %)"
    return ""


def compute_aggregates(contributions: pd.DataFrame) -> pd.DataFrame:
    """Apply the 15/15 rule to each cell of ``contributions`` (period, group, fuel, customer_id, energy_kwh [kWh]).

    Returns one row per cell (``AGGREGATE_COLUMNS``), sorted by cell: ``energy_kwh`` is the cell's total when
    released and NaN when not; ``customers`` counts the customers with any consumption recorded in the cell.
    """
    missing = {*CELL_KEYS, "customer_id", "energy_kwh"} - set(contributions.columns)
    if missing:
        raise AggregateInputError(f"contributions lack {', '.join(sorted(missing))}")
    if contributions.empty:
        return pd.DataFrame(columns=AGGREGATE_COLUMNS)
    per_customer = contributions.groupby([*CELL_KEYS, "customer_id"], sort=False)["energy_kwh"].sum().reset_index()
    cells = (
        per_customer.groupby(CELL_KEYS, sort=True)
        .agg(customers=("customer_id", "size"), total=("energy_kwh", "sum"), largest=("energy_kwh", "max"))
        .reset_index()
    )
    total = cells["total"].to_numpy(dtype=float)
    largest = cells["largest"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, 100.0 * largest / total, 0.0)  # nothing consumed: no one dominates
    cells["largest_share_pct"] = np.round(share, SHARE_DECIMALS)
    reasons = [
        describe_suppression(int(n), float(s))
        for n, s in zip(cells["customers"], cells["largest_share_pct"], strict=True)
    ]
    cells["suppressed_reason"] = reasons
    cells["released"] = [reason == "" for reason in reasons]
    cells["energy_kwh"] = cells["total"].where(cells["released"])
    cells["customers"] = cells["customers"].astype("int64")
    return cells[AGGREGATE_COLUMNS].reset_index(drop=True)
