"""Server-side guards for every request: anonymous refusal, CSRF, and browser security headers.

Only ``/login``, ``/healthz``, the account-link pages (``/account/set-password``, ``/account/forgot-password``,
``/account/renew-invitation``) and the static ``/assets/`` files (CSS, JS, icons the login page needs) are
public. Everything else, Dash's own endpoints included, needs a signed-in user: page requests from a
browser are redirected to ``/login?next=...``; anything else gets a 401 JSON body.

CSRF: Flask-WTF's ``CSRFProtect`` checks every POST/PUT/PATCH/DELETE. HTML forms carry the token in
a hidden ``csrf_token`` field; Dash callbacks send it as the ``X-CSRFToken`` header, read from the
``_csrf_token`` cookie that this module sets on signed-in page loads (the Dash renderer reads that
cookie itself, and ``assets/csrf.js`` adds the header to any other same-origin ``fetch``).
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from flask import Flask, Request, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect, generate_csrf
from werkzeug.wrappers import Response

from .static_cache import ASSETS_PREFIX, cache_static

log = logging.getLogger(__name__)

CSRF_COOKIE = "_csrf_token"  # the name the Dash renderer reads by default
CSRF_HEADER = "X-CSRFToken"  # the header Flask-WTF checks by default
PUBLIC_ENDPOINTS = frozenset(
    {
        "auth.login",
        "healthz",
        "oauth_api.issue_token",
        "oauth_api.revoke_token",
        # One-time links and reset requests come from people who cannot sign in (yet).
        "accounts.set_password",
        "accounts.forgot_password",
        "accounts.renew_invitation",
        "enrolment.opt_out_link",  # a signed one-click opt-out from the notice email
    }
)
API_PREFIX = "/espi/"  # Green Button resources: bearer tokens, checked by portfolio.api, never session cookies
NO_STORE_TYPES = frozenset({"text/html", "application/json"})


def safe_next(value: str | None, default: str = "/") -> str:
    """Return ``value`` only if it is a path on this site, so ``?next=`` cannot redirect elsewhere."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    if any(ord(character) < 32 or ord(character) == 127 for character in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def is_public(req: Request) -> bool:
    return req.endpoint in PUBLIC_ENDPOINTS or req.path.startswith((ASSETS_PREFIX, API_PREFIX))


def wants_form_page(req: Request) -> bool:
    """A browser posting an HTML form (not a script or a Dash callback)."""
    return req.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def wants_html(req: Request) -> bool:
    """A browser navigating to a page, as opposed to Dash's and scripts' JSON requests."""
    if req.method not in ("GET", "HEAD") or req.path.startswith("/_"):
        return False
    return req.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"


def refuse_anonymous() -> ResponseReturnValue | None:
    """Stop anonymous requests before any view, Dash's included, can run."""
    if is_public(request) or current_user.is_authenticated:  # public files: no session read
        return None
    if wants_html(request):
        target = request.full_path if request.query_string else request.path
        return redirect(url_for("auth.login", next=safe_next(target)))
    return jsonify(error="authentication required", login="/login"), 401


def refuse_bad_csrf(error: CSRFError) -> ResponseReturnValue:
    """Explain a missing or stale token: on the login page as a form error, elsewhere as JSON."""
    log.warning("CSRF refused on %s from %s: %s", request.path, request.remote_addr, error.description)
    if request.endpoint == "auth.login":
        message = "Your sign-in form expired. Please try again."
        return render_template("login.html", error=message, email="", next=safe_next(request.args.get("next"))), 400
    if request.endpoint and request.endpoint.startswith(("accounts.", "users.")) and wants_form_page(request):
        message = "This form expired. Please go back, reload the page and try again."
        return render_template("account_message.html", title="Form expired", message=message, link=None), 400
    return jsonify(error="CSRF token missing or invalid", reason=error.description), 400


def script_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def content_security_policy(inline_scripts: Iterable[str]) -> str:
    """Allow only our own origin, plus the inline scripts Dash itself writes into its index page.

    Styles need 'unsafe-inline': the DataTable and plotly inject <style> elements at run time.
    """
    hashes = " ".join(sorted({script_hash(source) for source in inline_scripts}))
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {hashes}".strip(),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def set_csrf_cookie(response: Response, secure: bool) -> Response:
    """Give signed-in pages a token script can read (not HttpOnly) but other sites never receive (Strict)."""
    if response.mimetype == "text/html" and current_user.is_authenticated:
        response.set_cookie(CSRF_COOKIE, generate_csrf(), secure=secure, httponly=False, samesite="Strict", path="/")
    return response


def add_security_headers(response: Response, inline_scripts: Iterable[str], https: bool = False) -> Response:
    """The browser-side defences of OWASP ASVS 5.0 L2 (V3): sniffing, framing, referrers, CSP, caching, HSTS."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
    if https:  # only behind TLS (secure cookies): a plain-HTTP development server must stay reachable
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy", content_security_policy(inline_scripts))
    if response.mimetype in NO_STORE_TYPES:
        response.headers["Cache-Control"] = "no-store"
    return response


def install_guards(server: Flask) -> CSRFProtect:
    """Register the request guards; call before Dash is attached so they run ahead of Dash's own hooks."""
    server.before_request(refuse_anonymous)
    csrf = CSRFProtect(server)
    server.register_error_handler(CSRFError, refuse_bad_csrf)
    return csrf


def install_headers(server: Flask, inline_scripts: Callable[[], Iterable[str]], cookie_secure: bool) -> None:
    """Add the CSRF cookie and the security headers to every response."""

    @server.after_request
    def _secure_response(response: Response) -> Response:
        set_csrf_cookie(response, cookie_secure)
        return cache_static(request, add_security_headers(response, inline_scripts(), https=cookie_secure))
