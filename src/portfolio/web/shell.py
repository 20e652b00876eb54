"""The frame around every page: top bar with navigation from ``dash.page_registry``, user menu, footer."""

from __future__ import annotations

from typing import Any

import dash
from dash import ALL, ClientsideFunction, Dash, Input, Output, State, dcc, html
from flask_wtf.csrf import generate_csrf

from portfolio.queries.sites import load_reached_organisations

from . import ids
from .components import aria
from .context import current_viewer, request_session, signed_in_user
from .views import (
    admin_sites,
    aggregates,
    audit,
    consent,
    exports,
    graphs,
    groups,
    notifications,
    opt_out,
    organisations,
    portfolio,
    sites,
    trackers,
    uploads,
)

PRODUCT_NAME = "Portfolio"
ATTRIBUTION = (
    "Demo data: Cambridge University Estates building energy usage archive (MIT); contains data from "
    "UK Power Networks' Low Carbon London project, London Datastore, and Met Office MIDAS Open public sector "
    "information, licensed under the Open Government Licence v3.0; eemeter temperature sample (Apache-2.0). "
    "Organisation, site and meter names are invented."
)
ROLE_LABELS = {"customer": "Customer", "broker": "Broker", "account_manager": "Account manager", "admin": "Admin"}


ADMIN_ROUTES = (("Users", "/admin/users"), ("Third parties", "/data-sharing/third-parties"))
"""Admin pages served by Flask routes (not Dash pages), listed in the Admin menu after the Dash ones."""


def nav_pages(role: str | None) -> list[dict[str, Any]]:
    """Pages to link for ``role``: registry order, minus pages marked ``nav=False`` or limited to other roles."""
    pages = [page for page in dash.page_registry.values() if page.get("nav", True)]
    return [page for page in pages if "roles" not in page or role in page["roles"]]


def _is_admin_page(page: dict[str, Any]) -> bool:
    return tuple(page.get("roles", ())) == ("admin",)


def _admin_menu() -> html.Details | None:
    """Admins' pages (pipeline, users, sites, aggregates, third parties) in one menu, so the bar stays one row."""
    user = signed_in_user()
    if user is None or user.role != "admin":
        return None
    links = [
        dcc.Link(page["name"], href=page["relative_path"]) for page in nav_pages(user.role) if _is_admin_page(page)
    ] + [html.A(name, href=href) for name, href in ADMIN_ROUTES]
    return html.Details(
        [html.Summary("Admin", id=ids.ADMIN_MENU), html.Div(links, className="shell-menu-panel")],
        className="shell-menu admin-menu",
    )


def _nav() -> html.Nav:
    user = signed_in_user()
    links = [
        dcc.Link(
            page["name"],
            href=page["relative_path"],
            className="nav-link",
            id={"type": ids.NAV_LINK, "path": page["relative_path"]},
        )
        for page in nav_pages(user.role if user else None)
        if not _is_admin_page(page)
    ]
    return html.Nav(links, className="top-nav", **aria(label="Main"))


def _user_menu() -> html.Div:
    """Who is signed in, and a logout form posting the CSRF token (logout is never a GET)."""
    user = signed_in_user()
    if user is None:
        # Dash checks callbacks against a layout built once, possibly for an anonymous request: keep the bell's ids.
        return html.Div(
            html.Div(notifications.make_bell(), className="hidden"), id=ids.USER_MENU, className="user-menu"
        )
    account = html.Details(
        [
            html.Summary(
                [
                    html.Span("Account", className="account-label"),
                    html.Span(ROLE_LABELS.get(user.role, user.role), className="role-badge"),
                ],
                id=ids.ACCOUNT_MENU,
                title=f"Signed in as {user.email}",
            ),
            html.Div(
                [
                    html.P(["Signed in as ", html.Strong(user.email, className="user-email")], className="menu-note"),
                    html.A("Your account", href="/account", id=ids.ACCOUNT_LINK, title="Profile, password, sessions"),
                    html.Form(
                        [
                            dcc.Input(type="hidden", name="csrf_token", value=generate_csrf()),
                            html.Button(
                                "Log out", type="submit", id=ids.LOGOUT_BUTTON, className="button button-quiet"
                            ),
                        ],
                        action="/logout",
                        method="POST",
                        id=ids.LOGOUT_FORM,
                        className="logout-form",
                    ),
                    html.Form(
                        [
                            dcc.Input(type="hidden", name="csrf_token", value=generate_csrf()),
                            html.Button(
                                "Sign out everywhere",
                                type="submit",
                                id=ids.LOGOUT_EVERYWHERE_BUTTON,
                                className="button button-quiet",
                                title="End your sessions on every browser and device",
                            ),
                        ],
                        action="/logout/everywhere",
                        method="POST",
                        className="logout-form",
                    ),
                ],
                className="shell-menu-panel",
            ),
        ],
        className="shell-menu account-menu",
    )
    return html.Div([notifications.make_bell(), account], id=ids.USER_MENU, className="user-menu")


def _client_switcher() -> html.Details:
    """Brokers (anyone who sees several organisations) pick all clients or one; hidden for everyone else."""
    if signed_in_user() is None:
        return sites.make_client_switcher([])
    return sites.make_client_switcher(load_reached_organisations(request_session(), current_viewer()))


def layout() -> html.Div:
    """Build the shell per request: the navigation and user menu depend on who is asking."""
    return html.Div(
        [
            html.Header(
                html.Div(
                    [
                        dcc.Link(PRODUCT_NAME, href="/", className="brand"),
                        _nav(),
                        *([menu] if (menu := _admin_menu()) is not None else []),
                        _client_switcher(),
                        _user_menu(),
                    ],
                    className="top-bar-inner",
                ),
                className="top-bar",
            ),
            html.Main(dash.page_container, className="content"),
            html.Footer(html.P(ATTRIBUTION), className="footer"),
            dcc.Store(id=ids.SHELL_STORE, storage_type="memory", data={}),
            # The portfolio pages' group, date range and fuel (url_state.to_store); re-validated on every use.
            dcc.Store(id=ids.PORTFOLIO_STATE, storage_type="memory", data={}),
        ],
        className="app-shell",
    )


def register_callbacks(app: Dash) -> None:
    """Bind the shell's callbacks to this app (not the global registry, so several apps can coexist in tests)."""
    # The link of the page on screen is marked in the browser (assets/shell-nav.js): a request per page load for
    # it would be a seventh callback queued beside the page's own, for nothing the server knows better.
    app.clientside_callback(
        ClientsideFunction(namespace="shell", function_name="markActiveLink"),
        Output({"type": ids.NAV_LINK, "path": ALL}, "className"),
        Input(ids.PAGE_LOCATION, "pathname"),
        State({"type": ids.NAV_LINK, "path": ALL}, "id"),
    )
    # Page callbacks live beside their helpers (Dash re-imports page modules per app): bind them here.
    portfolio.register_callbacks(app)
    groups.register_callbacks(app)
    exports.register_callbacks(app)
    graphs.register_callbacks(app)
    trackers.register_callbacks(app)
    notifications.register_callbacks(app)
    uploads.register_callbacks(app)
    consent.register_callbacks(app)
    audit.register_callbacks(app)
    admin_sites.register_callbacks(app)
    aggregates.register_callbacks(app)
    opt_out.register_callbacks(app)
    organisations.register_callbacks(app)
