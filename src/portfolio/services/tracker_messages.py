"""What trackers say: the amount in plain words, and the emails and bell notices of each event.

Events: "exceeded" (consumption so far is above the amount), "warning" (on course to exceed: the lower end of
the projection's 90 % band is above the amount), "warning_off" (no longer on course), "restated" (a message
sent earlier no longer holds after the period's figures changed).
"""

from __future__ import annotations

import datetime as dt

from portfolio.config import Settings
from portfolio.services.tracker_status import TrackerStatus
from portfolio.timekeeping import UK_TIME_ZONE


def kwh_text(value: float | None) -> str:
    return "unknown" if value is None else f"{value:,.0f} kWh" if abs(value) >= 100 else f"{value:,.1f} kWh"


def amount_text(status: TrackerStatus) -> str:
    """The amount for the whole period; in percent mode with what it is made of."""
    if status.target_kind == "percent":
        above = "above" if status.target_value >= 0 else "below"
        return (
            f"{kwh_text(status.target_kwh)} for the whole period (the expected "
            f"{kwh_text(status.expected_period_kwh)} {above} by {abs(status.target_value):g} %)"
        )
    return kwh_text(status.target_kwh)


def to_date_text(status: TrackerStatus) -> str | None:
    """Percent mode: the part of the amount that covers the days so far, beside what was used in them."""
    if status.target_to_date_kwh is None or status.complete:
        return None
    return (
        f"Up to {status.data_day:%a %-d %b}: {kwh_text(status.consumption_kwh)} used, against "
        f"{kwh_text(status.target_to_date_kwh)} allowed for those days"
    )


def band_text(status: TrackerStatus) -> str:
    return (
        f"projection {kwh_text(status.projection_kwh)}, 90 % range "
        f"{_plain(status.projection_lower_kwh)}-{_plain(status.projection_upper_kwh)} kWh"
    )


def _plain(value: float | None) -> str:
    return "?" if value is None else f"{value:,.0f}"


def _day(day: dt.date | None, fallback: dt.date) -> str:
    return f"{day or fallback:%A %-d %b}"


def warning_sentence(status: TrackerStatus) -> str:
    return (
        f"on course to exceed {kwh_text(status.target_kwh)} by about {_day(status.crossing_day, status.period_end)} "
        f"({band_text(status)})"
    )


def _footer(status: TrackerStatus, settings: Settings) -> list[str]:
    base = settings.base_url.rstrip("/")
    return [
        "",
        f"See the graph of this period: {base}{status.graph_path}",
        f"Trackers and notification settings: {base}/trackers",
    ]


def _facts(status: TrackerStatus) -> list[str]:
    lines = [
        f"Tracker:            {status.name}",
        f"Covers:             {status.scope_label}, {status.fuel}",
        f"Period:             {status.period_label} (local time, {UK_TIME_ZONE})",
        f"Requested amount:   {amount_text(status)}",
        f"Consumption so far: {kwh_text(status.consumption_kwh)} (up to and including {status.data_day:%a %-d %b %Y})",
    ]
    if status.excess_pct is not None:
        lines.append(f"Over by:            {kwh_text(status.excess_kwh)} ({status.excess_pct:.1f} %)")
    lines += [
        f"Sites reporting:    {status.reporting_text}",
        f"Projection:         {kwh_text(status.projection_kwh)} by the end of the period ({status.projection_method}; "
        f"90 % range {_plain(status.projection_lower_kwh)}-{_plain(status.projection_upper_kwh)} kWh)",
    ]
    return lines + [f"Note: {note}" for note in status.notes]


def exceeded_email(status: TrackerStatus, settings: Settings) -> tuple[str, str]:
    """Subject and body of the "tracker exceeded" email: which tracker, by how much, and where to look."""
    subject = (
        f"Tracker “{status.name}” exceeded by {kwh_text(status.excess_kwh)} ({status.excess_pct:.1f} %)"
        if status.excess_pct is not None
        else f"Tracker “{status.name}” exceeded"
    )
    lines = [f"Your consumption tracker “{status.name}” has gone over its requested amount.", "", *_facts(status)]
    lines += [*_footer(status, settings), "", "You get one message per tracker and period."]
    return subject, "\n".join(lines)


def exceeded_notice(status: TrackerStatus) -> tuple[str, str]:
    title = f"“{status.name}” is over its amount by {kwh_text(status.excess_kwh)} ({status.excess_pct or 0:.1f} %)"
    body = (
        f"{status.period_label}: {kwh_text(status.consumption_kwh)} of {kwh_text(status.target_kwh)} {status.fuel}. "
        f"{status.reporting_text}."
    )
    return title, body


def warning_email(status: TrackerStatus, settings: Settings) -> tuple[str, str]:
    subject = f"Tracker “{status.name}” is {warning_sentence(status)}"
    lines = [
        f"Your consumption tracker “{status.name}” is {warning_sentence(status)}.",
        "Even the low end of the projection's 90 % range is above the amount. It has not been exceeded yet.",
        "",
        *_facts(status),
        *_footer(status, settings),
        "",
        "You get one such warning per tracker and period, and one message if it falls back.",
    ]
    return subject, "\n".join(lines)


def warning_notice(status: TrackerStatus) -> tuple[str, str]:
    return (
        f"“{status.name}” is on course to exceed its amount",
        f"{status.period_label}: {warning_sentence(status)}. {status.reporting_text}.",
    )


def warning_off_email(status: TrackerStatus, settings: Settings) -> tuple[str, str]:
    sentence = (
        f"no longer on course to exceed {kwh_text(status.target_kwh)} "
        f"({band_text(status)}, {kwh_text(status.consumption_kwh)} used so far)"
    )
    lines = [
        f"Your consumption tracker “{status.name}” is {sentence}.",
        "",
        *_facts(status),
        *_footer(status, settings),
    ]
    return f"Tracker “{status.name}” is {sentence}", "\n".join(lines)


def warning_off_notice(status: TrackerStatus) -> tuple[str, str]:
    return (
        f"“{status.name}” is no longer on course to exceed its amount",
        f"{status.period_label}: {band_text(status)}, under {kwh_text(status.target_kwh)}.",
    )


def restated_sentence(status: TrackerStatus) -> str:
    """ "restated: the week of 30 Nov used 11,600 kWh, under your 12,000 kWh" (or "has used ... so far")."""
    period = {"day": f"{status.period_start:%a %-d %b}", "month": f"{status.period_start:%B %Y}"}.get(
        status.period, f"the week of {status.period_start:%-d %b}"
    )
    verb = "used" if status.complete else "has used"
    so_far = "" if status.complete else " so far"
    return (
        f"restated: {period} {verb} {kwh_text(status.consumption_kwh)}{so_far}, "
        f"under your {kwh_text(status.target_kwh)}"
    )


def restated_email(status: TrackerStatus, settings: Settings) -> tuple[str, str]:
    lines = [
        f"Correction for your consumption tracker “{status.name}”: {restated_sentence(status)}.",
        "",
        "We told you earlier that it had gone over its amount. The period's figures have since changed "
        "(estimated readings replaced by actual ones, or late data), and it is under the amount.",
        *([f"It is still {warning_sentence(status)}."] if status.state == "warning" else []),
        "",
        *_facts(status),
        *_footer(status, settings),
    ]
    return f"Correction: tracker “{status.name}” {restated_sentence(status)}", "\n".join(lines)


def restated_notice(status: TrackerStatus) -> tuple[str, str]:
    sentence = restated_sentence(status)
    still = f" It is still {warning_sentence(status)}." if status.state == "warning" else ""
    return f"Correction: “{status.name}” is under its amount", f"{sentence[0].upper()}{sentence[1:]}.{still}"
