"""UK meter identifiers: MPAN cores (electricity) and MPRNs (gas)."""

from __future__ import annotations

import re
from dataclasses import dataclass

MPAN_CHECK_PRIMES = (3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43)
"""Weights of the standard MPAN check-digit algorithm, one per digit of the first 12 digits of the core."""

_SEPARATORS = re.compile(r"[\s\-/]")


@dataclass(frozen=True)
class Mpan:
    """An MPAN split into its parts; only the core identifies the supply point."""

    core: str  # 13 digits: distributor id (2), unique id (10), check digit (1)
    profile_class: str | None = None  # "00".."08" from the top line of a full MPAN
    meter_timeswitch_code: str | None = None
    line_loss_factor_class: str | None = None


def mpan_check_digit(first_12_digits: str) -> int:
    """Compute the check digit so made-up and typed MPANs can be told from valid ones."""
    if len(first_12_digits) != 12 or not first_12_digits.isdigit():
        raise ValueError(f"need 12 digits to compute an MPAN check digit, got {first_12_digits!r}")
    total = sum(int(digit) * prime for digit, prime in zip(first_12_digits, MPAN_CHECK_PRIMES, strict=True))
    return total % 11 % 10


def is_valid_mpan_core(value: str) -> bool:
    """Accept a 13-digit core only when its check digit matches, so typos do not create new meters."""
    core = _SEPARATORS.sub("", str(value))
    return len(core) == 13 and core.isdigit() and mpan_check_digit(core[:12]) == int(core[12])


def parse_mpan(value: str) -> Mpan:
    """Read a 13-digit core or a 21-digit full MPAN (PC, MTC, LLFC, core); raise ValueError if invalid."""
    digits = _SEPARATORS.sub("", str(value).strip())
    if len(digits) == 21 and digits.isdigit():
        core = digits[8:]
        if not is_valid_mpan_core(core):
            raise ValueError(f"MPAN {value!r}: core {core} has a wrong check digit")
        return Mpan(
            core=core, profile_class=digits[:2], meter_timeswitch_code=digits[2:5], line_loss_factor_class=digits[5:8]
        )
    if len(digits) == 13 and digits.isdigit():
        if not is_valid_mpan_core(digits):
            raise ValueError(f"MPAN core {value!r} has a wrong check digit")
        return Mpan(core=digits)
    raise ValueError(f"{value!r} is not an MPAN: expected a 13-digit core or a 21-digit full MPAN")


def make_mpan_core(distributor_id: int, unique: int) -> str:
    """Build a valid core from a distributor id (10-99) and a 10-digit unique number, for demo and test data."""
    if not 10 <= distributor_id <= 99:
        raise ValueError(f"distributor id must have two digits, got {distributor_id}")
    if not 0 <= unique < 10**10:
        raise ValueError(f"unique part must fit in 10 digits, got {unique}")
    first_12 = f"{distributor_id:02d}{unique:010d}"
    return f"{first_12}{mpan_check_digit(first_12)}"


def is_plausible_mprn(value: str) -> bool:
    """Accept 6 to 10 digits: MPRNs carry no check digit, so the length is all there is to check."""
    text = str(value).strip()
    return 6 <= len(text) <= 10 and text.isdigit()
