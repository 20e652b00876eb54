"""The admin Pipeline page: last daily runs (per step counts, errors, duration) and emails that failed to send."""

from __future__ import annotations

import datetime as dt
from typing import Any

from dash import html
from sqlalchemy.orm import Session

from portfolio.models import OutboxStatus, RunStatus
from portfolio.queries import notifications as notification_queries
from portfolio.queries import pipeline as pipeline_queries

from ..components import uk_time_text

RUNS_SHOWN = 14
STATUS_LABELS = {
    RunStatus.OK: "OK",
    RunStatus.PARTIAL: "Completed with errors",
    RunStatus.FAILED: "A step failed",
    RunStatus.RUNNING: "Running",
}


def make_refusal() -> html.Section:
    return html.Section(
        [html.H1("Pipeline"), html.P("This page is for administrators only.", className="alert", role="alert")],
        className="page pipeline-page",
    )


def _local(value: dt.datetime | None) -> str:
    return uk_time_text(value, "%-d %b %Y %H:%M")


def _counts(counts: dict[str, Any]) -> str:
    def show(value: Any) -> str:
        return (", ".join(f"{k} {v}" for k, v in value.items()) or "empty") if isinstance(value, dict) else str(value)

    return ", ".join(f"{key.replace('_', ' ')}: {show(value)}" for key, value in counts.items()) or "—"


def _error_text(error: dict[str, Any]) -> str:
    where = (
        error.get("file")
        or (f"site {error['site_id']}" if error.get("site_id") else None)
        or (f"tracker {error['tracker_id']}" if error.get("tracker_id") else None)
        or (f"email {error['email_id']}" if error.get("email_id") else None)
        or (f"expected series of {error['scope']} ({error.get('fuel')})" if error.get("scope") else None)
    )
    return f"{where}: {error.get('error')}" if where else str(error.get("error"))


def make_run(run: Any) -> html.Article:
    rows = [
        html.Tr(
            [
                html.Td(step["name"].replace("_", " ")),
                html.Td(f"{step['duration_s']:.2f} s", className="num"),
                html.Td(_counts(step["counts"])),
                html.Td(
                    html.Ul([html.Li(_error_text(e)) for e in step["errors"]]) if step["errors"] else "—",
                    className="errors" if step["errors"] else "",
                ),
            ]
        )
        for step in run.steps or []
    ]
    table = html.Table(
        [
            html.Thead(html.Tr([html.Th("Step"), html.Th("Duration"), html.Th("Counts"), html.Th("Errors")])),
            html.Tbody(rows),
        ],
        className="pipeline-steps",
    )
    return html.Article(
        [
            html.H3(
                [
                    f"Run for {run.run_date:%a %-d %b %Y} ",
                    html.Span(STATUS_LABELS.get(run.status, run.status), className=f"status status-{run.status}"),
                ]
            ),
            html.P(f"Started {_local(run.started_at)}, finished {_local(run.finished_at)}", className="muted small"),
            table,
        ],
        className="card pipeline-run",
    )


def make_pipeline_layout(session: Session) -> html.Section:
    runs = pipeline_queries.load_recent_runs(session, RUNS_SHOWN)
    problems = notification_queries.load_outbox_problems(session)
    outbox = notification_queries.count_outbox(session)
    body: list[Any] = [make_run(run) for run in runs] or [
        html.P("No daily run yet. Run `portfolio daily-run` (cron) or the Procfile's worker.", className="muted")
    ]
    email_rows = [
        html.Tr(
            [
                html.Td(r["to"]),
                html.Td(r["subject"]),
                html.Td(r["status"]),
                html.Td(str(r["attempts"]), className="num"),
                html.Td(_local(r["next_attempt_at"]) if r["status"] == OutboxStatus.PENDING else "—"),
                html.Td(r["last_error"] or ""),
            ]
        )
        for r in problems.to_dict("records")
    ]
    emails = html.Div(
        [
            html.H2("Emails not delivered"),
            html.P(f"Outbox: {_counts(outbox)}", className="muted small"),
            html.Table(
                [
                    html.Thead(
                        html.Tr(
                            [html.Th(h) for h in ("To", "Subject", "Status", "Attempts", "Next attempt", "Last error")]
                        )
                    ),
                    html.Tbody(email_rows),
                ],
                className="pipeline-steps",
            )
            if email_rows
            else html.P("None.", className="muted"),
        ],
        className="card",
    )
    return html.Section(
        [
            html.Div(
                [
                    html.H1("Pipeline"),
                    html.P(
                        "The daily run: import, roll-up check, weather, model refit, trackers, "
                        "notifications. Newest first.",
                        className="muted",
                    ),
                ],
                className="page-header",
            ),
            *body,
            emails,
        ],
        className="page pipeline-page",
    )
