"""Alembic environment: migrations run on the connection the service (or a test) passes in.

From the command line: ``alembic -c app/gallery/alembic.ini upgrade head`` with
``FACEVERIFY_DATABASE_URL`` set, or :func:`app.gallery.database.migrate` in code.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from app.gallery.tables import metadata

config = context.config


def _run(connection) -> None:  # noqa: ANN001 - an SQLAlchemy Connection
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Replicas starting together: one migrates, the others wait, then find it done.
            context.execute("SELECT pg_advisory_xact_lock(7351183)")
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_engine(os.environ["FACEVERIFY_DATABASE_URL"])
    with engine.connect() as fresh:
        _run(fresh)
    engine.dispose()
