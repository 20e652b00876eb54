"""The Dash web app: a Flask server with login, CSRF and security headers, a shell, and one module per page.

Nothing here runs at import: :func:`portfolio.web.app.create_app` builds everything.
"""
