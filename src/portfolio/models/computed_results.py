"""Results computed in a request or the daily run and kept for the next request, keyed by what they were computed from.

A graph's coverage of a 1,000-site portfolio (which sites reported in each bucket, and the model's estimate for what
is missing) costs a couple of hundred milliseconds to compute and changes only when the data does. Any worker may
store or read a result: its key includes :class:`DataVersion`'s number, which every transaction that changes readings,
their daily roll-up, stored predictions or stored estimates moves on when it commits, so a result computed from
older data is never read again (and is pruned by the daily run).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portfolio.models.base import Base

USAGE = "usage"
"""The version of everything a graph's coverage and the expected-consumption panel are computed from."""


class DataVersion(Base):
    """A counter per kind of data, moved on by every committed change to it (``queries/data_version.py``)."""

    __tablename__ = "data_versions"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class ComputedResult(Base):
    """One computed result: ``key`` is a digest of its inputs and the data version; ``payload`` its JSON."""

    __tablename__ = "computed_results"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(BigInteger, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[str] = mapped_column(Text)
