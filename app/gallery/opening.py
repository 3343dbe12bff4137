"""Opening the gallery at start-up, with one readable line naming the setting when it fails.

``python -m app`` opens the gallery before the server starts (as it loads the model), so a
wrong database password, an unreachable server, an unwritable data directory or an encryption
key that does not read the stored templates ends the process with one line on stderr, never a
traceback. The database URL is shown with its password hidden.
"""

from __future__ import annotations

from alembic.util import CommandError
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from app.gallery.codec import TemplateCodec, TemplateDecodeError
from app.gallery.database import database_url, migrate, open_engine
from app.gallery.store import GalleryStore
from app.gallery.tables import faces
from app.settings import Settings


class GalleryOpenError(RuntimeError):
    """The gallery cannot be opened or read; the message is one line naming the setting."""


def open_store(settings: Settings, check: bool = True) -> GalleryStore:
    """Open and migrate the database, and (``check``) that the key reads a stored template.

    Raises:
        GalleryOpenError: The database cannot be reached, opened or migrated, or the stored
            templates are encrypted and the key is missing or another one.
    """
    configured = settings.database_url.get_secret_value() if settings.database_url else None
    url = database_url(configured, settings.data_dir)
    setting = "FACEVERIFY_DATABASE_URL" if configured else "FACEVERIFY_DATA_DIR"
    key = settings.encryption_key.get_secret_value() if settings.encryption_key else None
    try:
        engine = open_engine(url)
        migrate(engine)
    except (SQLAlchemyError, CommandError, OSError) as exc:
        raise GalleryOpenError(
            f"cannot open the gallery database {_shown(url)}: {_reason(exc)}; check {setting}"
        ) from None
    store = GalleryStore(engine, TemplateCodec(key))
    try:
        if check:
            check_key(store)
    except TemplateDecodeError as exc:
        engine.dispose()
        raise GalleryOpenError(f"cannot read the gallery at {_shown(url)}: {exc}") from None
    return store


def check_key(store: GalleryStore) -> None:
    """Decode one encrypted template, if any (raises TemplateDecodeError with the wrong key)."""
    query = select(faces.c.embedding, faces.c.encrypted, faces.c.dimension)
    with store.engine.connect() as connection:
        row = connection.execute(query.where(faces.c.encrypted.is_(True)).limit(1)).first()
    if row is not None:
        store.codec.decode(row.embedding, row.encrypted, row.dimension)


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparsable URL)"


def _reason(exc: BaseException) -> str:
    """Return the driver's message on one line, without SQLAlchemy's SQL and background link."""
    reason = getattr(exc, "orig", None) or exc
    text = " ".join(str(reason).split()) or type(reason).__name__
    return text.split(" (Background on this error at:")[0][:500]
