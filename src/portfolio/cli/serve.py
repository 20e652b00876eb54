"""``portfolio serve``: the web app with gunicorn, or Flask's development server."""

from __future__ import annotations

import argparse

from portfolio.cli.common import EXIT_OK, Commands
from portfolio.config import Settings

KEEPALIVE_S = 75
"""How long an idle keep-alive connection stays open [s]. Gunicorn's default (2 s) suits a proxy in front; served
directly, a browser that reuses a connection just as the server drops it gets a reset (0.4 % of requests in the
load benchmark with people pausing ~10 s between clicks). 75 s is nginx's own default."""


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve with gunicorn (worker processes x threads), each worker building its own app after the fork.

    SQLite (the default) is shared safely by several workers: WAL and a busy timeout (``portfolio.db``).
    ``--dev`` uses Flask's single-process development server instead.
    """
    from portfolio.web.app import create_app, settle_for_serving

    if args.dev:
        create_app(settings).run(host=args.host, port=args.port, debug=False)
        return EXIT_OK
    from gunicorn.app.base import BaseApplication

    class _Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{args.host}:{args.port}")
            self.cfg.set("workers", args.workers)
            self.cfg.set("threads", args.threads)
            self.cfg.set("timeout", 120)
            self.cfg.set("keepalive", KEEPALIVE_S)
            self.cfg.set("accesslog", "-" if args.access_log else None)

        def load(self) -> object:
            server = create_app(settings).server
            settle_for_serving()
            return server

    _Server().run()
    return EXIT_OK


def register(commands: Commands) -> None:
    serve = commands.add_parser("serve", help="run the web app with gunicorn (workers x threads)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8050)
    serve.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    serve.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    serve.add_argument("--access-log", action="store_true", help="log every request to stdout")
    serve.add_argument("--dev", action="store_true", help="Flask's development server (one process)")
    serve.set_defaults(handler=cmd_serve)
