"""The groups page through its real callbacks: create, rename, delete, add, paste; refusals change nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.db import transaction
from portfolio.models import PortfolioGroup, Role, Site, portfolio_group_sites
from portfolio.services.accounts import create_user, find_user
from portfolio.web import ids
from tests.web.browsing import HTML, log_in
from tests.web.pages.dash_requests import call_callback, response_values
from tests.web.world import PASSWORD, World

FEEDBACK = f"{ids.GROUPS_FEEDBACK}.children"
DETAIL = f"{ids.GROUPS_MEMBERS_TABLE}.rowData"


def _site_ids(factory: sessionmaker[Session]) -> dict[str, int]:
    with factory() as session:
        return {s.name: s.id for s in session.scalars(select(Site))}


def _groups(factory: sessionmaker[Session]) -> dict[str, set[int]]:
    with factory() as session:
        names = {g.id: g.name for g in session.scalars(select(PortfolioGroup))}
        members: dict[str, set[int]] = {name: set() for name in names.values()}
        for group_id, site_id in session.execute(select(portfolio_group_sites)):
            members[names[group_id]].add(site_id)
        return members


def _grid_rows(row_ids: list[Any] | None) -> list[dict[str, Any]] | None:
    """What the grid sends as ``selectedRows``: the selected rows themselves, each with its ``id``."""
    return None if row_ids is None else [{"id": row_id} for row_id in row_ids]


def _act(client: FlaskClient, button: str, **values: Any) -> dict[str, dict[str, Any]]:
    prop = "submit_n_clicks" if button == ids.GROUPS_DELETE else "n_clicks"
    state = {
        f"{ids.GROUPS_PICKER}.value": values.pop("group", None),
        f"{ids.GROUPS_NEW_NAME}.value": values.pop("new_name", None),
        f"{ids.GROUPS_RENAME_NAME}.value": values.pop("rename", None),
        f"{ids.GROUPS_SITES_TABLE}.selectedRows": _grid_rows(values.pop("picked", None)),
        f"{ids.GROUPS_MEMBERS_TABLE}.selectedRows": _grid_rows(values.pop("members", None)),
        f"{ids.GROUPS_PASTE}.value": values.pop("pasted", None),
        f"{button}.{prop}": 1,
    }
    return response_values(call_callback(client, FEEDBACK, state, changed=[f"{button}.{prop}"]))


def _message(out: dict[str, dict[str, Any]]) -> str:
    return json.dumps(out[ids.GROUPS_FEEDBACK]["children"], ensure_ascii=False)


def test_create_rename_fill_and_delete(
    customer_client: FlaskClient, world_session_factory: sessionmaker[Session]
) -> None:
    site = _site_ids(world_session_factory)
    out = _act(customer_client, ids.GROUPS_CREATE, new_name="  Cambridge  sites ", picked=[site["Acme Bakery"]])
    assert "Created the group “Cambridge sites” with 1 site" in _message(out)
    group = out[ids.GROUPS_PICKER]["value"]
    assert out[ids.GROUPS_PICKER]["options"] == [{"label": "Cambridge sites", "value": group}]
    assert _groups(world_session_factory) == {"Cambridge sites": {site["Acme Bakery"]}}

    out = _act(customer_client, ids.GROUPS_ADD, group=group, picked=[site["Acme Depot"], site["Acme Bakery"]])
    assert "Added 1 site. 1 site was already in the group." in _message(out)
    out = _act(customer_client, ids.GROUPS_RENAME, group=group, rename="Acme all")
    assert "Renamed the group to “Acme all”" in _message(out)
    out = _act(customer_client, ids.GROUPS_REMOVE, group=group, members=[site["Acme Bakery"]])
    assert _groups(world_session_factory) == {"Acme all": {site["Acme Depot"]}}

    detail = response_values(
        call_callback(
            customer_client, DETAIL, {f"{ids.GROUPS_PICKER}.value": group}, changed=[f"{ids.GROUPS_PICKER}.value"]
        )
    )
    assert [row["name"] for row in detail[ids.GROUPS_MEMBERS_TABLE]["rowData"]] == ["Acme Depot"]
    assert "hidden" not in detail[ids.GROUPS_EDIT_CONTROLS]["className"]

    out = _act(customer_client, ids.GROUPS_DELETE, group=group)
    assert "Deleted the group" in _message(out) and _groups(world_session_factory) == {}


@pytest.mark.parametrize(
    ("name", "expected"),
    [("", "A group needs a name."), ("x" * 101, "at most 100 characters"), ("acme ALL", "already have a group called")],
)
def test_bad_names_get_a_clear_error(customer_client: FlaskClient, name: str, expected: str) -> None:
    _act(customer_client, ids.GROUPS_CREATE, new_name="Acme all")
    out = _act(customer_client, ids.GROUPS_CREATE, new_name=name)
    assert expected in _message(out) and '"role": "alert"' in _message(out)


def test_adding_another_organisations_site_is_refused_and_changes_nothing(
    customer_client: FlaskClient, world_session_factory: sessionmaker[Session]
) -> None:
    """A crafted request: the add-sites callback with a Globex site id, from an Acme customer's session."""
    site = _site_ids(world_session_factory)
    group = _act(customer_client, ids.GROUPS_CREATE, new_name="Mine", picked=[site["Acme Bakery"]])[ids.GROUPS_PICKER][
        "value"
    ]
    foreign = site["Globex Megastore"]
    out = _act(customer_client, ids.GROUPS_ADD, group=group, picked=[site["Acme Depot"], foreign])
    assert f"You may not see site(s) {foreign}. Nothing was changed." in _message(out)
    assert _groups(world_session_factory) == {"Mine": {site["Acme Bakery"]}}  # not even the Acme site was added
    out = _act(customer_client, ids.GROUPS_CREATE, new_name="Sneaky", picked=[foreign])
    assert "You may not see site(s)" in _message(out) and "Sneaky" not in _groups(world_session_factory)


def test_pasted_list_adds_matches_and_lists_the_rest(
    customer_client: FlaskClient, world_session_factory: sessionmaker[Session]
) -> None:
    site = _site_ids(world_session_factory)
    group = _act(customer_client, ids.GROUPS_CREATE, new_name="Pasted")[ids.GROUPS_PICKER]["value"]
    pasted = "1012345678901\t\n7654321\nacme office\n1211111111111\nNo Such Site"  # a Globex MPAN never matches
    out = _act(customer_client, ids.GROUPS_PASTE_ADD, group=group, pasted=pasted)
    message = _message(out)
    assert "Added 3 sites." in message and "Not matched (2): 1211111111111, No Such Site." in message
    assert out[ids.GROUPS_PASTE]["value"] == "1211111111111\nNo Such Site"
    assert _groups(world_session_factory)["Pasted"] == {site["Acme Bakery"], site["Acme Depot"], site["Acme Office"]}


def test_changing_someone_elses_group_is_refused(
    customer_client: FlaskClient, client: FlaskClient, world: World, world_session_factory: sessionmaker[Session]
) -> None:
    group = _act(customer_client, ids.GROUPS_CREATE, new_name="Private")[ids.GROUPS_PICKER]["value"]
    admin = client.application.test_client()
    log_in(admin, world.admin.email, world.admin.password)
    admin.get("/", headers=HTML)
    out = _act(admin, ids.GROUPS_RENAME, group=group, rename="Hijacked")
    assert "not yours to change" in _message(out)
    assert set(_groups(world_session_factory)) == {"Private"}


def test_account_manager_sees_customer_groups_read_only(
    customer_client: FlaskClient, client: FlaskClient, world_session_factory: sessionmaker[Session]
) -> None:
    site = _site_ids(world_session_factory)
    group = _act(customer_client, ids.GROUPS_CREATE, new_name="Bakery", picked=[site["Acme Bakery"]])[
        ids.GROUPS_PICKER
    ]["value"]
    with transaction(world_session_factory) as session:
        customer = find_user(session, "buyer@acme.example")
        assert customer is not None and customer.organisation is not None
        create_user(
            session,
            "am@portfolio.example",
            Role.ACCOUNT_MANAGER,
            PASSWORD,
            linked_organisations=[customer.organisation],
        )
    manager = client.application.test_client()
    log_in(manager, "am@portfolio.example", PASSWORD)
    manager.get("/", headers=HTML)
    detail = response_values(
        call_callback(manager, DETAIL, {f"{ids.GROUPS_PICKER}.value": group}, changed=[f"{ids.GROUPS_PICKER}.value"])
    )
    assert [row["name"] for row in detail[ids.GROUPS_MEMBERS_TABLE]["rowData"]] == ["Acme Bakery"]
    assert "hidden" in detail[ids.GROUPS_EDIT_CONTROLS]["className"]
    assert "hidden" not in detail[ids.GROUPS_READ_ONLY_NOTE]["className"]
    out = _act(manager, ids.GROUPS_ADD, group=group, picked=[site["Acme Depot"]])
    assert "read-only" in _message(out)
    assert _groups(world_session_factory) == {"Bakery": {site["Acme Bakery"]}}
