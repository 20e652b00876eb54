"""Read the half-hour column labels of a wide day row, in all the spellings data collectors use.

Start-stamped ``00:00..23:30``, ``hr0000``, ``12:00 AM..11:30 PM``, ``consumptionHH_00_00_00``; end-stamped
``00:30..24:00`` (or ``..00:00``), ``0:30``, ``[00:30]``, ``H0030..H2400``, ``30,100,...,2400``; numbered settlement
periods ``HH1..HH50``, ``P1``, ``Kwh1``, ``kWh_1``, ``interval_1``, ``Consumption(KWh) HH1``. A flag column after every
value (``DQ Flag``, ``Type``, ``00:30 Flag``) or a second block of the same labels holds quality flags; day-total
columns are recognised and left out. Every labelling maps to a 0-based *elapsed* half-hour index from local midnight
(settlement period k is index k-1), so 46- and 50-period clock-change days need no special case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

FLAG_WORDS = re.compile(r"flag|\bdq\b|quality|status|\btype\b|\best\b|estimated|actual|\ba/?e\b|\bqual\b|\bcode\b")
TOTAL_WORDS = re.compile(r"total|\bsum\b|daily|\bday\b")
_AM_PM = re.compile(r"^(\d{1,2}):(\d{2})(?::00)?\s*([ap])\.?m\.?$")
_CLOCK = re.compile(r"^\[?(\d{1,2})[:.](\d{2})(?::00)?\]?$")
_UNDERSCORED = re.compile(r"(\d{2})_(\d{2})_(\d{2})$")
_HR = re.compile(r"^(?:hr|h)[\s_]?(\d{4})$")
_BARE = re.compile(r"^(\d{1,4})$")
_NUMBERED = re.compile(r"^(.*?)[\s_#\-]*(\d{1,2})$")
NUMBER_PREFIXES = frozenset(
    {"hh", "p", "period", "sp", "kwh", "interval", "consumptionkwhhh", "consumptionhh", "value", "v", "hhc", "read"}
)


@dataclass(frozen=True)
class WideColumns:
    """Where the half-hour values of a wide row are and what they mean."""

    values: tuple[int, ...]  # column positions, in period order
    elapsed_index: tuple[int, ...]  # 0-based elapsed half hour from local midnight of each value column
    flags: tuple[int | None, ...]  # column holding each value's quality flag, if any
    totals: tuple[int, ...]  # day-total columns (not read as readings)
    labelling: str  # "start", "end" or "period"
    first_label: str
    last_label: str


def _key(header: str) -> tuple[str, int, str]:
    """("time", minutes, ""), ("num", n, prefix), ("bare", n, "") or ("", 0, "") for any other header."""
    text = header.strip().lower()
    if m := _AM_PM.match(text):
        hour = int(m.group(1)) % 12 + (12 if m.group(3) == "p" else 0)
        return "time", hour * 60 + int(m.group(2)), ""
    if m := _CLOCK.match(text):
        return "time", int(m.group(1)) * 60 + int(m.group(2)), ""
    if m := _HR.match(text):
        return "time", int(m.group(1)[:2]) * 60 + int(m.group(1)[2:]), ""
    if m := _UNDERSCORED.search(text):
        return "time", int(m.group(1)) * 60 + int(m.group(2)), ""
    if m := _BARE.match(text):
        return "bare", int(m.group(1)), ""
    if m := _NUMBERED.match(text):
        prefix = re.sub(r"[^a-z]", "", m.group(1))
        if prefix in NUMBER_PREFIXES:
            return "num", int(m.group(2)), prefix
    return "", 0, ""


def _is_flag(header: str) -> bool:
    return bool(FLAG_WORDS.search(header.strip().lower()))


def find_wide_columns(header: tuple[str, ...] | list[str]) -> WideColumns | None:
    """Recognise 46 to 50 half-hour value columns in a header, or None if it is not a wide day row."""
    keys = [_key(h) if not _is_flag(h) else ("flag", 0, "") for h in header]
    groups: dict[tuple[str, str], list[int]] = {}
    for position, (kind, _, prefix) in enumerate(keys):
        if kind in ("time", "num", "bare"):
            groups.setdefault((kind, prefix), []).append(position)
    if not groups:
        return None
    kind, prefix = max(groups, key=lambda k: len(groups[k]))
    positions = groups[(kind, prefix)]
    numbers = [keys[p][1] for p in positions]
    if kind == "bare":
        if max(numbers) > 50:  # 30, 100, 130, ..., 2400: hhmm
            if any(n % 100 not in (0, 30) for n in numbers):
                return None
            kind, numbers = "time", [(n // 100) * 60 + n % 100 for n in numbers]
        else:
            kind = "num"
    # A second block of the same labels holds flags: keep the first occurrence of each label as the value.
    seen: dict[int, int] = {}
    second: dict[int, int] = {}
    for position, number in zip(positions, numbers, strict=True):
        (second if number in seen else seen)[number] = position
    positions = [seen[n] for n in dict.fromkeys(numbers)]
    numbers = list(dict.fromkeys(numbers))
    if not 46 <= len(positions) <= 50:
        return None
    if kind == "time":
        unwrapped = [numbers[0]]
        for minutes in numbers[1:]:
            while minutes <= unwrapped[-1]:
                minutes += 1440
            unwrapped.append(minutes)
        if unwrapped[0] not in (0, 30) or unwrapped != list(
            range(unwrapped[0], unwrapped[0] + 30 * len(unwrapped), 30)
        ):
            return None
        labelling = "start" if unwrapped[0] == 0 else "end"
        elapsed = [m // 30 - (1 if labelling == "end" else 0) for m in unwrapped]
    else:
        base = numbers[0]
        if base not in (0, 1) or numbers != list(range(base, base + len(numbers))):
            return None
        labelling = "period"
        elapsed = [n - base for n in numbers]
    value_set = set(positions)
    flags: list[int | None] = []
    for position, number in zip(positions, numbers, strict=True):
        if number in second:
            flags.append(second[number])
            continue
        after = position + 1
        flags.append(after if after < len(header) and after not in value_set and keys[after][0] == "flag" else None)
    totals = tuple(
        p
        for p, h in enumerate(header)
        if p not in value_set and p not in flags and TOTAL_WORDS.search(h.lower()) and not _is_flag(h)
    )
    return WideColumns(
        values=tuple(positions),
        elapsed_index=tuple(elapsed),
        flags=tuple(flags),
        totals=totals,
        labelling=labelling,
        first_label=header[positions[0]].strip(),
        last_label=header[positions[-1]].strip(),
    )
