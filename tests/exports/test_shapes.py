import datetime as dt

import numpy as np
import pandas as pd
import pytest

from portfolio.analytics.coverage import compute_expected_intervals
from portfolio.exports.shapes import (
    DAILY_COLUMNS,
    INTERVAL_COLUMNS,
    PORTFOLIO_CHUNK_COLUMNS,
    compute_daily_rows,
    compute_interval_rows,
    compute_local_times,
    compute_portfolio_intervals,
    compute_portfolio_rows,
    iter_daily_rows,
    iter_whole_groups,
)
from tests.exports import GAS_ESTIMATED, POWER_MISSING, TOTALS, iter_chunks, make_readings


def local_labels(rows: pd.DataFrame) -> list[str]:
    return [
        f"{start:%Y-%m-%d %H:%M}{offset}" for start, offset in zip(rows["local_start"], rows["utc_offset"], strict=True)
    ]


def test_interval_rows_keep_exactly_the_readings_given():
    readings = make_readings()
    rows = compute_interval_rows(readings)
    assert tuple(rows.columns) == INTERVAL_COLUMNS
    assert len(rows) == len(readings) == 94 + 48
    power = rows[rows["site_id"] == 1]
    assert not power["utc_start"].isin(pd.to_datetime(list(POWER_MISSING), unit="s")).any()  # the gap stays a gap
    assert (rows["energy_kwh"] > 0).all()  # and no zero rows fill it
    assert rows["estimated"].sum() == 2


def test_spring_day_skips_the_lost_hour_in_local_time():
    rows = compute_interval_rows(make_readings())
    power = rows[(rows["site_id"] == 1) & (rows["local_start"] < "2024-04-01")]
    labels = local_labels(power)
    assert len(labels) == 46
    assert labels[:3] == ["2024-03-31 00:00+00:00", "2024-03-31 00:30+00:00", "2024-03-31 02:00+01:00"]
    assert power["utc_start"].iloc[2] == pd.Timestamp("2024-03-31 01:00")
    assert labels[-1] == "2024-03-31 23:30+01:00"


def test_autumn_day_repeats_the_hour_with_its_offset():
    rows = compute_interval_rows(make_readings())
    gas = rows[(rows["site_id"] == 2) & (rows["local_start"] > "2024-10-01")]
    labels = local_labels(gas)
    assert len(labels) == 25
    assert labels[:3] == ["2024-10-27 00:00+01:00", "2024-10-27 01:00+01:00", "2024-10-27 01:00+00:00"]
    assert list(gas["utc_start"].iloc[1:3]) == [pd.Timestamp("2024-10-27 00:00"), pd.Timestamp("2024-10-27 01:00")]
    power = rows[(rows["site_id"] == 1) & (rows["local_start"] > "2024-10-01")]
    # power misses the second 01:00 and 01:30 (GMT): only the BST ones remain
    assert [label for label in local_labels(power) if " 01:" in label] == [
        "2024-10-27 01:00+01:00",
        "2024-10-27 01:30+01:00",
    ]


def test_local_times_of_a_fixed_offset_zone():
    wall, offset = compute_local_times(np.array([0, 3600]), "Etc/GMT-2")
    assert list(offset) == [7200, 7200]
    assert list(wall) == [7200, 10800]


@pytest.mark.parametrize("chunk_rows", [1, 7, 17, 46, 1000])
def test_daily_rows_match_hand_totals_however_the_stream_is_cut(chunk_rows):
    daily = pd.concat(iter_daily_rows(iter_chunks(make_readings(), chunk_rows)), ignore_index=True)
    assert tuple(daily.columns) == DAILY_COLUMNS
    assert len(daily) == 4  # one row per site and local day with readings, no empty days
    by_day = daily.set_index(["site_id", "local_date"])
    for key, total in TOTALS.items():
        assert by_day.loc[key, "energy_kwh"] == pytest.approx(total, rel=1e-12)
    coverage = {key: (int(row.intervals), int(row.expected_intervals)) for key, row in by_day.iterrows()}
    assert coverage == {
        (1, dt.date(2024, 3, 31)): (46, 46),
        (1, dt.date(2024, 10, 27)): (48, 50),
        (2, dt.date(2024, 3, 31)): (23, 23),
        (2, dt.date(2024, 10, 27)): (25, 25),
    }
    assert by_day.loc[(1, dt.date(2024, 10, 27)), "coverage"] == pytest.approx(0.96)
    assert by_day.loc[(2, dt.date(2024, 10, 27)), "estimated_intervals"] == 1


def test_daily_expectation_agrees_with_coverage_analytics():
    daily = compute_daily_rows(make_readings())
    for row in daily.itertuples():
        assert row.expected_intervals == compute_expected_intervals(
            row.local_date, row.local_date, "Europe/London", row.interval_seconds
        )


def test_portfolio_sums_per_fuel_and_interval_and_counts_sites():
    readings = make_readings()
    second = readings[readings["site_id"] == 1].assign(site_id=3, energy_kwh=1.0)
    second = second[second["start_ts"] != second["start_ts"].iloc[0]]  # site 3 misses the first half hour
    aggregated = compute_portfolio_intervals(pd.concat([readings, second], ignore_index=True))
    assert tuple(aggregated.columns) == PORTFOLIO_CHUNK_COLUMNS
    power = aggregated[aggregated["fuel"] == "power"].set_index("start_ts")
    assert len(power) == 94  # the two missing half hours have no row, not a zero
    first, later = power.index[0], power.index[1]
    assert (power.loc[first, "energy_kwh"], power.loc[first, "sites_reporting"]) == (0.25, 1)
    assert (power.loc[later, "energy_kwh"], power.loc[later, "sites_reporting"]) == (1.25, 2)
    gas = aggregated[aggregated["fuel"] == "gas"].set_index("start_ts")
    assert gas.loc[GAS_ESTIMATED, "energy_kwh"] == 3.456789
    rows = compute_portfolio_rows(aggregated, "Europe/London")
    assert len(rows) == len(aggregated)
    assert local_labels(rows[rows["fuel"] == "gas"])[:3] == [
        "2024-03-31 00:00+00:00",
        "2024-03-31 02:00+01:00",
        "2024-03-31 03:00+01:00",
    ]


def test_whole_groups_are_never_split():
    frame = pd.DataFrame({"key": [1, 1, 1, 2, 2, 3, 3, 3, 3, 4], "value": range(10)})
    pieces = list(iter_whole_groups(iter_chunks(frame, 2), ("key",)))
    assert [sorted(set(piece["key"])) for piece in pieces] == [[1], [2], [3], [4]]
    assert pd.concat(pieces)["value"].tolist() == list(range(10))
