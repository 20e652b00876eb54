"""Component ids, named once so layouts, callbacks and tests cannot drift apart."""

from __future__ import annotations

# Dash Pages' own components (created by ``dash.page_container``).
PAGE_LOCATION = "_pages_location"
PAGE_CONTENT = "_pages_content"

# Shell.
NAV_LINK = "shell-nav-link"  # pattern-matching type: {"type": NAV_LINK, "path": "/..."}
SHELL_STORE = "shell-store"
USER_MENU = "shell-user-menu"
LOGOUT_FORM = "shell-logout-form"
LOGOUT_BUTTON = "shell-logout-button"

# Home page.
SITES_TABLE = "home-sites-table"
SITES_SUMMARY = "home-sites-summary"

# Portfolio state shared by the portfolio pages (in the shell): see ``web/url_state.py``.
PORTFOLIO_STATE = "shell-portfolio-state"

# Portfolio page.
PORTFOLIO_GROUP = "portfolio-group"
PORTFOLIO_DATES = "portfolio-dates"
PORTFOLIO_FUEL = "portfolio-fuel"
PORTFOLIO_FUEL_TOGGLE = "portfolio-fuel-toggle"
PORTFOLIO_RANGE_NOTE = "portfolio-range-note"
PORTFOLIO_MESSAGE = "portfolio-message"
PORTFOLIO_BODY = "portfolio-body"
PORTFOLIO_TOTALS = "portfolio-totals"
PORTFOLIO_TOTAL = "portfolio-total"  # pattern-matching type: {"type": PORTFOLIO_TOTAL, "fuel": "power"}
PORTFOLIO_MISSING_SUMMARY = "portfolio-missing-summary"
PORTFOLIO_MISSING_BUTTON = "portfolio-missing-button"
PORTFOLIO_MISSING_PANEL = "portfolio-missing-panel"
PORTFOLIO_MISSING_TABLE = "portfolio-missing-table"
PORTFOLIO_TABLE = "portfolio-table"
PORTFOLIO_URL_CHECK = "portfolio-url-check"
PORTFOLIO_QUERY = "portfolio-query"
PORTFOLIO_URL_SINK = "portfolio-url-sink"

# Groups page.
GROUPS_PICKER = "groups-picker"
GROUPS_NEW_NAME = "groups-new-name"
GROUPS_CREATE = "groups-create"
GROUPS_CREATE_FORM = "groups-create-form"
GROUPS_FEEDBACK = "groups-feedback"
GROUPS_REVISION = "groups-revision"
GROUPS_DETAIL = "groups-detail"
GROUPS_DETAIL_TITLE = "groups-detail-title"
GROUPS_READ_ONLY_NOTE = "groups-read-only-note"
GROUPS_EDIT_CONTROLS = "groups-edit-controls"
GROUPS_RENAME_NAME = "groups-rename-name"
GROUPS_RENAME = "groups-rename"
GROUPS_DELETE = "groups-delete"
GROUPS_DELETE_BUTTON = "groups-delete-button"
GROUPS_MEMBERS_TABLE = "groups-members-table"
GROUPS_REMOVE = "groups-remove"
GROUPS_ADD_PANEL = "groups-add-panel"
GROUPS_SITES_TABLE = "groups-sites-table"
GROUPS_ADD = "groups-add"
GROUPS_PASTE = "groups-paste"
GROUPS_PASTE_ADD = "groups-paste-add"
