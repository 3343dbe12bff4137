"""Opening the gallery database: SQLite under the data directory, or PostgreSQL by URL.

SQLite runs in WAL mode (readers never block the writer) with ``synchronous=FULL`` (a committed
enrolment survives a power cut), foreign keys on, a busy timeout for concurrent writers, and
``secure_delete`` so erased rows are overwritten in the file rather than left in free pages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text

SQLITE_FILENAME = "faceverify.db"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
_SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "synchronous=FULL",
    "foreign_keys=ON",
    "busy_timeout=30000",
    "secure_delete=ON",
)


def database_url(database_url: str | None, data_dir: Path) -> str:
    """Return the URL to open: the configured one, else the SQLite file under ``data_dir``."""
    if database_url:
        return database_url
    return f"sqlite:///{(data_dir / SQLITE_FILENAME).resolve()}"


def open_engine(url: str) -> Engine:
    """Create the engine; for SQLite, create the data directory and set the pragmas.

    Args:
        url: ``sqlite:///path`` or ``postgresql+psycopg://user:password@host/db``.
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            pool_size=8,
            max_overflow=8,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_size=8, max_overflow=8, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in _SQLITE_PRAGMAS:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (idempotent)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def truncate_wal(engine: Engine) -> None:
    """SQLite only: copy the WAL into the database file and empty it (after an erasure)."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
