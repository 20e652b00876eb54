"""Write the synthetic layout samples in this folder (run once; the files are committed, the tests never run this).

Every value is ``v(day, k) = 0.05 + ((7 * day + 3 * k) % 17) / 100`` [kWh] with day the row's day number and k the
0-based elapsed half hour, so each file's total is known exactly and printed to ``totals.json``. Layouts imitate
the shapes real UK data collectors, AMR portals and suppliers send (see README.md); no real data is in them.
The .xls sample needs xlwt (``pip install --target /tmp/xlwtlib xlwt``), used for this file only.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).parent
UK = ZoneInfo("Europe/London")
MPAN = "1234567890126"
MPAN2 = "2000000000011"
MPRN = "7123456"
TOTALS: dict[str, dict[str, float | int | str]] = {}


def v(day: int, k: int) -> float:
    return round(0.05 + ((7 * day + 3 * k) % 17) / 100, 2)


def halves(date: dt.date) -> int:
    start = dt.datetime.combine(date, dt.time(), UK)
    end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(), UK)
    return int((end.timestamp() - start.timestamp()) // 1800)


def record(name: str, readings: int, total: float, first: str) -> None:
    TOTALS[name] = {"readings": readings, "total_kwh": round(total, 6), "first_utc": first}


def first_utc(date: dt.date, k: int = 0) -> str:
    start = dt.datetime.combine(date, dt.time(), UK).timestamp() + 1800 * k
    return dt.datetime.fromtimestamp(start, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def wide(
    name,
    labels,
    date_fmt,
    days,
    *,
    title=(),
    footer=(),
    sep=",",
    meter_header="MPAN",
    meter=MPAN,
    date_header="Date",
    flags=None,
    second_block=False,
    total_column=False,
    encoding="utf-8",
    newline="\n",
    header=True,
    n_columns=None,
):
    n = n_columns or len(labels)
    lines = list(title)
    cols = [meter_header, date_header]
    for label in labels:
        cols.append(label)
        if flags == "after":
            cols.append("DQ Flag")
    if second_block:
        cols += [f"{label} Flag" if second_block == "suffix" else label for label in labels]
    if total_column:
        cols.append("Daily Total")
    if header:
        lines.append(sep.join(cols))
    count, total = 0, 0.0
    for day, date in enumerate(days):
        row = [meter, date.strftime(date_fmt) if isinstance(date_fmt, str) else date_fmt(date)]
        values = []
        for k in range(n):
            value = v(day, k) if k < halves(date) else None
            values.append(value)
            row.append("" if value is None else f"{value:.2f}")
            if flags == "after":
                row.append("" if value is None else ("E" if k == 5 else "A"))
            if value is not None:
                count, total = count + 1, total + value
        if second_block:
            row += ["" if x is None else "A" for x in values]
        if total_column:
            row.append(f"{sum(x for x in values if x is not None):.2f}")
        lines.append(sep.join(row))
    lines += list(footer)
    (HERE / name).write_bytes((newline.join(lines) + newline).encode(encoding))
    record(name, count, total, first_utc(days[0]))


def main() -> None:
    nov = [dt.date(2019, 11, 13) + dt.timedelta(days=i) for i in range(3)]
    autumn = [dt.date(2019, 10, 26) + dt.timedelta(days=i) for i in range(3)]
    spring = [dt.date(2019, 3, 30) + dt.timedelta(days=i) for i in range(3)]
    hhmm = [f"{m // 60:02d}:{m % 60:02d}" for m in range(0, 1440, 30)]
    end_hhmm = [f"{m // 60:02d}:{m % 60:02d}" for m in range(30, 1470, 30)]

    wide(
        "wide_start_hhmm_title_footer.csv",
        hhmm,
        "%d/%m/%Y",
        nov,
        title=["Half Hourly Consumption Report", "Customer: Example Ltd,Generated 14/11/2019", ""],
        footer=["", "Total,,123.45", "End of Report"],
    )
    wide(
        "wide_end_2400_sep_line.csv",
        end_hhmm,
        "%d/%m/%y",
        nov,
        title=["sep=,"],
        meter_header="MPAN Core",
        date_header="Reading Date",
    )
    wide("wide_end_0000_unpadded.csv", [f"{m // 60 % 24}:{m % 60:02d}" for m in range(30, 1470, 30)], "%Y/%m/%d", nov)
    wide(
        "wide_hhmm_integers_total.csv",
        [str(m // 60 * 100 + m % 60) for m in range(30, 1470, 30)],
        "%d-%b-%y",
        nov,
        total_column=True,
        meter_header="Supply Number",
    )
    wide(
        "wide_hr_sqlserver_dates.csv",
        [f"hr{m // 60:02d}{m % 60:02d}" for m in range(0, 1440, 30)],
        lambda d: d.strftime("%b %d %Y") + " 12:00AM",
        nov,
        meter_header="Site Id",
    )
    wide(
        "wide_H_dq_flag_after_each.csv",
        [f"H{m // 60:02d}{m % 60:02d}" for m in range(30, 1470, 30)],
        "%y-%m-%d",
        nov,
        flags="after",
    )
    wide(
        "wide_ampm.csv",
        [
            dt.time(m // 60, m % 60).strftime("%I:%M %p").lstrip("0")
            if False
            else f"{(m // 60) % 12 or 12}:{m % 60:02d} {'AM' if m < 720 else 'PM'}"
            for m in range(0, 1440, 30)
        ],
        "%d/%m/%Y",
        nov,
        meter_header="MPR",
        meter=MPRN,
    )
    wide("wide_HH50_autumn.csv", [f"HH{k}" for k in range(1, 51)], "%d/%m/%Y", autumn)
    wide("wide_P50_spring_tab.tsv", [f"P{k}" for k in range(1, 51)], "%Y-%m-%d", spring, sep="\t")
    wide(
        "wide_Kwh1_48.csv",
        [f"Kwh{k}" for k in range(1, 49)],
        "%d/%m/%Y",
        nov,
        meter_header="Meter Number",
        meter="E10BG12345",
    )
    wide("wide_kWh_underscore.csv", [f"kWh_{k}" for k in range(1, 49)], "%d/%m/%Y", nov)
    wide("wide_interval_n.csv", [f"interval_{k}" for k in range(1, 49)], "%d/%m/%Y", nov)
    wide("wide_bracketed.csv", [f"[{x}]" for x in end_hhmm], "%d/%m/%Y", nov)
    wide(
        "wide_consumptionHH.csv",
        [f"consumptionHH_{m // 60:02d}_{m % 60:02d}_00" for m in range(0, 1440, 30)],
        "%Y-%m-%d",
        nov,
    )
    wide("wide_consumption_kwh_HH.csv", [f"Consumption(KWh) HH{k}" for k in range(1, 49)], "%d/%m/%Y", nov)
    wide("wide_flag_second_block.csv", end_hhmm, "%d/%m/%Y", nov, second_block="suffix")
    wide("wide_same_names_second_block.csv", end_hhmm, "%d/%m/%Y", nov, second_block="same")
    wide("wide_utf16.csv", end_hhmm, "%d/%m/%Y", nov, encoding="utf-16", newline="\r\n")
    wide(
        "wide_cp1252_cr_only.csv",
        end_hhmm,
        "%d/%m/%Y",
        nov,
        title=["Site: Caf\u00e9 \u00a3 report"],
        encoding="cp1252",
        newline="\r",
    )
    wide("wide_no_header.csv", [f"HH{k}" for k in range(1, 49)], "%d/%m/%Y", nov, header=False)
    long_samples(nov, autumn, spring)
    excel_samples(nov)
    (HERE / "totals.json").write_text(json.dumps(TOTALS, indent=1, sort_keys=True) + "\n")


def long_samples(nov, autumn, spring) -> None:
    # Date + end-stamped time (00:30..24:00) with kVArh rows mixed in; two meters (an MPAN and an MPRN).
    lines = ["MPAN/MPRN,Date,Time,Units,Value"]
    count, total = 0, 0.0
    for meter, unit_day in ((MPAN, 0), (MPRN, 1)):
        for day, date in enumerate(nov[:2]):
            for k in range(48):
                minute = (k + 1) * 30
                stamp = f"{minute // 60:02d}:{minute % 60:02d}"
                value = v(day + unit_day, k)
                lines.append(f"{meter},{date:%d/%m/%Y},{stamp},kWh,{value:.2f}")
                lines.append(f"{meter},{date:%d/%m/%Y},{stamp},kVArh,9.99")
                count, total = count + 1, total + value
    (HERE / "long_date_time_end_kvarh.csv").write_text("\n".join(lines) + "\n")
    record("long_date_time_end_kvarh.csv", count, total, first_utc(nov[0]))

    # Date + settlement period across the autumn change (50 periods), start-stamped clock-free.
    lines = ["Supply Number,Settlement Date,Settlement Period,Consumption kWh,Actual/Estimated"]
    count, total = 0, 0.0
    for day, date in enumerate(autumn):
        for k in range(halves(date)):
            lines.append(f"{MPAN},{date:%d/%m/%Y},{k + 1},{v(day, k):.2f},{'A' if k % 7 else 'E'}")
            count, total = count + 1, total + v(day, k)
    (HERE / "long_settlement_period_autumn.csv").write_text("\n".join(lines) + "\n")
    record("long_settlement_period_autumn.csv", count, total, first_utc(autumn[0]))

    # No header: meter, start timestamp (UK clock, spring change: 01:00-01:59 missing), value, flag.
    lines, count, total = [], 0, 0.0
    for day, date in enumerate(spring):
        base = dt.datetime.combine(date, dt.time(), UK).timestamp()
        for k in range(halves(date)):
            local = dt.datetime.fromtimestamp(base + 1800 * k, UK)
            lines.append(f"{MPAN},{local:%d/%m/%Y %H:%M},{v(day, k):.3f},A")
            count, total = count + 1, total + v(day, k)
    (HERE / "long_no_header_spring.csv").write_text("\n".join(lines) + "\n")
    record("long_no_header_spring.csv", count, total, first_utc(spring[0]))

    # UTF-16 semicolon file with a title line, 'Meter Serial' and end-stamped 'Read End' times in UK clock time.
    lines, count, total = ["Export;AMR portal", "Meter Serial;Read End;kWh"], 0, 0.0
    for day, date in enumerate(nov[:2]):
        base = dt.datetime.combine(date, dt.time(), UK).timestamp()
        for k in range(48):
            local = dt.datetime.fromtimestamp(base + 1800 * (k + 1), UK)
            lines.append(f"K12A34567;{local:%Y-%m-%d %H:%M};{v(day, k):.2f}")
            count, total = count + 1, total + v(day, k)
    (HERE / "long_utf16_semicolon_end.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-16"))
    record("long_utf16_semicolon_end.csv", count, total, first_utc(nov[0]))


def excel_samples(nov) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Half-hourly data"])
    sheet.append([])
    sheet.append(["MPAN", "Date"] + [f"{m // 60:02d}:{m % 60:02d}" for m in range(30, 1470, 30)])
    count, total = 0, 0.0
    for day, date in enumerate(nov):
        values = [v(day, k) for k in range(48)]
        sheet.append([int(MPAN), dt.datetime.combine(date, dt.time())] + values)
        count, total = count + 48, total + sum(values)
    buffer = io.BytesIO()
    book.save(buffer)
    (HERE / "wide_excel.xlsx").write_bytes(buffer.getvalue())
    record("wide_excel.xlsx", count, total, first_utc(nov[0]))

    sys.path.insert(0, "/tmp/xlwtlib")
    import xlwt  # type: ignore[import-not-found]

    book = xlwt.Workbook()
    sheet = book.add_sheet("Readings")
    date_style = xlwt.easyxf(num_format_str="DD/MM/YYYY")
    time_style = xlwt.easyxf(num_format_str="HH:MM")
    for c, name in enumerate(["MPRN", "Read Date", "Read Time", "Consumption (kWh)"]):
        sheet.write(0, c, name)
    row, count, total = 1, 0, 0.0
    for day, date in enumerate(nov[:2]):
        for k in range(48):
            sheet.write(row, 0, MPRN)
            sheet.write(row, 1, dt.datetime.combine(date, dt.time()), date_style)
            sheet.write(row, 2, dt.time(k * 30 // 60, k * 30 % 60), time_style)
            sheet.write(row, 3, v(day, k))
            row, count, total = row + 1, count + 1, total + v(day, k)
    buffer = io.BytesIO()
    book.save(buffer)
    (HERE / "long_legacy.xls").write_bytes(buffer.getvalue())
    record("long_legacy.xls", count, total, first_utc(nov[0]))


if __name__ == "__main__":
    main()
