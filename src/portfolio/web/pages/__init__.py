"""Dash Pages: one module per page, each with ``dash.register_page`` and a ``layout(**kwargs)`` function.

Optional registry keys the shell understands: ``nav=False`` keeps a page out of the navigation;
``roles=("admin", ...)`` shows its link only to those roles (the page must still check access itself).
"""
