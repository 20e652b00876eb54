"""Green Button Connect My Data: the OAuth 2.0 authorization server and the ESPI resource server."""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect


def install_api(server: Flask, csrf: CSRFProtect) -> None:
    """The app's one hook: OAuth endpoints and the ESPI resources on the Flask server."""
    from portfolio.api.authorize import install_oauth
    from portfolio.api.espi import blueprint as espi_blueprint
    from portfolio.web.views.third_parties import blueprint as pages_blueprint

    install_oauth(server, csrf)
    server.register_blueprint(espi_blueprint)
    server.register_blueprint(pages_blueprint)  # /data-sharing/third-parties
