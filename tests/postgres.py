"""A fresh PostgreSQL database per test, on the server whose URL CI exports.

``PYTEST_POSTGRES_URL`` (set by ``.ci/run``) names a role allowed to create databases,
e.g. ``postgresql+psycopg://faceverify:faceverify@127.0.0.1:5432/postgres``. Without it the
PostgreSQL variants fail under CI (``CI=true``) and are skipped, visibly, elsewhere.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

URL_VARIABLE = "PYTEST_POSTGRES_URL"


def admin_url() -> str:
    """The server's URL, or fail (CI) / skip (elsewhere) when none is configured."""
    url = os.environ.get(URL_VARIABLE, "")
    if url:
        return url
    message = f"{URL_VARIABLE} is not set: no PostgreSQL server to test against"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (.ci/run starts one)")
    pytest.skip(message)


@contextmanager
def fresh_database() -> Iterator[str]:
    """Create an empty database, yield its URL, drop it afterwards."""
    url = make_url(admin_url())
    name = f"faceverify_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
