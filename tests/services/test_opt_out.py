"""Micro-business half-hourly opt-out: notice, one-click opt-out, removal within 7 days, daily-only everywhere."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import AccessDenied, DataType, application_site_ids, viewer_for, visible_site_ids
from portfolio.config import Settings, load_settings
from portfolio.db import transaction
from portfolio.ingest.loader import load_parsed
from portfolio.ingest.records import MeterSeries, ParsedFile
from portfolio.models import (
    AuditEntry,
    DailyUsage,
    Enrolment,
    GranteeKind,
    Notification,
    Organisation,
    OutboxEmail,
    PortfolioSeries,
    Reading,
    Site,
    SiteExpected,
    User,
)
from portfolio.queries.consent import insert_grant
from portfolio.services import customers, expected_summary, opt_out, pipeline
from portfolio.services.exports import DAILY_ONLY_EXPORT, ExportError, parse_export_request, plan_export, stream_export
from portfolio.services.graphs import DAILY_ONLY_NOTE, GraphRequest, make_graph
from portfolio.services.graphs_profile import make_profile
from portfolio.services.groups import ALL_SITES

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
FIRST_DAY = dt.date(2026, 10, 27)  # after the clock change: UK days are UTC days
FIRST_TS = int(dt.datetime(2026, 10, 27, tzinfo=dt.UTC).timestamp())
METER = "MICRO-SMART-1"
LIST = (
    "Account Number,Organisation Name,Micro Business,Billing Portal User,Contact Name,Contact Email,Contact Type\n"
    "M-1,Micro Cafe,Yes,Yes,Mia Micro,mia@micro.example,Primary\n"
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({}, instance_path=tmp_path, database_url="sqlite://", secret_key="test-secret")


def load_days(factory: sessionmaker[Session], first_ts: int, days: int) -> None:
    n = days * 48
    frame = pd.DataFrame(
        {
            "start_ts": first_ts + 1800 * np.arange(n, dtype=np.int64),
            "interval_seconds": np.full(n, 1800, dtype=np.int64),
            "energy_kwh": np.full(n, 0.5),
            "estimated": np.zeros(n, dtype=bool),
            "original_value": np.full(n, np.nan),
            "original_unit": [None] * n,
        }
    )
    parsed = ParsedFile(
        path="m.csv", format="hh-csv-long", meters=(MeterSeries(METER, "other", "power", frame, meter_type="smart"),)
    )
    with transaction(factory) as session:
        load_parsed(session, parsed, organisation_account="M-1", filename="m.csv", sha256=f"{first_ts}")


@pytest.fixture
def micro(session_factory: sessionmaker[Session], settings: Settings) -> dict[str, int]:
    """Micro Cafe on the customer list with a smart meter and 3 days of half-hourly data, notice sent at NOW."""
    with transaction(session_factory) as session:
        session.add(Organisation(name="Micro Cafe", account_number="M-1"))
    load_days(session_factory, FIRST_TS, 3)
    with session_factory() as session:
        report = customers.import_customer_list(session, "c.csv", LIST.encode(), settings=settings, now=NOW)
        assert report.notices_sent == 1
        organisation = session.scalars(select(Organisation.id).where(Organisation.account_number == "M-1")).one()
        site = session.scalars(select(Site.id).where(Site.organisation_id == organisation)).one()
        user = session.scalars(select(User.id).where(User.email == "mia@micro.example")).one()
    return {"organisation": organisation, "site": site, "user": user}


def interval_readings(session: Session, site_id: int) -> int:
    return int(session.scalar(select(func.count()).select_from(Reading).where(Reading.site_id == site_id)) or 0)


def daily_kwh(session: Session, site_id: int) -> float:
    return float(session.scalar(select(func.sum(DailyUsage.energy_kwh)).where(DailyUsage.site_id == site_id)) or 0)


def series_rows(session: Session, organisation_id: int, resolution: str) -> int:
    statement = select(func.count()).where(
        PortfolioSeries.scope_kind == "org",
        PortfolioSeries.scope_id == organisation_id,
        PortfolioSeries.resolution == resolution,
    )
    return int(session.scalar(statement) or 0)


def link_token(session: Session) -> str:
    body = session.scalars(select(OutboxEmail.body).where(OutboxEmail.body.contains("/opt-out?token="))).one()
    return body.split("/opt-out?token=", 1)[1].split()[0]


def test_the_notice_goes_once_by_email_and_in_app_with_the_deadline(
    session_factory: sessionmaker[Session], settings: Settings, micro: dict[str, int]
) -> None:
    with session_factory() as session:
        enrolment = session.get(Enrolment, micro["organisation"])
        assert enrolment is not None and opt_out.deadline_of(enrolment) == NOW + dt.timedelta(days=7)
        assert link_token(session)
        assert (
            session.scalar(select(func.count()).select_from(Notification).where(Notification.user_id == micro["user"]))
            == 1
        )
        again = customers.import_customer_list(session, "c.csv", LIST.encode(), settings=settings, now=NOW)
        assert again.notices_sent == 0 and again.unchanged == 1
        notices = select(func.count()).select_from(OutboxEmail).where(OutboxEmail.body.contains("/opt-out?token="))
        assert session.scalar(notices) == 1


def test_opting_out_within_7_days_removes_interval_readings_and_keeps_daily_totals(
    session_factory: sessionmaker[Session], settings: Settings, micro: dict[str, int]
) -> None:
    site, organisation = micro["site"], micro["organisation"]
    with session_factory() as session:
        before_kwh = daily_kwh(session, site)
        assert interval_readings(session, site) == 144 and series_rows(session, organisation, "hh") == 144
        result = opt_out.opt_out_by_link(session, settings, link_token(session), now=NOW + dt.timedelta(days=6))
    assert result.changed and result.within_deadline and result.readings_removed == 144
    with session_factory() as session:
        assert interval_readings(session, site) == 0
        assert daily_kwh(session, site) == pytest.approx(before_kwh) == pytest.approx(72.0)
        assert series_rows(session, organisation, "hh") == 0 and series_rows(session, organisation, "hour") == 0
        assert series_rows(session, organisation, "day") == 3
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.organisation_id == organisation)).all()
        assert "hh_opted_out" in actions and "hh_notice_sent" in actions


def test_opting_out_after_7_days_keeps_readings_but_shows_only_daily_data(
    session_factory: sessionmaker[Session], settings: Settings, micro: dict[str, int]
) -> None:
    site = micro["site"]
    with session_factory() as session:
        result = opt_out.opt_out_by_link(
            session, settings, link_token(session), now=NOW + dt.timedelta(days=7, hours=1)
        )
        assert result.changed and not result.within_deadline and result.readings_removed == 0
        assert interval_readings(session, site) == 144
        viewer = viewer_for(session, session.get(User, micro["user"]), NOW + dt.timedelta(days=8))
        assert site not in visible_site_ids(session, viewer, DataType.INTERVAL_USAGE)
        assert site in visible_site_ids(session, viewer, DataType.DAILY_TOTALS)


def test_graph_and_export_show_daily_data_only_after_opting_out(
    session_factory: sessionmaker[Session], settings: Settings, micro: dict[str, int]
) -> None:
    site, later = micro["site"], NOW + dt.timedelta(days=1)
    with session_factory() as session:
        opt_out.opt_out_by_link(session, settings, link_token(session), now=later)
        viewer = viewer_for(session, session.get(User, micro["user"]), later)
        for target in (None, site):
            request = GraphRequest(ALL_SITES, target, FIRST_DAY, FIRST_DAY + dt.timedelta(days=2), "power", "hh")
            graph = make_graph(session, viewer, request, now=later)
            assert graph.resolution == "day" and graph.finest == "day"
            assert DAILY_ONLY_NOTE in graph.note
            assert graph.totals is not None and graph.totals["metered_kwh"] == pytest.approx(72.0)
        params = {"group": "all", "from": "2026-10-27", "to": "2026-10-29", "format": "csv"}
        for shape in ("interval", "portfolio"):
            with pytest.raises(ExportError, match="opted out of half-hourly data"):
                plan_export(session, viewer, parse_export_request({**params, "shape": shape}), settings, now=later)
        profile = make_profile(session, viewer, request)  # no hourly load profile of daily-only sites
        values = [v for trace in profile.data for row in (trace.z or []) for v in row if v is not None and v == v]
        assert not any(values)
        assert DAILY_ONLY_EXPORT
        plan = plan_export(session, viewer, parse_export_request({**params, "shape": "daily"}), settings, now=later)
    data = b"".join(stream_export(session_factory, plan, user_id=micro["user"], ip=None, via="test"))
    daily = pd.read_csv(io.BytesIO(data), comment="#")
    assert len(daily) == 3
    # each day one whole-day reading, as the daily roll-up holds it: its half hours are gone
    assert list(daily["intervals"]) == list(daily["expected_intervals"]) == [1, 1, 1]
    assert list(daily["interval_seconds"]) == [86400, 86400, 86400] and list(daily["coverage"]) == [1.0, 1.0, 1.0]


def test_imports_of_an_opted_out_site_keep_daily_totals_only(
    session_factory: sessionmaker[Session], settings: Settings, micro: dict[str, int]
) -> None:
    site, organisation = micro["site"], micro["organisation"]
    with session_factory() as session:
        opt_out.opt_out_by_link(session, settings, link_token(session), now=NOW)
    load_days(session_factory, FIRST_TS + 3 * 86400, 2)
    load_days(session_factory, FIRST_TS + 3 * 86400, 2)  # re-importing the same days changes nothing
    with session_factory() as session:
        assert interval_readings(session, site) == 0
        assert daily_kwh(session, site) == pytest.approx(5 * 24.0)
        assert series_rows(session, organisation, "hh") == 0 and series_rows(session, organisation, "day") == 5
        day_total = select(func.sum(PortfolioSeries.energy_kwh)).where(
            PortfolioSeries.scope_kind == "org",
            PortfolioSeries.scope_id == organisation,
            PortfolioSeries.resolution == "day",
        )
        assert session.scalar(day_total) == pytest.approx(120.0)


def test_opting_back_in_restores_interval_access_and_applications_see_daily_only_while_out(
    session_factory: sessionmaker[Session], settings: Settings, micro: dict[str, int]
) -> None:
    site, organisation = micro["site"], micro["organisation"]
    later = NOW + dt.timedelta(days=8)
    with session_factory() as session:
        grant = insert_grant(
            session, organisation_id=organisation, grantee_kind=GranteeKind.APPLICATION, valid_from=NOW
        )
        session.commit()
        viewer = viewer_for(session, session.get(User, micro["user"]), later)
        assert opt_out.update_opt_out(session, viewer, True, now=later).changed
        assert application_site_ids(session, grant.id, DataType.INTERVAL_USAGE, later) == []
        assert application_site_ids(session, grant.id, DataType.DAILY_TOTALS, later) == [site]
        assert opt_out.update_opt_out(session, viewer, False, now=later).changed
        viewer = viewer_for(session, session.get(User, micro["user"]), later)
        assert site in visible_site_ids(session, viewer, DataType.INTERVAL_USAGE)
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.organisation_id == organisation)).all()
        assert {"hh_opted_out", "hh_opted_in"} <= set(actions)


def test_forged_links_and_non_micro_businesses_are_refused(
    session_factory: sessionmaker[Session], settings: Settings, micro: dict[str, int]
) -> None:
    with session_factory() as session:
        for token in ("", "x" * 500, opt_out.make_token(settings, micro["organisation"]) + "x", 7):
            with pytest.raises(AccessDenied):
                opt_out.opt_out_by_link(session, settings, token, now=NOW)
        other = Organisation(name="Big Corp", account_number="BIG-1")
        session.add(other)
        session.commit()
        with pytest.raises(opt_out.OptOutError, match="only micro-business"):
            opt_out.opt_out_by_link(session, settings, opt_out.make_token(settings, other.id), now=NOW)
        assert session.get(Enrolment, micro["organisation"]).opted_out_at is None


def test_a_meter_arriving_after_enrolment_gets_the_notice_from_the_next_daily_run(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    """Enrolled with no smart meter yet: no notice then; the daily run after the meter's first file sends it, and
    the 7 days count from that run, not from enrolment."""
    with transaction(session_factory) as session:
        session.add(Organisation(name="Micro Cafe", account_number="M-1"))
    with session_factory() as session:
        report = customers.import_customer_list(session, "c.csv", LIST.encode(), settings=settings, now=NOW)
        assert report.notices_sent == 0
    load_days(session_factory, FIRST_TS, 3)
    later = NOW + dt.timedelta(days=3)
    result = pipeline.run_daily(session_factory, settings, run_date=dt.date(2026, 11, 5), now=later)
    steps = {step.name: step for step in result.steps}
    assert steps["opt_out_notices"].counts["sent"] == 1 and not steps["opt_out_notices"].errors
    with session_factory() as session:
        organisation = session.scalars(select(Organisation.id).where(Organisation.account_number == "M-1")).one()
        enrolment = session.get(Enrolment, organisation)
        assert enrolment is not None and opt_out.deadline_of(enrolment) == later + dt.timedelta(days=7)
        assert link_token(session)
    again = pipeline.run_daily(session_factory, settings, run_date=dt.date(2026, 11, 6), now=later + dt.timedelta(1))
    assert {step.name: step for step in again.steps}["opt_out_notices"].counts["sent"] == 0


def test_the_expected_panel_of_an_opted_out_site_counts_whole_days(
    session_factory: sessionmaker[Session], settings: Settings, micro: dict[str, int]
) -> None:
    """After opting out the panel's metered energy is the daily roll-up and a missing day is estimated from the
    stored daily prediction: no half-hourly reading or prediction is used."""
    site = micro["site"]
    start_ts, end_ts = FIRST_TS, FIRST_TS + 5 * 86_400  # 3 metered days, 2 missing (UK days are UTC days here)
    with session_factory() as session:
        opt_out.opt_out_by_link(session, settings, link_token(session), now=NOW + dt.timedelta(days=6))
    with transaction(session_factory) as session:  # as a later refit would store them
        for day in range(5):
            session.add(
                SiteExpected(
                    site_id=site,
                    resolution="day",
                    start_ts=FIRST_TS + day * 86_400,
                    expected_kwh=20.0,
                    variance_kwh2=4.0,
                )
            )
            for half_hour in range(48):  # far off: using these would show
                session.add(
                    SiteExpected(
                        site_id=site,
                        resolution="hh",
                        start_ts=FIRST_TS + day * 86_400 + half_hour * 1800,
                        expected_kwh=100.0,
                        variance_kwh2=1.0,
                    )
                )
    sites = pd.DataFrame({"site_id": [site], "fuel": ["power"], "interval_seconds": [1800]})
    with session_factory() as session:
        (summary,) = expected_summary.compute_portfolio_summary(
            session, sites, start_ts, end_ts, end_ts, "Europe/London"
        )
    assert summary.metered_kwh == pytest.approx(72.0) and summary.sites_metered == 1
    assert summary.estimated_missing_kwh == pytest.approx(40.0) and summary.sites_estimated == 1
    assert summary.estimated_missing_range_kwh is not None
    low, high = summary.estimated_missing_range_kwh
    assert low < 40.0 < high and high - 40.0 == pytest.approx(1.6448536 * 4.0)  # two days' se of 2 kWh, correlated
