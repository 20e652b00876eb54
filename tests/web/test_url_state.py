"""URL state: strict parsing (every problem named), defaults, and a round trip through URL and store."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qsl

import pytest

from portfolio.timekeeping import MAX_RANGE_DAYS
from portfolio.web.url_state import (
    DEFAULT_DAYS,
    PortfolioState,
    UrlStateError,
    default_range,
    from_store,
    parse_state,
    to_query,
    to_store,
)

TODAY = dt.date(2026, 11, 25)


def test_default_is_the_last_30_local_days_ending_yesterday() -> None:
    start, end = default_range(TODAY)
    assert end == dt.date(2026, 11, 24) and start == dt.date(2026, 10, 26)
    assert (end - start).days + 1 == DEFAULT_DAYS
    assert parse_state({}, TODAY) == PortfolioState("all", start, end, "both")


def test_a_bookmark_parses_to_its_state_and_back() -> None:
    params = {"group": "12", "from": "2026-10-25", "to": "2026-11-24", "fuel": "power"}
    state = parse_state(params, TODAY)
    assert state == PortfolioState("12", dt.date(2026, 10, 25), dt.date(2026, 11, 24), "power")
    assert to_query(state) == "?group=12&from=2026-10-25&to=2026-11-24&fuel=power"
    assert parse_state(dict(parse_qsl(to_query(state)[1:])), TODAY) == state


def test_missing_end_runs_to_yesterday_and_missing_start_gives_30_days() -> None:
    assert parse_state({"from": "2026-01-01"}, TODAY).end == dt.date(2026, 11, 24)
    assert parse_state({"to": "2026-06-30"}, TODAY).start == dt.date(2026, 6, 1)


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"from": "yesterday"}, "'from' must be a date"),
        ({"from": "2026-02-30"}, "'from' must be a date"),
        ({"to": "20261124"}, "'to' must be a date"),
        ({"from": "2026-11-20", "to": "2026-11-01"}, "ends (2026-11-01) before it starts (2026-11-20)"),
        ({"from": "2023-01-01", "to": "2026-01-01"}, f"at most {MAX_RANGE_DAYS} days"),
        ({"fuel": "coal"}, "'fuel' must be one of power, gas, both"),
        ({"group": "abc"}, "'group' must be a group number"),
        ({"group": "-3"}, "'group' must be a group number"),
        ({"group": ["1", "2"]}, "'group' is given more than once"),
        ({"to": "2027-01-01"}, "is in the future"),
    ],
)
def test_bad_parameters_are_named(params: dict[str, object], named: str) -> None:
    with pytest.raises(UrlStateError, match=None) as raised:
        parse_state(params, TODAY)
    assert named in str(raised.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(UrlStateError) as raised:
        parse_state({"fuel": "coal", "group": "x", "from": "junk"}, TODAY)
    message = str(raised.value)
    assert "'fuel'" in message and "'group'" in message and "'from'" in message


def test_the_store_round_trips_and_ignores_junk() -> None:
    state = PortfolioState("7", dt.date(2026, 9, 1), dt.date(2026, 9, 30), "gas")
    stored = to_store(state)
    assert stored["query"] == to_query(state)
    assert from_store(stored, TODAY) == state
    assert from_store({"group": "7", "fuel": "coal"}, TODAY) is None
    assert from_store("not a dict", TODAY) is None and from_store({}, TODAY) is None


def test_portfolio_links_carry_the_selection_to_graphs_and_export() -> None:
    from portfolio.web.views.portfolio import update_page_links

    assert update_page_links("?group=7&from=2026-10-26&to=2026-11-24&fuel=gas") == (
        "/graphs?group=7&from=2026-10-26&to=2026-11-24&fuel=gas",
        "/export?group=7&from=2026-10-26&to=2026-11-24&fuel=gas",
    )
    assert update_page_links(None) == ("/graphs", "/export")
    assert update_page_links("javascript:alert(1)") == ("/graphs", "/export")  # only a query string is carried


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"to": "0001-01-05"}, "'to' (0001-01-05) is before 1900"),  # used to overflow computing 'from' (a 500)
        ({"from": "0001-01-01", "to": "0001-01-05"}, "'from' (0001-01-01) is before 1900"),
        ({"group": "99999999999"}, "'group' must be a group number"),  # beyond an INTEGER column
    ],
)
def test_dates_before_1900_and_huge_group_ids_are_refused(params: dict[str, object], named: str) -> None:
    with pytest.raises(UrlStateError, match=re.escape(named)):
        parse_state(params, TODAY)
