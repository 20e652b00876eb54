"""The Graphs page's graph, kept between requests: a view drawn once per half hour and data version, then read.

Most graph requests repeat one a moment before: every user opens the same default ranges, a reload or a fuel toggle
back asks again, a broker's colleagues look at the same portfolio. Drawing one costs 25-55 ms of a worker's CPU
(queries, coverage, expected sums, the figure), which under load queues behind every other request on the same cores.
So the drawn graph (figure JSON, note, summary) is kept in ``computed_results``, keyed by:

- the usage data's version, moved on by every change to what a graph is drawn from (readings, their roll-up, stored
  predictions and estimates, temperatures);
- the request (group, site, range, fuel, resolution, stack) and the sites it resolved to after the access checks
  (their names, fuels, zones, weather locations and meter intervals, and which are daily-only);
- the half hour: "now" (the shading of the future, the forecast's reach, what is due today) is taken at the start of
  the current half hour, so a kept graph is exactly what would be drawn now, and a new half hour draws afresh.

Access is checked and the look audited on every request, kept or not. A zoom is drawn, never kept: its window is
whatever the drag gave. Kept graphs older than the previous half hour are deleted as a new one is stored.

Once the daily run has written (the data's version has moved since it began), no graph is kept: every file it
imports moves the version on, so a graph kept then would be read by few requests, if any, and storing it (0.1-0.7 MB)
would cost more than it saves (measured under the 100-user load: the graph's CPU p50 went from 51 to 61 ms). Instead,
a graph kept from the data as it was when the run began (its row records that version) is shown, drawn in this half
hour or the one before, with a note that the run is importing: the whole of the last complete data, never a portfolio
half imported, and read at the cost of a kept graph. A portfolio the run's new meters have joined (an admin's whole
estate) is looked for without them: their sites came after the highest site id the run began with, and the graph kept
then shows the portfolio as it was. The run's first step keeps the big portfolios' default views,
and recent users', for it (``services/graphs_warm.keep_default_graphs``); until its import first commits, graphs are
kept as at any other time. Drawing every graph afresh meanwhile made them the slowest requests of the 100-user load:
357-397 ms median in the worker against 29-37 ms after the run, with 66 ms of CPU each against 16. A graph not kept
then is drawn from the data as it is. Not for a range reaching the oldest day the retention step may delete, nor when
the caller does not say how long data is kept (``retention_days``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from typing import Any
from zoneinfo import ZoneInfo

from plotly.io.json import to_json_plotly
from sqlalchemy.orm import Session

from portfolio.access import Viewer
from portfolio.figures.style import figure_data
from portfolio.services import audit
from portfolio.services.computed_results import BeforeTheRun, DataNow, data_now, kept_at, kept_or_computed
from portfolio.services.graphs import GraphResult, draw_graph
from portfolio.services.graphs_sites import GraphRequest, GraphSites, graph_sites, sites_before_the_run
from portfolio.timekeeping import local_today

GRAPH_RESULT = "graph"
GRAPH_FORMAT = 1
"""Moved on when what a kept graph holds changes shape, so a new version never reads an older one's."""
HALF_HOUR = dt.timedelta(minutes=30)
IMPORTING_NOTE = "Shown as before today's import (began {began}); new readings appear when it finishes"
"""Leads the graph's note while a daily run writes, so it is read before the resolution and model details."""


def view_graph(
    session: Session,
    viewer: Viewer,
    request: GraphRequest,
    now: dt.datetime | None = None,
    *,
    retention_days: int | None = None,
) -> GraphResult:
    """The graph the Graphs page shows (raises AccessDenied): drawn as of the current half hour, kept for its repeats.

    ``retention_days``: how long usage data is kept (``Settings.retention_days``); without it, no graph drawn before
    a running daily run is shown (see the module's docstring). The result has no ``table``: the CSV export draws its
    own (:func:`portfolio.services.graphs.make_graph_csv`).
    """
    chosen = graph_sites(session, viewer, request)
    moment = now or dt.datetime.now(dt.UTC)
    data = None if request.window is not None else data_now(session, moment)
    kept = None if data is None else _kept_graph(session, viewer, request, chosen, data, moment, retention_days)
    audit.record_viewed(  # after the reads, so they and the audit's write are one transaction (one round trip each)
        session, viewer, chosen.member_ids, now, via="graph", organisation_ids=chosen.member_organisation_ids
    )
    session.commit()
    if kept is not None:
        return kept
    if data is None or data.before is not None:  # a zoom, or nothing kept from before the run: drawn, not kept
        return drawn_graph(session, viewer, request, chosen, moment)
    return keep_graph(session, viewer, request, chosen, moment, version=data.version)


def _kept_graph(
    session: Session,
    viewer: Viewer,
    request: GraphRequest,
    chosen: GraphSites,
    data: DataNow,
    moment: dt.datetime,
    retention_days: int | None,
) -> GraphResult | None:
    """The graph kept for ``moment``'s half hour at the data's version (or as before a running daily run), or None."""
    half_hour = start_of_half_hour(moment)
    if data.before is not None:
        chosen_before = sites_before_the_run(session, viewer, request, chosen, data.before)
        return graph_before_the_run(session, request, chosen_before, data.before, half_hour, retention_days)
    return kept_at(session, GRAPH_RESULT, data.version, graph_inputs(request, chosen, half_hour), decode_graph)


def drawn_graph(
    session: Session, viewer: Viewer, request: GraphRequest, chosen: GraphSites, moment: dt.datetime
) -> GraphResult:
    """The graph drawn now, its figure as plain data (``figures.style.figure_data``: serialised in one pass, by the
    reply and by :func:`encode_graph` alike), without the CSV export's table."""
    result = draw_graph(session, viewer, request, chosen, moment)
    return dataclasses.replace(result, figure=figure_data(result.figure), table=None)


def keep_graph(
    session: Session,
    viewer: Viewer,
    request: GraphRequest,
    chosen: GraphSites,
    moment: dt.datetime,
    *,
    version: int | None = None,
) -> GraphResult:
    """The graph of ``chosen`` (access already checked) as of ``moment``'s half hour: read if kept at the current data
    version (``version``, when this transaction read it already), else drawn and kept (committed). Also the daily
    run's first step, before it imports (``services/graphs_warm.keep_default_graphs``)."""
    half_hour = start_of_half_hour(moment)

    def draw() -> GraphResult:
        return drawn_graph(session, viewer, request, chosen, half_hour)

    return kept_or_computed(
        session,
        GRAPH_RESULT,
        graph_inputs(request, chosen, half_hour),
        draw,
        encode_graph,
        decode_graph,
        moment,
        forget_before=half_hour - HALF_HOUR,
        version=version,
    )


def graph_before_the_run(
    session: Session,
    request: GraphRequest,
    chosen: GraphSites,
    before: BeforeTheRun,
    half_hour: dt.datetime,
    retention_days: int | None,
) -> GraphResult | None:
    """The graph kept from the data as it was when the running daily run began, drawn in this half hour or the one
    before, its note saying so; None when there is none or it must not be shown (see the module's docstring).
    ``chosen``: the sites as they were then (``graphs_sites.sites_before_the_run``)."""
    if before.version is None or retention_days is None:
        return None
    if request.start <= local_today(half_hour) - dt.timedelta(days=retention_days - 1):
        return None  # the run's retention step may delete the oldest day this graph shows
    for drawn_at in (half_hour, half_hour - HALF_HOUR):
        inputs = graph_inputs(request, chosen, drawn_at)
        kept = kept_at(session, GRAPH_RESULT, before.version, inputs, decode_graph)
        if kept is not None:
            began = before.began.astimezone(ZoneInfo(chosen.time_zone)).strftime("%H:%M")
            note = f"{IMPORTING_NOTE.format(began=began)} · {kept.note}"
            return dataclasses.replace(kept, note=note)
    return None


def start_of_half_hour(moment: dt.datetime) -> dt.datetime:
    """The start of ``moment``'s half hour [UTC]."""
    utc = moment.astimezone(dt.UTC)
    return utc.replace(minute=utc.minute - utc.minute % 30, second=0, microsecond=0)


def graph_inputs(request: GraphRequest, chosen: GraphSites, half_hour: dt.datetime) -> dict[str, object]:
    """Everything a drawn graph depends on besides the usage data's version (JSON-able)."""
    members = chosen.members.sort_values("site_id")
    return {
        "format": GRAPH_FORMAT,
        "request": [
            request.group,
            request.site,
            request.start.isoformat(),
            request.end.isoformat(),
            request.fuel,
            request.granularity,
            request.stack,
        ],
        "sites": [int(s) for s in chosen.site_ids],
        "fuels": list(chosen.fuels),
        "fuel": chosen.fuel,
        "zone": chosen.time_zone,
        "daily_only": chosen.daily_only,
        "members": hashlib.sha256(members.to_json(orient="split", index=False).encode()).hexdigest(),
        "at": half_hour.isoformat(),
    }


def encode_graph(result: GraphResult) -> str:
    """The figure's JSON (typed arrays as plotly sends them) and the rest of the result, in one JSON object."""
    meta = {
        "resolution": result.resolution,
        "note": result.note,
        "fuel": result.fuel,
        "fuels": list(result.fuels),
        "summary": result.summary,
        "finest": result.finest,
        "totals": None if result.totals is None else dict(result.totals),
    }
    return f'{{"figure":{to_json_plotly(result.figure)},"meta":{json.dumps(meta)}}}'


def decode_graph(payload: str) -> GraphResult | None:
    """A kept graph, or None when the payload is not one this version wrote."""
    try:
        kept = json.loads(payload)
        figure: dict[str, Any] = kept["figure"]
        meta: dict[str, Any] = kept["meta"]
        if not isinstance(figure.get("data"), list) or not isinstance(figure.get("layout"), dict):
            return None
        totals = meta["totals"]
        return GraphResult(
            {"data": figure["data"], "layout": figure["layout"]},  # as plain data: a go.Figure copies it twice
            str(meta["resolution"]),
            str(meta["note"]),
            str(meta["fuel"]),
            tuple(str(f) for f in meta["fuels"]),
            summary=str(meta["summary"]),
            finest=str(meta["finest"]),
            totals=None if totals is None else {str(k): v for k, v in dict(totals).items()},
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
