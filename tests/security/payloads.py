"""Hypothesis strategies for hostile callback payloads: right shape with wrong values, and wrong shapes.

Values mix the plausible (own and other tenants' ids, page paths, fuels, dates) with the hostile (huge and
negative numbers, string counters, lone surrogates, dates that overflow, markup, formulas, nested junk), so
generated calls get past the shape checks and reach the callbacks' own code as often as they are refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from hypothesis import strategies as st

from portfolio.web.callback_guard import WILDCARDS, split_output_key

PLAUSIBLE_TEXT = (
    "all", "both", "power", "gas", "day", "week", "month", "hour", "half-hour", "kwh", "percent", "site", "group",
    "csv", "xlsx", "espi", "interval", "daily", "portfolio", "2024-03-01", "2024-07-01", "2024-01-15T00:00:00",
    "/", "/graphs", "/portfolio", "/groups", "/export", "/trackers", "/pipeline", "/nowhere",
    "?to=0001-01-05", "?from=0001-01-01&to=0001-01-05", "?group=99999999999", "?from=2024-02-01&to=2023-01-01",
    "?fuel=oil", "?group=1&group=2", "?to=9999-12-31", "?from=2024-03-01&to=2024-03-02&fuel=power&group=all",
)  # fmt: skip
HOSTILE_TEXT = (
    "", " ", "0", "-1", "1e309", "NaN", "null", "0001-01-05", "9999-12-31", "2024-02-30", "2024-13-01",
    "../../etc/passwd", "<script>alert(1)</script>", '<a href="http://attacker.example">x</a>',
    '=HYPERLINK("http://attacker.example")', "' OR 1=1 --", "\x00", "\ud800", "%{customdata}", "a" * 5000,
)  # fmt: skip


def plausible(ids: Sequence[int]) -> st.SearchStrategy[Any]:
    """Values a page could send: these get past the shape checks and exercise the callbacks themselves."""
    return st.one_of(
        st.none(),
        st.sampled_from(ids),
        st.sampled_from([str(i) for i in ids]),
        st.sampled_from(PLAUSIBLE_TEXT),
        st.integers(min_value=0, max_value=5),
        st.lists(st.sampled_from(ids), max_size=3),
    )


def hostile(ids: Sequence[int]) -> st.SearchStrategy[Any]:
    leaf = st.one_of(
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(HOSTILE_TEXT),
        st.text(max_size=20),
        plausible(ids),
    )
    return st.recursive(
        leaf,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
        max_leaves=6,
    )


def values(ids: Sequence[int]) -> st.SearchStrategy[Any]:
    return st.one_of(plausible(ids), hostile(ids))


def _parse_id(raw: str) -> str | dict[str, Any]:
    return json.loads(raw) if raw.startswith("{") else raw


@st.composite
def _item(draw: st.DrawFn, declared: Mapping[str, str], ids: Sequence[int], with_value: bool = True) -> Any:
    component = _parse_id(declared["id"])
    prop = declared["property"]

    def one() -> dict[str, Any]:
        if isinstance(component, dict):
            filled = {
                k: (draw(values(ids)) if isinstance(v, list) and v and v[0] in WILDCARDS else v)
                for k, v in component.items()
            }
        else:
            filled = component
        entry: dict[str, Any] = {"id": filled, "property": prop}
        if with_value:
            entry["value"] = draw(values(ids))
        return entry

    many = isinstance(component, dict) and any(
        isinstance(v, list) and v and v[0] in ("ALL", "ALLSMALLER") for v in component.values()
    )
    return [one() for _ in range(draw(st.integers(0, 3)))] if many else one()


def _prop_id(entry: Mapping[str, Any]) -> str:
    component = entry["id"]
    text = json.dumps(component, separators=(",", ":")) if isinstance(component, dict) else component
    return f"{text}.{entry['property']}"


@st.composite
def callback_bodies(draw: st.DrawFn, key: str, spec: Mapping[str, Any], ids: Sequence[int]) -> Any:
    """A call of the callback ``key``: well-formed with hostile values, or (one time in five) damaged."""
    inputs = [draw(_item(d, ids)) for d in spec["inputs"]]
    state = [draw(_item(d, ids)) for d in spec.get("state", [])]
    outputs = [{"id": c, "property": p} for c, p in split_output_key(key)]
    flat = [e for entry in inputs for e in (entry if isinstance(entry, list) else [entry])]
    changed = draw(st.lists(st.sampled_from([_prop_id(e) for e in flat]), max_size=2, unique=True)) if flat else []
    body: dict[str, Any] = {
        "output": key,
        "outputs": outputs if key.startswith("..") else outputs[0],
        "inputs": inputs,
        "state": state,
        "changedPropIds": changed,
    }
    damage = draw(st.integers(0, 19))
    if damage == 0:
        body.pop(draw(st.sampled_from(sorted(body))))
    elif damage == 1:
        body[draw(st.sampled_from(sorted(body)))] = draw(values(ids))
    elif damage == 2:
        return draw(values(ids))
    elif damage == 3:
        body["changedPropIds"] = draw(st.lists(st.text(max_size=30), max_size=2))
    return body


def plain_body(key: str, spec: Mapping[str, Any], value_of: Mapping[str, Any], wildcard: Any = 1) -> dict[str, Any]:
    """A well-formed call of ``key``: ``value_of`` maps a property (or "id.property") to its value, else None.

    Pattern ids get ``wildcard`` in their wildcard keys; ALL patterns get one matching component.
    """

    def entry(declared: Mapping[str, str]) -> Any:
        component = _parse_id(declared["id"])
        prop = declared["property"]
        value = value_of.get(f"{declared['id']}.{prop}", value_of.get(prop))
        if not isinstance(component, dict):
            return {"id": component, "property": prop, "value": value}
        filled = {k: (wildcard if isinstance(v, list) and v and v[0] in WILDCARDS else v) for k, v in component.items()}
        one = {"id": filled, "property": prop, "value": value}
        many = any(isinstance(v, list) and v and v[0] in ("ALL", "ALLSMALLER") for v in component.values())
        return [one] if many else one

    outputs = [{"id": c, "property": p} for c, p in split_output_key(key)]
    inputs = [entry(d) for d in spec["inputs"]]
    return {
        "output": key,
        "outputs": outputs if key.startswith("..") else outputs[0],
        "inputs": inputs,
        "state": [entry(d) for d in spec.get("state", [])],
        "changedPropIds": [],
    }
