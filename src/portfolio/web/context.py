"""Per-request context: one database session and one access-policy viewer per request, closed at teardown."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, g, has_request_context
from flask_login import current_user
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from portfolio.access import AccessDenied, Viewer, viewer_for
from portfolio.config import Settings
from portfolio.models import User
from portfolio.queries.auth import load_active_user

EXTENSION = "portfolio"


@dataclass(frozen=True)
class AppState:
    """What every request needs from the app; shared read-only by all users, so safe across threads."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    dummy_password_hash: str  # verified against when the email is unknown, so timing does not reveal accounts


def app_state(app: Flask | None = None) -> AppState:
    return (app or current_app).extensions[EXTENSION]


def request_session() -> Session:
    """Open the request's database session on first use; :func:`close_request_session` ends it."""
    if "db_session" not in g:
        g.db_session = app_state().session_factory()
    return g.db_session


def close_request_session(_error: BaseException | None = None) -> None:
    """Roll back anything uncommitted and release the connection, whatever happened in the request."""
    session: Session | None = g.pop("db_session", None)
    if session is not None:
        session.close()


def signed_in_user() -> Any | None:
    """The signed-in user, or None when anonymous or outside a request (Dash calls layouts to validate them)."""
    if not has_request_context() or not current_user.is_authenticated:
        return None
    return current_user


SIGNED_IN_ROW = "signed_in_row"


def remember_signed_in_row(user: User) -> None:
    """Keep the signed-in user's row as the sign-in check read it, for :func:`current_viewer` (no second read)."""
    setattr(g, SIGNED_IN_ROW, user)


def current_viewer() -> Viewer:
    """Resolve the signed-in user's access once per request, from the database, never from the cookie."""
    if "viewer" not in g:
        if not current_user.is_authenticated:
            raise AccessDenied("sign in first")
        user = g.get(SIGNED_IN_ROW) or load_active_user(request_session(), int(current_user.get_id()))
        if user is None:
            raise AccessDenied("this account is no longer active")
        viewer_for_request(user)
    return g.viewer


def viewer_for_request(user: User) -> Viewer:
    """The access of ``user`` for this request, resolved once (the session check and the page share it)."""
    viewer = g.get("viewer")
    if viewer is None or viewer.user_id != user.id:
        viewer = g.viewer = viewer_for(request_session(), user)
    return viewer
