"""Alembic environment: runs on the connection handed over by :func:`portfolio.schema.upgrade`."""

from __future__ import annotations

from alembic import context

from portfolio.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # invoked from the alembic CLI: build an engine from the URL
    from portfolio.db import make_engine

    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("alembic needs sqlalchemy.url (set by portfolio.db migrations) to reach the database")
    engine = make_engine(url)
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
