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
LOGOUT_EVERYWHERE_BUTTON = "shell-logout-everywhere-button"
ACCOUNT_LINK = "shell-account-link"  # to /account (server-rendered, web/views/accounts.py)


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
ACCOUNT_MENU = "shell-account-menu"
ADMIN_MENU = "shell-admin-menu"
PORTFOLIO_TOTALS = "portfolio-totals"
PORTFOLIO_CLIENT_TOTALS = "portfolio-client-totals"
PORTFOLIO_TOTAL = "portfolio-total"  # pattern-matching type: {"type": PORTFOLIO_TOTAL, "fuel": "power"}
PORTFOLIO_MISSING_SUMMARY = "portfolio-missing-summary"
PORTFOLIO_MISSING_BUTTON = "portfolio-missing-button"
PORTFOLIO_MISSING_PANEL = "portfolio-missing-panel"
PORTFOLIO_MISSING_TABLE = "portfolio-missing-table"
PORTFOLIO_TABLE = "portfolio-table"
PORTFOLIO_URL_CHECK = "portfolio-url-check"
PORTFOLIO_QUERY = "portfolio-query"
PORTFOLIO_GRAPHS_LINK = "portfolio-graphs-link"
PORTFOLIO_EXPORT_LINK = "portfolio-export-link"
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

# Graphs page.
GRAPH_GROUP = "graph-group"
GRAPH_DATES = "graph-dates"
GRAPH_FUEL = "graph-fuel"
GRAPH_FUEL_TOGGLE = "graph-fuel-toggle"
GRAPH_SITE = "graph-site"
GRAPH_SITE_CHOICE = "graph-site-choice"  # the selection callback's site, set in the browser with the fuel
GRAPH_GRANULARITY = "graph-granularity"
GRAPH_STACK = "graph-stack"
GRAPH_RANGE_BUTTON = "graph-range-button"  # pattern-matching type: {"type": GRAPH_RANGE_BUTTON, "days": 7}
GRAPH_MESSAGE = "graph-message"
GRAPH_NOTE = "graph-note"
GRAPH_FIGURE = "graph-figure"
GRAPH_HEATMAP = "graph-heatmap"
GRAPH_EXPECTED = "graph-expected"  # expected-consumption summary and model quality
GRAPH_MODEL_TABLE = "graph-model-table"
GRAPH_URL_CHECK = "graph-url-check"
GRAPH_QUERY = "graph-query"
GRAPH_ZOOM = "graph-zoom"  # relayoutData of user zooms only (Plotly's autosize filtered in the browser)
GRAPH_URL_SINK = "graph-url-sink"
GRAPH_CSV_BUTTON = "graph-csv-button"
GRAPH_CSV = "graph-csv"
GRAPH_SUMMARY = "graph-summary"  # the chart in words, visually hidden, for screen readers
GRAPH_HEATMAP_SUMMARY = "graph-heatmap-summary"
OVERVIEW_CARDS = "overview-cards"
OVERVIEW_SUMMARY = "overview-summary"

# Export page (web/views/exports.py).
EXPORT_SCOPE = "export-scope"
EXPORT_GROUP = "export-group"
EXPORT_GROUP_CONTROL = "export-group-control"
EXPORT_SITE = "export-site"
EXPORT_SITE_CONTROL = "export-site-control"
EXPORT_DATES = "export-dates"
EXPORT_FUEL = "export-fuel"
EXPORT_FUEL_CONTROL = "export-fuel-control"
EXPORT_SHAPE = "export-shape"
EXPORT_FORMAT = "export-format"
EXPORT_MESSAGE = "export-message"
EXPORT_SUMMARY = "export-summary"
EXPORT_DOWNLOAD = "export-download"

# Notification bell (in the shell; web/views/notifications.py).
BELL = "bell"
BELL_BUTTON = "bell-button"
BELL_COUNT = "bell-count"
BELL_PANEL = "bell-panel"
BELL_LIST = "bell-list"
BELL_MARK_ALL = "bell-mark-all"
BELL_MARK = "bell-mark"  # pattern-matching type: {"type": BELL_MARK, "id": 12}
BELL_REVISION = "bell-revision"
BELL_INTERVAL = "bell-interval"

# Trackers page (web/views/trackers.py).
TRACKER_NAME = "tracker-name"
TRACKER_SCOPE = "tracker-scope"
TRACKER_GROUP = "tracker-group"
TRACKER_GROUP_CONTROL = "tracker-group-control"
TRACKER_SITE = "tracker-site"
TRACKER_SITE_CONTROL = "tracker-site-control"
TRACKER_FUEL = "tracker-fuel"
TRACKER_PERIOD = "tracker-period"
TRACKER_TARGET_KIND = "tracker-target-kind"
TRACKER_TARGET_VALUE = "tracker-target-value"
TRACKER_TARGET_UNIT = "tracker-target-unit"
TRACKER_CREATE = "tracker-create"
TRACKER_FEEDBACK = "tracker-feedback"
TRACKER_REVISION = "tracker-revision"
TRACKER_LIST = "tracker-list"
TRACKER_DELETE = "tracker-delete"  # pattern-matching type: {"type": TRACKER_DELETE, "id": 3}
TRACKER_CHANNELS = "tracker-channels"
TRACKER_CHANNELS_SAVE = "tracker-channels-save"
TRACKER_CHANNELS_FEEDBACK = "tracker-channels-feedback"
TRACKER_DELIVERIES = "tracker-deliveries"

# Data sharing page (consent) and shared views.
CONSENT_MESSAGE = "consent-message"
CONSENT_SECTIONS = "consent-sections"
CONSENT_GRANTS = "consent-grants"
CONSENT_VIEWS = "consent-views"
CONSENT_HISTORY = "consent-history"
CONSENT_MY_VIEWS = "consent-my-views"
CONSENT_SHARED_WITH_ME = "consent-shared-with-me"
CONSENT_REVOKE_GRANT = "consent-revoke-grant"  # pattern-matching type: {"type": CONSENT_REVOKE_GRANT, "id": 1}
CONSENT_REVOKE_VIEW = "consent-revoke-view"  # pattern-matching type: {"type": CONSENT_REVOKE_VIEW, "id": 1}
SHARE_FORM = "share-form"
SHARE_NAME = "share-name"
SHARE_GROUP = "share-group"
SHARE_FROM = "share-from"
SHARE_TO = "share-to"
SHARE_FUEL = "share-fuel"
SHARE_GRANULARITY = "share-granularity"
SHARE_EMAILS = "share-emails"
SHARE_UNTIL = "share-until"
SHARE_SUBMIT = "share-submit"
AUDIT_ACTION = "audit-action"
AUDIT_FROM = "audit-from"
AUDIT_TO = "audit-to"
AUDIT_USER = "audit-user"
AUDIT_TABLE = "audit-table"
AUDIT_MESSAGE = "audit-message"
AUDIT_DOWNLOAD_BUTTON = "audit-download-button"
AUDIT_DOWNLOAD = "audit-download"
SHARED_VIEW_TITLE = "shared-view-title"
SHARED_VIEW_META = "shared-view-meta"
SHARED_VIEW_TABLE = "shared-view-table"
SHARED_VIEW_REFUSED = "shared-view-refused"
SHELL_CLIENT = "shell-client"
TRACKER_LEDGER = "tracker-ledger"  # pattern-matching type: {"type": TRACKER_LEDGER, "id": 3}

# Admin sites page (moves, the unknown-meter queue) and admin aggregate releases.
ADMIN_SITE = "admin-sites-site"
ADMIN_SITE_ORG = "admin-sites-organisation"
ADMIN_SITE_CONFIRM = "admin-sites-confirm"
ADMIN_SITE_MOVE = "admin-sites-move"
ADMIN_SITE_RESULT = "admin-sites-result"
ADMIN_SITES_TABLE = "admin-sites-table"
ADMIN_QUEUE_TABLE = "admin-sites-queue"
AGGREGATES_BY = "aggregates-by"
AGGREGATES_PERIOD = "aggregates-period"
AGGREGATES_FROM = "aggregates-from"
AGGREGATES_TO = "aggregates-to"
AGGREGATES_RUN = "aggregates-run"
AGGREGATES_RESULT = "aggregates-result"
AGGREGATES_FILE = "aggregates-file"
AGGREGATES_TABLE = "aggregates-table"
