"""Check every Dash callback request against the callback it names, before Dash runs anything.

Dash trusts its renderer: a hand-made POST to ``/_dash-update-component`` with a string ``n_clicks``, a pattern id
of the wrong type, an unknown output or a malformed ``changedPropIds`` used to reach the callback (or Dash's own
bookkeeping) and end in a 500. Here the payload must match what the callback was registered with: the same
inputs and states in order, the same ids and properties (pattern-matching ids with the declared keys, their
wildcards filled with a string or an integer), standard properties of their documented types. Anything else,
and any :class:`~portfolio.web.inputs.InputError` a callback raises, is answered 400 with a message.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import dash
from dash.exceptions import DependencyException
from flask import Response, jsonify, request
from flask.typing import ResponseReturnValue

from .inputs import MAX_ID, InputError

log = logging.getLogger(__name__)

WILDCARDS = frozenset({"ALL", "MATCH", "ALLSMALLER"})
MANY = frozenset({"ALL", "ALLSMALLER"})
COUNT_PROPERTIES = frozenset(
    {"n_clicks", "n_intervals", "n_submit", "n_blur", "submit_n_clicks", "cancel_n_clicks", "page_current"}
)
TEXT_PROPERTIES = frozenset({"pathname", "search", "hash", "href", "start_date", "end_date", "date", "className"})
URL_PART_PREFIXES = {"pathname": "/", "search": "?", "hash": "#"}
MAPPING_PROPERTIES = frozenset(
    {"relayoutData", "clickData", "hoverData", "selectedData", "restyleData", "active_cell", "sort_by_item"}
)
ROW_LIST_PROPERTIES = frozenset({"selected_rows"})
MAX_TEXT = 100_000  # [characters] a pasted list of a thousand MPANs fits easily
MAX_ITEMS = 5_000  # pattern-matched components on one page
MAX_WILDCARD_TEXT = 200


def _parse_id(raw: str) -> str | dict[str, Any]:
    """A component id as Dash writes it in the callback map: plain text, or a pattern id as JSON."""
    if raw.startswith("{"):
        parsed = json.loads(raw)
        if isinstance(parsed, dict):
            return parsed
    return raw


def split_output_key(key: str) -> list[tuple[str | dict[str, Any], str]]:
    """The (id, property) pairs a callback-map key names: ``id.prop`` or ``..a.p...b.q..``, with ``@hash`` suffixes."""
    parts = key[2:-2].split("...") if key.startswith("..") else [key]
    pairs = []
    for part in parts:
        component, _, prop = part.rpartition(".")
        pairs.append((_parse_id(component), prop.split("@", 1)[0]))
    return pairs


def _check_value(prop: str, value: Any, where: str) -> None:
    if value is None:
        if prop == "pathname":  # a browser always sends the path; the pages router cannot route None
            raise InputError(f"{where}: pathname is required")
        return
    if prop in COUNT_PROPERTIES and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise InputError(f"{where}: {prop} must be a non-negative integer, not {value!r:.60}")
    if prop in TEXT_PROPERTIES and (not isinstance(value, str) or len(value) > MAX_TEXT):
        raise InputError(f"{where}: {prop} must be text (at most {MAX_TEXT:,} characters), not {type(value).__name__}")
    if prop in URL_PART_PREFIXES and value and not value.startswith(URL_PART_PREFIXES[prop]):
        raise InputError(f"{where}: {prop} must start with {URL_PART_PREFIXES[prop]!r}, not {value!r:.60}")
    if prop in MAPPING_PROPERTIES and not isinstance(value, dict):
        raise InputError(f"{where}: {prop} must be an object, not {type(value).__name__}")
    if prop in ROW_LIST_PROPERTIES and not (
        isinstance(value, list)
        and len(value) <= MAX_ITEMS
        and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_ID for v in value)
    ):
        raise InputError(f"{where}: {prop} must be a list of row numbers")
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise InputError(f"{where}: {prop} is longer than {MAX_TEXT:,} characters")


def _check_wildcard_value(value: Any, where: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InputError(f"{where}: a pattern id value must be a string or an integer, not {type(value).__name__}")
    if isinstance(value, int) and abs(value) > MAX_ID:
        raise InputError(f"{where}: pattern id value {value} is out of range")
    if isinstance(value, str) and len(value) > MAX_WILDCARD_TEXT:
        raise InputError(f"{where}: pattern id value is longer than {MAX_WILDCARD_TEXT} characters")


def _check_id(given: Any, declared: str | dict[str, Any], where: str) -> None:
    if isinstance(declared, str):
        if given != declared:
            raise InputError(f"{where}: expected component {declared!r}, got {given!r:.80}")
        return
    if not isinstance(given, dict) or set(given) != set(declared):
        raise InputError(f"{where}: expected a pattern id with keys {sorted(declared)}, got {given!r:.80}")
    for key, pattern in declared.items():
        if isinstance(pattern, list) and pattern and pattern[0] in WILDCARDS:
            _check_wildcard_value(given[key], where)
        elif given[key] != pattern:
            raise InputError(f"{where}: pattern id {key}={given[key]!r:.60} does not match {pattern!r}")


def _is_many(declared: str | dict[str, Any]) -> bool:
    return isinstance(declared, dict) and any(isinstance(v, list) and v and v[0] in MANY for v in declared.values())


def _check_item(given: Any, declared_id: str | dict[str, Any], prop: str, where: str, *, value: bool) -> None:
    """One input, state or output entry: a dict (or, for ALL/ALLSMALLER patterns, a list of them)."""
    if _is_many(declared_id):
        if not isinstance(given, list) or len(given) > MAX_ITEMS:
            raise InputError(f"{where}: expected a list of components matching {declared_id!r}")
        for n, item in enumerate(given):
            _check_single(item, declared_id, prop, f"{where}[{n}]", value=value)
        return
    _check_single(given, declared_id, prop, where, value=value)


def _check_single(given: Any, declared_id: str | dict[str, Any], prop: str, where: str, *, value: bool) -> None:
    sent = given.get("property") if isinstance(given, dict) else None
    if not isinstance(given, dict) or "id" not in given or not isinstance(sent, str) or sent.split("@", 1)[0] != prop:
        raise InputError(f"{where}: expected {{id, property: {prop!r}{', value' if value else ''}}}")
    _check_id(given["id"], declared_id, where)
    if value:
        _check_value(prop, given.get("value"), where)


def _prop_id(item: Mapping[str, Any]) -> str:
    component = item["id"]
    text = json.dumps(component, sort_keys=True, separators=(",", ":")) if isinstance(component, dict) else component
    return f"{text}.{item['property']}"


def _changed_ids(body: Mapping[str, Any]) -> set[str]:
    items: list[Any] = []
    for entry in body.get("inputs", []):
        items.extend(entry if isinstance(entry, list) else [entry])
    return {_prop_id(item) for item in items}


def _normalise_prop_id(text: str) -> str:
    component, _, prop = text.rpartition(".")
    if component.startswith("{"):
        try:
            parsed = json.loads(component)
        except ValueError:
            raise InputError(f"changedPropIds: {text!r:.80} is not a component id") from None
        if isinstance(parsed, dict):
            return f"{json.dumps(parsed, sort_keys=True, separators=(',', ':'))}.{prop}"
    return text


def check_payload(body: Any, callback_map: Mapping[str, Mapping[str, Any]]) -> None:
    """Raise :class:`InputError` unless ``body`` is a well-formed call of a registered callback."""
    if not isinstance(body, dict):
        raise InputError("the request body must be a JSON object")
    output = body.get("output")
    if not isinstance(output, str) or output not in callback_map:
        raise InputError(f"no callback has the output {output!r:.120}")
    callback = callback_map[output]
    if "callback" not in callback:
        raise InputError(f"{output!r:.120} is updated in the browser (a clientside callback), not by the server")
    for section, declared in (("inputs", callback["inputs"]), ("state", callback.get("state", []))):
        given = body.get(section, [])
        if not isinstance(given, list) or len(given) != len(declared):
            raise InputError(f"{section}: expected {len(declared)} entries")
        for n, (item, spec) in enumerate(zip(given, declared, strict=True)):
            _check_item(item, _parse_id(spec["id"]), spec["property"], f"{section}[{n}]", value=True)
    if not callback.get("no_output"):
        _check_outputs(body.get("outputs"), output)
    changed = body.get("changedPropIds", [])
    if not isinstance(changed, list) or not all(isinstance(c, str) for c in changed):
        raise InputError("changedPropIds must be a list of strings")
    known = _changed_ids(body)
    for text in changed:
        if _normalise_prop_id(text) not in known:
            raise InputError(f"changedPropIds: {text!r:.80} is not an input of this callback")


def _check_outputs(given: Any, key: str) -> None:
    declared = split_output_key(key)
    if key.startswith(".."):
        if not isinstance(given, list) or len(given) != len(declared):
            raise InputError(f"outputs: expected {len(declared)} entries")
        entries = given
    else:
        entries = [given]
    for n, (item, (component, prop)) in enumerate(zip(entries, declared, strict=True)):
        _check_item(item, component, prop, f"outputs[{n}]", value=False)


def refuse_bad_input(error: InputError) -> ResponseReturnValue:
    """Answer a bad value with 400 and the reason, for callbacks and routes alike."""
    log.info("refused bad input on %s: %s", request.path, error)
    return jsonify(error="invalid input", message=str(error)), 400


def install_callback_guard(app: dash.Dash) -> None:
    """Wrap Dash's dispatch view with :func:`check_payload`; InputError anywhere becomes a 400."""
    endpoint = app.config.routes_pathname_prefix + "_dash-update-component"
    view: Callable[..., Response] = app.server.view_functions[endpoint]

    @functools.wraps(view)
    def guarded_dispatch(*args: Any, **kwargs: Any) -> Any:
        check_payload(request.get_json(silent=True), app.callback_map)
        return view(*args, **kwargs)

    app.server.view_functions[endpoint] = guarded_dispatch
    app.server.register_error_handler(InputError, refuse_bad_input)
    app.server.register_error_handler(DependencyException, unknown_component_file)


def unknown_component_file(error: DependencyException) -> ResponseReturnValue:
    """``/_dash-component-suites/<unknown library>/...`` is a missing file (404), not a server error (Dash: 500)."""
    del error
    return jsonify(error="no such component file"), 404
