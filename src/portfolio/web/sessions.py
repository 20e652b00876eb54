"""Server-side sessions: the cookie names a row in ``user_sessions``; without a live row it signs in no one.

Flask's signed cookie alone cannot be revoked, and Flask-Login's ``session_protection="strong"`` only marks a
*permanent* session non-fresh when the browser changes, so a copied cookie used to work from anywhere until it
expired. Here every request checks the row (all gunicorn workers share it through the database):

* logout deletes the row; password change, deactivation and "sign out everywhere" delete all the user's rows;
* the idle timeout ends a session unused for ``session_idle_seconds`` (background polls do not count as use),
  the absolute timeout one signed in more than ``session_absolute_seconds`` ago;
* the session is bound to the browser that signed in (a digest of its User-Agent): the same cookie from another
  browser ends the session for both, so a thief's use is noticed rather than shared;
* a change in the user's access rights (role, organisation, linked organisations) rotates the session id.
"""

from __future__ import annotations

import logging
import secrets
import time

from flask import Request, request, session

from portfolio.models import User, UserSession
from portfolio.queries.sessions import (
    delete_session,
    delete_user_sessions,
    hash_token,
    insert_session,
    load_user_and_session,
    touch_session,
)

from .context import app_state, remember_signed_in_row, request_session, viewer_for_request

log = logging.getLogger(__name__)

SESSION_KEY = "sid"
TOUCH_EVERY_SECONDS = 60  # write last_seen at most this often: one UPDATE a minute per browser, not per callback
DASH_CALLBACK_PATH = "/_dash-update-component"


def client_fingerprint(req: Request) -> str:
    """What binds a session to one browser: its User-Agent (the address changes too often on phones and VPNs)."""
    return hash_token("user-agent:" + (req.headers.get("User-Agent") or ""))


def privilege_fingerprint(user: User) -> str:
    """A digest of what the user may see (role, organisation, active grants); when it changes the id is rotated.

    The grants come from the same per-request :func:`viewer_for` resolution every page uses, so the check costs
    no extra query when the request goes on to read data.
    """
    viewer = viewer_for_request(user)
    grants = ",".join(str(g) for g in sorted(viewer.grant_ids))
    role = getattr(user.role, "value", str(user.role))
    return hash_token(f"role={role};org={user.organisation_id};grants={grants};active={bool(user.is_active)}")


def _now() -> int:
    return int(time.time())


def _new_row(user: User, *, created_ts: int, now_ts: int) -> str:
    """Insert a fresh session row in its own transaction and return the raw id for the cookie."""
    raw = secrets.token_urlsafe(32)
    with app_state().session_factory.begin() as db:
        insert_session(
            db,
            id_hash=hash_token(raw),
            user_id=user.id,
            created_ts=created_ts,
            now_ts=now_ts,
            client_hash=client_fingerprint(request),
            privilege_hash=privilege_fingerprint(user),
            ip=request.remote_addr,
        )
    return raw


def start_session(user: User) -> None:
    """Issue a new session id at sign-in (the Flask session has just been cleared, so nothing is carried over)."""
    now = _now()
    session[SESSION_KEY] = _new_row(user, created_ts=now, now_ts=now)


def _is_background_poll(req: Request) -> bool:
    """A Dash callback fired only by a ``dcc.Interval`` tick: the page is open, not necessarily used."""
    if req.path != DASH_CALLBACK_PATH:
        return False
    body = req.get_json(silent=True)
    changed = body.get("changedPropIds") if isinstance(body, dict) else None
    return (
        isinstance(changed, list)
        and bool(changed)
        and all(isinstance(p, str) and p.endswith(".n_intervals") for p in changed)
    )


def _end(id_hash: str) -> None:
    with app_state().session_factory.begin() as db:
        delete_session(db, id_hash)
    session.clear()


def load_signed_in(user_id: int) -> User | None:
    """The user the cookie names, if their cookie's session row is live (see :func:`session_is_live`): both read in
    one round trip. None for anyone else."""
    raw = session.get(SESSION_KEY)
    if not isinstance(raw, str) or not raw:
        session.clear()
        return None
    id_hash = hash_token(raw)
    user, row = load_user_and_session(request_session(), user_id, id_hash)
    if user is None or not user.is_active or not session_is_live(user, id_hash, row):
        return None
    remember_signed_in_row(user)
    return user


def session_is_live(user: User, id_hash: str, row: UserSession | None) -> bool:
    """Check the cookie's session row (``row``, read with ``user``; None: there is none of this user's); end it (and
    return False) when it is missing, expired or misused."""
    settings = app_state().settings
    now = _now()
    if row is None or row.user_id != user.id:
        session.clear()
        return False
    ended = (
        "idle timeout"
        if now - row.last_seen_ts > settings.session_idle_seconds
        else "absolute timeout"
        if now - row.created_ts > settings.session_absolute_seconds
        else "used from another browser"
        if row.client_hash != client_fingerprint(request)
        else None
    )
    if ended is not None:
        level = logging.WARNING if ended.startswith("used") else logging.INFO
        log.log(level, "session of user %s ended: %s (address %s)", user.id, ended, request.remote_addr)
        _end(id_hash)
        return False
    if row.privilege_hash != privilege_fingerprint(user):
        log.info("session of user %s rotated: access rights changed", user.id)
        session[SESSION_KEY] = _new_row(user, created_ts=row.created_ts, now_ts=now)
        with app_state().session_factory.begin() as db:
            delete_session(db, id_hash)
        return True
    if now - row.last_seen_ts >= TOUCH_EVERY_SECONDS and not _is_background_poll(request):
        with app_state().session_factory.begin() as db:
            touch_session(db, id_hash, now)
    return True


def end_current_session() -> None:
    """Logout: delete this browser's row, so a copy of the cookie is worthless too."""
    raw = session.get(SESSION_KEY)
    if isinstance(raw, str) and raw:
        with app_state().session_factory.begin() as db:
            delete_session(db, hash_token(raw))
    session.clear()


def end_all_sessions(user_id: int) -> int:
    """Sign the user out everywhere (every browser, every worker); returns how many sessions ended."""
    with app_state().session_factory.begin() as db:
        ended = delete_user_sessions(db, [user_id])
    session.clear()
    log.info("user %s signed out everywhere: %s sessions ended", user_id, ended)
    return ended
