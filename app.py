"""WSGI entry point: ``gunicorn app:server``. Building the app here, at import, is the point of this file."""

from portfolio.web.app import create_app, settle_for_serving

server = create_app().server
settle_for_serving()
