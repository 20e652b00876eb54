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
