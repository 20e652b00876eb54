"""Figure JSON as plotly.js reads it, for comparing what two ways of building a figure send."""

from __future__ import annotations

import re

NANOSECOND_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.0{9}")


def to_the_second(value: object) -> object:
    """``value`` (parsed figure JSON) with plotly's nanosecond times written to the second: plotly writes a
    ``go.Figure``'s datetime64 arrays with nine zero decimals, the plain data a callback sends without; plotly.js
    reads both as the same instant."""
    if isinstance(value, dict):
        return {key: to_the_second(item) for key, item in value.items()}
    if isinstance(value, list):
        return [to_the_second(item) for item in value]
    if isinstance(value, str) and NANOSECOND_TIME.fullmatch(value):
        return value[:-10]
    return value
