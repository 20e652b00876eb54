"""Computed results kept for the next request (``computed_results``): read, stored once, pruned by the daily run."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from portfolio.models.computed_results import ComputedResult

_STORE = text(
    "INSERT INTO computed_results (key, kind, version, created_at, payload)"
    " VALUES (:key, :kind, :version, :created_at, :payload) ON CONFLICT (key) DO NOTHING"
)


def result_key(kind: str, version: int, inputs: object) -> str:
    """A digest of everything a result was computed from: its kind, the data version and its inputs (JSON-able)."""
    canonical = json.dumps([kind, version, inputs], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def load_result(session: Session, key: str) -> str | None:
    """The stored payload for ``key``, or None."""
    return session.scalar(select(ComputedResult.payload).where(ComputedResult.key == key))


def store_result(session: Session, key: str, kind: str, version: int, payload: str, now: dt.datetime) -> None:
    """Keep a result; one already stored under the key (another worker got there first) is left as it is."""
    session.execute(_STORE, {"key": key, "kind": kind, "version": version, "created_at": now, "payload": payload})


def delete_results_before(session: Session, version: int) -> int:
    """Forget the results computed from data older than ``version`` (no request reads them again)."""
    result = session.execute(delete(ComputedResult).where(ComputedResult.version < version))
    return int(getattr(result, "rowcount", 0) or 0)


def delete_kind_before(session: Session, kind: str, created_before: dt.datetime) -> int:
    """Forget the results of ``kind`` kept before ``created_before``."""
    result = session.execute(
        delete(ComputedResult).where(ComputedResult.kind == kind, ComputedResult.created_at < created_before)
    )
    return int(getattr(result, "rowcount", 0) or 0)
