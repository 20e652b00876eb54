"""Meter files: the checks every long frame of readings goes through, and its split into :class:`MeterSeries`.

The long (:mod:`portfolio.ingest.long`) and wide (:mod:`portfolio.ingest.wide`) readers both end in
:func:`build_long`: each meter's identifier resolved (a full MPAN and its core are one meter; an MPAN with a wrong
check digit is refused, since a typo would create a new site), the unit fits the fuel, energy plausible
(:data:`~portfolio.ingest.units.MAX_AVERAGE_POWER_KW` on average over the interval), identical repeats kept once
and differing ones refused, readings on their interval grid [s] and not overlapping. Everything is vectorised;
Python loops run over meters or rows already known to be bad. The column rules are in
:mod:`portfolio.ingest.hh_csv`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from portfolio.identifiers import is_plausible_mprn, is_valid_mpan_core, parse_mpan
from portfolio.ingest.hh_csv import HALF_HOUR_SECONDS, normalised
from portfolio.ingest.records import READING_COLUMNS, ImportFormatError, ImportOptions, MeterSeries
from portfolio.ingest.text import quote
from portfolio.ingest.units import GAS_ONLY_UNITS, MAX_AVERAGE_POWER_KW


def check_energy(
    path: Path | str, energy_kwh: np.ndarray, values: np.ndarray, lines: np.ndarray, interval_seconds: np.ndarray | int
) -> None:
    """Refuse negative, infinite and implausible readings, which would silently skew every total."""
    limit = MAX_AVERAGE_POWER_KW * np.asarray(interval_seconds, dtype=np.float64) / 3600.0
    bad = ~np.isfinite(energy_kwh) | (energy_kwh < 0) | (energy_kwh > limit)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        kwh = energy_kwh[first]
        cap = float(np.broadcast_to(limit, energy_kwh.shape)[first])
        why = (
            "negative energy is not supported (export must be its own meter with positive values)"
            if kwh < 0
            else f"energy above {cap:g} kWh in one interval is not plausible ({MAX_AVERAGE_POWER_KW:g} kW on average)"
            if np.isfinite(kwh)
            else "energy is not a finite number"
        )
        raise ImportFormatError(str(path), f"{why}: {values[first]:g}", f"line {lines[first]}")


def check_unit_fits_fuel(path: Path | str, units: set[str], fuel: str | None, where: str) -> None:
    """Gas volumes and therms on an electricity feed mean the wrong file or the wrong unit: refuse."""
    gas_units = units & GAS_ONLY_UNITS
    if fuel == "power" and gas_units:
        raise ImportFormatError(
            str(path), f"unit {sorted(gas_units)[0]} is a gas unit but the meter is electricity", where
        )


def identifier(raw: str, fuel: str | None, *, column: str | None) -> tuple[str, str, str | None]:
    """Identifier, its kind and the fuel it implies; an MPAN-shaped id with a wrong check digit is an error."""
    text = raw.strip()
    digits = re.sub(r"[\s\-]", "", text)
    mpan_column = column is not None and "mpan" in normalised(column) and "mprn" not in normalised(column)
    if digits.isdigit() and (len(digits) == 21 or (len(digits) == 13 and fuel != "gas") or mpan_column):
        try:
            return parse_mpan(digits).core, "mpan", "power"
        except ValueError as error:
            raise ValueError(f"{error}: a typo would create a new site") from None
    if fuel != "power" and is_plausible_mprn(digits):
        return digits, "mprn", "gas"
    if len(digits) == 13 and is_valid_mpan_core(digits):
        return digits, "mpan", "power"
    return text, "other", None


def build_long(
    path: Path | str,
    *,
    meters: np.ndarray | tuple[np.ndarray, np.ndarray],
    start_ts: np.ndarray,
    interval_seconds: np.ndarray,
    energy_kwh: np.ndarray,
    values: np.ndarray,
    units: np.ndarray | str,
    estimated: np.ndarray,
    lines: np.ndarray,
    options: ImportOptions,
    meter_column: str | None,
    gas_hint: bool,
    time_zone: str | None,
) -> tuple[MeterSeries, ...]:
    """Check one file's readings as a whole and split them into one MeterSeries per meter.

    ``meters`` is each row's meter id, or already factorised as (codes, distinct ids).
    """
    if isinstance(meters, tuple):
        codes, names = meters
    else:
        codes, distinct = pd.factorize(pd.Series(meters, dtype=object), sort=True)
        names = np.asarray(distinct, dtype=object)
    resolved: list[tuple[str, str, str | None]] = []
    for position, name in enumerate(names):
        try:
            resolved.append(identifier(str(name), options.fuel, column=meter_column))
        except ValueError as error:
            line = lines[int(np.flatnonzero(codes == position)[0])]
            raise ImportFormatError(str(path), f"meter {quote(name)}: {error}", f"line {line}") from None
    # Two spellings of one meter (full MPAN and core) are one meter: key the checks on the resolved identifier.
    ids = [r[0] for r in resolved]
    id_codes, id_names = pd.factorize(pd.Series(ids, dtype=object), sort=True)
    codes = id_codes[codes]
    fuels = {}
    for number, ident in enumerate(id_names):
        implied = next(r[2] for r in resolved if r[0] == ident)
        fuels[number] = options.fuel or implied or ("gas" if gas_hint else "power")
    unit_array = np.broadcast_to(np.asarray(units, dtype=object), start_ts.shape)
    for number, fuel in fuels.items():
        check_unit_fits_fuel(path, set(pd.unique(unit_array[codes == number])), fuel, f"meter {id_names[number]}")
    check_energy(path, energy_kwh, values, lines, interval_seconds)
    order = np.lexsort((start_ts, codes))
    if not (np.diff(order) == 1).all():
        codes, start_ts, interval_seconds, energy_kwh = (
            codes[order],
            start_ts[order],
            interval_seconds[order],
            energy_kwh[order],
        )
        values, estimated, lines, unit_array = values[order], estimated[order], lines[order], unit_array[order]
    keep = _dedupe(path, codes, start_ts, energy_kwh, lines, id_names)
    if keep is not None:
        codes, start_ts, interval_seconds, energy_kwh = (
            codes[keep],
            start_ts[keep],
            interval_seconds[keep],
            energy_kwh[keep],
        )
        values, estimated, lines, unit_array = values[keep], estimated[keep], lines[keep], unit_array[keep]
    _check_grid(path, codes, start_ts, interval_seconds, lines, id_names)
    converted = np.array([u != "kWh" for u in unit_array], dtype=bool) if isinstance(units, np.ndarray) else None
    if converted is None:
        converted = np.full(len(start_ts), units != "kWh")
    bounds = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1], True])
    result = []
    for first, stop in zip(bounds[:-1], bounds[1:], strict=True):
        number = int(codes[first])
        ident = str(id_names[number])
        part = slice(first, stop)
        readings = pd.DataFrame(
            {
                "start_ts": start_ts[part].astype("int64"),
                "interval_seconds": interval_seconds[part].astype("int64"),
                "energy_kwh": energy_kwh[part].astype("float64"),
                "estimated": estimated[part].astype(bool),
                "original_value": np.where(converted[part], values[part], np.nan),
                "original_unit": pd.Series(unit_array[part], dtype=object).where(converted[part], None).to_numpy(),
            },
            columns=list(READING_COLUMNS),
        )
        raw_name = next(str(n) for n, r in zip(names, resolved, strict=True) if r[0] == ident)
        kind = next(r[1] for r in resolved if r[0] == ident)
        result.append(
            MeterSeries(
                identifier=ident,
                identifier_kind=kind,
                fuel=fuels[number],
                readings=readings,
                time_zone=time_zone,
                name=raw_name if raw_name != ident else None,
            )
        )
    return tuple(result)


def _dedupe(
    path: Path | str,
    codes: np.ndarray,
    start_ts: np.ndarray,
    energy_kwh: np.ndarray,
    lines: np.ndarray,
    names: pd.Index,
) -> np.ndarray | None:
    """Keep one of identical repeated readings; refuse repeats whose energy differs after unit conversion."""
    same = (codes[1:] == codes[:-1]) & (start_ts[1:] == start_ts[:-1])
    if not same.any():
        return None
    differs = same & ~np.isclose(energy_kwh[1:], energy_kwh[:-1], rtol=1e-9, atol=1e-9)
    if differs.any():
        i = int(np.flatnonzero(differs)[0])
        stamp = pd.Timestamp(int(start_ts[i]), unit="s", tz="UTC").isoformat()
        first_line, second_line = sorted((int(lines[i]), int(lines[i + 1])))
        raise ImportFormatError(
            str(path),
            f"meter {names[codes[i]]} has two different readings for {stamp}: "
            f"{energy_kwh[i]:g} kWh (line {first_line}) and {energy_kwh[i + 1]:g} kWh",
            f"line {second_line}",
        )
    return np.r_[True, ~same]


def _check_grid(
    path: Path | str, codes: np.ndarray, start_ts: np.ndarray, interval: np.ndarray, lines: np.ndarray, names: pd.Index
) -> None:
    """Refuse readings off their interval grid (a :15 in half-hourly data) and readings that overlap."""
    aligned = interval.copy()
    aligned[(interval > 3600) | (3600 % np.maximum(interval, 1) != 0)] = 60
    off = (start_ts % aligned) != 0
    if off.any():
        i = int(np.flatnonzero(off)[0])
        stamp = pd.Timestamp(int(start_ts[i]), unit="s", tz="UTC").isoformat()
        raise ImportFormatError(
            str(path),
            f"meter {names[codes[i]]}: {stamp} is off the {int(interval[i]) // 60}-minute grid of its readings",
            f"line {lines[i]}",
        )
    same = codes[1:] == codes[:-1]
    overlap = same & (start_ts[:-1] + interval[:-1] > start_ts[1:])
    if overlap.any():
        i = int(np.flatnonzero(overlap)[0])
        raise ImportFormatError(
            str(path),
            f"meter {names[codes[i]]}: readings at lines {lines[i]} and {lines[i + 1]} overlap",
            f"line {lines[i + 1]}",
        )


def interval_by_meter(
    path: Path | str, meters: tuple[np.ndarray, np.ndarray], start_ts: np.ndarray, stated: int | None
) -> np.ndarray:
    """Each row's interval [s]: a stated one, else its meter's most common step between distinct starts."""
    if stated:
        return np.full(len(start_ts), stated, dtype=np.int64)
    codes, names = meters
    order = np.lexsort((start_ts, codes))
    c, t = codes[order], start_ts[order]
    same = (c[1:] == c[:-1]) & (t[1:] != t[:-1])
    steps = pd.DataFrame({"code": c[1:][same], "step": np.diff(t)[same]})
    counts = steps.groupby(["code", "step"]).size()
    found = {int(k[0]): int(k[1]) for k in counts.groupby(level="code").idxmax()} if len(counts) else {}
    fallback = int(steps["step"].mode().min()) if len(steps) else HALF_HOUR_SECONDS
    per_code = np.array([found.get(i, fallback) for i in range(len(names))], dtype=np.int64)
    for i, seconds in enumerate(per_code):
        if not 60 <= seconds <= 86400:
            raise ImportFormatError(
                str(path), f"cannot tell the interval of meter {names[i]}: its most common step is {seconds} s"
            )
    return per_code[codes]
