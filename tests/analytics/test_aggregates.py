"""The 15/15 rule at its boundaries, on known values."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from portfolio.analytics.aggregates import (
    AggregateInputError,
    compute_aggregates,
    compute_period_label,
    compute_postcode_area,
    describe_suppression,
)


def _cell(kwh: list[float], period: str = "2025-01", group: str = "CB", fuel: str = "power") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "period": period,
            "group": group,
            "fuel": fuel,
            "customer_id": range(1, len(kwh) + 1),
            "energy_kwh": kwh,
        }
    )


def test_fifteen_customers_pass_and_fourteen_are_refused() -> None:
    cells = compute_aggregates(pd.concat([_cell([10.0] * 15, group="CB"), _cell([10.0] * 14, group="OX")]))
    cb, ox = cells.iloc[0], cells.iloc[1]
    assert (cb["group"], cb["customers"], cb["released"], cb["energy_kwh"], cb["suppressed_reason"]) == (
        "CB",
        15,
        True,
        150.0,
        "",
    )
    assert (ox["group"], ox["customers"], bool(ox["released"])) == ("OX", 14, False)
    assert np.isnan(ox["energy_kwh"])  # withheld, not dropped
    assert ox["suppressed_reason"] == "fewer than 15 customers (n=14)"


def test_a_share_of_exactly_15_percent_passes_and_15_01_is_refused() -> None:
    exactly = compute_aggregates(_cell([15.0] + [85.0 / 16] * 16)).iloc[0]
    assert exactly["largest_share_pct"] == 15.0 and exactly["released"] and exactly["energy_kwh"] == pytest.approx(100)
    over = compute_aggregates(_cell([15.01] + [84.99 / 16] * 16)).iloc[0]
    assert over["largest_share_pct"] == pytest.approx(15.01) and not over["released"]
    assert over["suppressed_reason"] == "one customer is 15.01 % of the cell (more than 15 %)"


def test_a_customer_with_several_sites_counts_once_with_all_its_consumption() -> None:
    frame = _cell([10.0] * 16)
    frame.loc[frame["customer_id"] == 2, "customer_id"] = 1  # customer 1 now has two sites: 20 of 160 kWh
    cell = compute_aggregates(frame).iloc[0]
    assert cell["customers"] == 15 and cell["largest_share_pct"] == 12.5 and cell["released"]
    frame.loc[frame["customer_id"] == 3, "customer_id"] = 1  # 30 of 160 = 18.75 %, and 14 customers
    cell = compute_aggregates(frame).iloc[0]
    assert cell["suppressed_reason"] == "fewer than 15 customers (n=14)"  # the count is reported first


def test_cells_are_per_period_group_and_fuel_and_inputs_are_not_changed() -> None:
    frame = pd.concat([_cell([1.0] * 15, period="2025-01"), _cell([1.0] * 15, period="2025-02", fuel="gas")])
    before = frame.copy()
    cells = compute_aggregates(frame)
    assert list(zip(cells["period"], cells["fuel"], strict=True)) == [("2025-01", "power"), ("2025-02", "gas")]
    pd.testing.assert_frame_equal(frame, before)
    assert compute_aggregates(frame.iloc[0:0]).empty
    with pytest.raises(AggregateInputError, match="customer_id"):
        compute_aggregates(frame.drop(columns="customer_id"))


def test_zero_consumption_is_no_dominant_customer() -> None:
    cell = compute_aggregates(_cell([0.0] * 15)).iloc[0]
    assert cell["released"] and cell["energy_kwh"] == 0.0


@pytest.mark.parametrize(
    ("postcode", "area"),
    [("CB2 1TN", "CB"), ("cb21tn", "CB"), ("E1 6AN", "E"), ("SW1A 1AA", "SW"), (" w1a 0ax", "W"), (None, "unknown"),
     ("", "unknown"), ("12345", "unknown"), ("=CMD()", "unknown")],
)  # fmt: skip
def test_the_region_is_the_postcode_area(postcode: str | None, area: str) -> None:
    assert compute_postcode_area(postcode) == area


def test_period_labels_and_reasons() -> None:
    days = pd.Series([dt.date(2025, 1, 31), dt.date(2025, 2, 1)])
    assert list(compute_period_label(days, "day")) == ["2025-01-31", "2025-02-01"]
    assert list(compute_period_label(days, "month")) == ["2025-01", "2025-02"]
    with pytest.raises(AggregateInputError):
        compute_period_label(days, "week")
    assert describe_suppression(15, 15.0) == ""
    assert describe_suppression(9, 100.0) == "fewer than 15 customers (n=9)"
    assert describe_suppression(20, 23.0) == "one customer is 23.00 % of the cell (more than 15 %)"
