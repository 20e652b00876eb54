"""The usage data's version: moved on by every committed transaction that changed what graphs are computed from.

Writers of readings, their daily roll-up, temperatures, stored predictions and stored missing-interval estimates call
:func:`mark_usage_changed` (no SQL: many call it per site). When that session commits, one statement moves the
counter on, as the transaction's last write: its row lock is held only while committing, so two imports never wait
for each other on it in the middle of their work, nor deadlock over it. A rolled-back transaction moves nothing.
Results kept in ``computed_results`` carry the version in their key (``queries/computed_results.py``).
"""

from __future__ import annotations

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session, SessionTransaction

from portfolio.models.computed_results import USAGE, DataVersion

_CHANGED = "portfolio_usage_changed"
_BUMP = text(
    "INSERT INTO data_versions (name, version) VALUES (:name, 1)"
    " ON CONFLICT (name) DO UPDATE SET version = data_versions.version + 1"
)


def mark_usage_changed(session: Session) -> None:
    """Say that this transaction changes usage data: the version moves on when it commits (begun here if need be,
    so a rollback before any write forgets the mark with the transaction)."""
    if not session.in_transaction():
        session.begin()
    session.info[_CHANGED] = True


def load_usage_version(session: Session) -> int:
    """The version as this transaction sees it (0 before any change was ever committed)."""
    return int(session.scalar(select(DataVersion.version).where(DataVersion.name == USAGE)) or 0)


@event.listens_for(Session, "before_commit")
def _bump_on_commit(session: Session) -> None:
    if session.info.pop(_CHANGED, False):
        session.execute(_BUMP, {"name": USAGE})


@event.listens_for(Session, "after_transaction_end")
def _forget_on_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the whole transaction ended (a savepoint's end changes nothing)
        session.info.pop(_CHANGED, None)
