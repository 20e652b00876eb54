"""How many statements a repeat look sends: each is a round trip, and under load each waits for a core twice (the
database's process, then the worker's thread). Issue 20's load measured that wait as most of a callback's time."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from flask import has_request_context, request
from flask.testing import FlaskClient
from sqlalchemy import Engine, event
from sqlalchemy.pool import Pool

from portfolio.web import ids
from portfolio.web.views.graphs_layout import WHOLE_PORTFOLIO
from tests.web.browsing import HTML, log_in
from tests.web.pages.dash_requests import call_callback, response_values
from tests.web.world import World

FIGURE = f"{ids.GRAPH_FIGURE}.figure"
TABLE = f"{ids.PORTFOLIO_TABLE}.rowData"
RETURNING = sqlite3.sqlite_version_info >= (3, 35)
"""SQLite 3.35+ moves a repeat look's audit entry in one ``UPDATE … RETURNING``; older ones read, then update."""


def _in_a_callback() -> bool:
    return has_request_context() and request.path == "/_dash-update-component"


class Sent:
    """The statements sent and the connections checked out by callback requests (not the page's other requests)."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.checkouts = 0

    def statement(self, _conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if _in_a_callback():
            self.statements.append(" ".join(statement.split()).lower())

    def checkout(self, *_args: object) -> None:
        if _in_a_callback():
            self.checkouts += 1

    def reading(self, table: str) -> list[str]:
        return [s for s in self.statements if f" from {table}" in s]


@pytest.fixture
def sent() -> Iterator[Sent]:
    seen = Sent()
    event.listen(Engine, "before_cursor_execute", seen.statement)
    event.listen(Pool, "checkout", seen.checkout)
    yield seen
    event.remove(Engine, "before_cursor_execute", seen.statement)
    event.remove(Pool, "checkout", seen.checkout)


@pytest.fixture
def admin_client(client: FlaskClient, world: World) -> FlaskClient:
    """The admin: outside every organisation, so each look is audited (an entry per organisation and day)."""
    assert log_in(client, world.admin.email, world.admin.password).status_code == 303
    client.get("/", headers=HTML)
    return client


GRAPH_VALUES: dict[str, Any] = {
    f"{ids.GRAPH_GROUP}.value": "all",
    f"{ids.GRAPH_DATES}.start_date": "2024-06-28",
    f"{ids.GRAPH_DATES}.end_date": "2024-07-03",
    f"{ids.GRAPH_FUEL}.value": "power",
    f"{ids.GRAPH_SITE}.value": WHOLE_PORTFOLIO,
    f"{ids.GRAPH_GRANULARITY}.value": "auto",
    f"{ids.GRAPH_STACK}.value": "total",
}


def test_a_repeat_look_at_a_kept_graph_is_one_transaction_of_six_statements(
    admin_client: FlaskClient, sent: Sent
) -> None:
    first = response_values(call_callback(admin_client, FIGURE, GRAPH_VALUES, [f"{ids.GRAPH_GROUP}.value"]))
    sent.statements.clear()
    sent.checkouts = 0
    again = response_values(call_callback(admin_client, FIGURE, GRAPH_VALUES, [f"{ids.GRAPH_GROUP}.value"]))
    assert again[ids.GRAPH_FIGURE]["figure"] == first[ids.GRAPH_FIGURE]["figure"]  # the kept graph, read
    assert sent.checkouts == 1, "the reads and the audit's write share one connection and transaction"
    assert len(sent.reading("users")) == 1  # the account with the cookie's session row
    assert len(sent.reading("grants")) == 1 and sent.reading("enrolments") == sent.reading("grants")  # one union
    sites = sent.reading("sites")
    assert len(sites) == 1 and "sites.name" in sites[0] and "organisation_id" in sites[0]  # ids, facts and owners
    assert len(sent.reading("data_versions")) == 1 and len(sent.reading("computed_results")) == 1
    assert len([s for s in sent.statements if s.startswith("update audit_log")]) == 1
    assert len(sent.statements) == (6 if RETURNING else 7), sent.statements


def test_a_repeat_look_at_the_list_is_one_transaction_of_five_statements(admin_client: FlaskClient, sent: Sent) -> None:
    values = {
        f"{ids.PORTFOLIO_GROUP}.value": "all",
        f"{ids.PORTFOLIO_DATES}.start_date": "2024-06-28",
        f"{ids.PORTFOLIO_DATES}.end_date": "2024-07-03",
        f"{ids.PORTFOLIO_FUEL}.value": "both",
    }
    changed = [f"{ids.PORTFOLIO_GROUP}.value"]
    first = response_values(call_callback(admin_client, TABLE, values, changed))
    sent.statements.clear()
    sent.checkouts = 0
    again = response_values(call_callback(admin_client, TABLE, values, changed))
    assert again[ids.PORTFOLIO_TABLE]["rowData"] == first[ids.PORTFOLIO_TABLE]["rowData"]
    assert {row["name"] for row in again[ids.PORTFOLIO_TABLE]["rowData"]} >= {"Acme Bakery", "Globex Megastore"}
    assert sent.checkouts == 1, sent.statements
    sites = [s for s in sent.reading("sites") if not s.startswith("select daily_usage")]
    assert len(sites) == 1 and "organisation_id" in sites[0], sites  # no ids-only read, no owners' read for the audit
    assert len(sent.statements) == (5 if RETURNING else 6), sent.statements  # account, grants, sites, days, audit
