"""Short days asked of the database: the same days the rule finds, on both engines, clock changes included."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from portfolio.models import DailyUsage, Fuel, MeterType, Organisation, Site
from portfolio.services.coverage import load_short_days

FIRST, LAST = dt.date(2024, 3, 30), dt.date(2024, 4, 1)  # Sun 31 Mar 2024 has 46 half hours (23 hourly) in the UK
CHANGE = dt.date(2024, 3, 31)


def _sites(session: Session, count: int) -> list[int]:
    organisation = Organisation(name="Short days", account_number="SHORT-1")
    sites = [
        Site(organisation=organisation, name=f"Site {n}", fuel=Fuel.POWER, meter_type=MeterType.HH)
        for n in range(count)
    ]
    session.add_all([organisation, *sites])
    session.flush()
    return [s.id for s in sites]


def _day(site_id: int, day: dt.date, intervals: int, seconds: int = 1800) -> DailyUsage:
    return DailyUsage(
        site_id=site_id, local_date=day, energy_kwh=float(intervals), intervals=intervals, interval_seconds=seconds
    )


def test_short_days_follow_each_days_length_and_a_daily_site_wants_one_total(session: Session) -> None:
    whole, missing_day, daily, silent, hourly, sydney, emptied = _sites(session, 7)
    session.add_all(
        [
            _day(whole, FIRST, 48),
            _day(whole, CHANGE, 46),  # 46 on the short day is whole
            _day(whole, LAST, 47),  # 47 of 48 is not
            _day(missing_day, FIRST, 48),
            _day(missing_day, LAST, 48),  # no row on the 31st: nothing reported that day
            _day(daily, FIRST, 1, 86400),  # daily totals: one a day is whole
            *[_day(hourly, d, n, 3600) for d, n in ((FIRST, 24), (CHANGE, 23), (LAST, 23))],
            *[_day(sydney, d, 48) for d in (FIRST, CHANGE, LAST)],  # no clock change in Sydney that day
            _day(emptied, FIRST, 0, 86400),  # a row without readings (all restated away) is no total
            _day(emptied, CHANGE, 1, 86400),
            _day(emptied, LAST, 1, 86400),
        ]
    )
    session.commit()
    steps = {whole: 1800, missing_day: 1800, daily: 86400, silent: 3600, hourly: 3600, sydney: 1800, emptied: 86400}
    zones = dict.fromkeys(steps, "Europe/London") | {sydney: "Australia/Sydney"}
    assert load_short_days(session, steps, zones, FIRST, LAST) == {
        whole: [LAST],
        missing_day: [CHANGE],
        daily: [CHANGE, LAST],
        silent: [FIRST, CHANGE, LAST],  # never reported
        hourly: [LAST],  # 23 hours is whole on the 31st, short on 1 April
        emptied: [FIRST],
    }
    assert load_short_days(session, {whole: 1800}, {whole: "Europe/London"}, FIRST, FIRST) == {}
    assert load_short_days(session, {}, {}, FIRST, LAST) == {}


def test_a_day_nobody_reported_a_day_everybody_did_and_days_some_did_are_each_found(session: Session) -> None:
    """The morning before yesterday's files: every site misses the last day, one never reported, and the days in
    between are whole for some sites and missing for others (the days are read per site only where they differ)."""
    days = [FIRST + dt.timedelta(days=n) for n in range(6)]  # 30 Mar - 4 Apr 2024: the 31st has 46 half hours
    a, b, c, never = _sites(session, 4)
    whole = {day: 46 if day == CHANGE else 48 for day in days}
    session.add_all(
        [
            *[_day(a, day, whole[day]) for day in days[:-1]],  # all but the last day
            *[_day(b, day, whole[day]) for day in days[:-1] if day != days[2]],  # also misses the 1st
            *[_day(c, day, whole[day] if day != days[3] else 30) for day in days[:-1] if day != days[1]],
        ]
    )
    session.commit()
    steps = dict.fromkeys((a, b, c, never), 1800)
    zones = dict.fromkeys(steps, "Europe/London")
    assert load_short_days(session, steps, zones, days[0], days[-1]) == {
        a: [days[-1]],
        b: [days[2], days[-1]],
        c: [days[1], days[3], days[-1]],  # the 2nd: 30 of 48 half hours
        never: days,
    }
    assert load_short_days(session, {a: 1800}, {a: "Europe/London"}, days[0], days[-2]) == {}


def test_an_hourly_amr_meter_reports_hours_everywhere_its_interval_is_read(session: Session) -> None:
    """An AMR meter's day is 24 hourly readings, not half of 48, whether its meter type comes as text or as the
    ORM's str enum (whose str() is "MeterType.AMR": stored estimates once took every AMR day as short)."""
    import pandas as pd

    from portfolio.queries.graphs import load_graph_sites
    from portfolio.queries.missing_estimates import load_estimated_sites
    from portfolio.services.coverage import site_interval_seconds

    organisation = Organisation(name="Meters", account_number="METERS-1")
    sites = [
        Site(organisation=organisation, name=f"{m.value} meter", fuel=Fuel.POWER, meter_type=m)
        for m in (MeterType.AMR, MeterType.HH, MeterType.SMART)
    ]
    session.add_all([organisation, *sites])
    session.flush()
    expected = {sites[0].id: 3600, sites[1].id: 1800, sites[2].id: 1800}
    members = load_graph_sites(session, list(expected))
    assert site_interval_seconds(members) == expected
    frame = pd.DataFrame({"site_id": list(expected), "meter_type": ["amr", "hh", "smart"]})
    assert site_interval_seconds(frame) == expected
    assert site_interval_seconds(frame.assign(meter_type=[s.meter_type for s in sites])) == expected
    found = load_estimated_sites(session, list(expected))
    assert dict(zip(found["site_id"], found["interval_seconds"], strict=True)) == expected
