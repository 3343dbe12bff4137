"""Encrypting a gallery's stored templates in place, or moving them to a new key.

Setting ``FACEVERIFY_ENCRYPTION_KEY`` encrypts the templates stored from then on; those stored
before stay as they were. :func:`encrypt_templates` rewrites them: plain templates are encrypted
with the key, templates encrypted with the old key are re-encrypted with it, templates the key
already reads are left alone (so a run can be repeated, or resumed after an interruption).
Rows are read and rewritten ``batch_size`` at a time, one transaction per batch, in face-id
order. Embeddings, face ids and the change counter are unchanged: replicas need no reload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Row, bindparam, func, select, update

from app.gallery.codec import TemplateCodec, TemplateDecodeError
from app.gallery.database import truncate_wal
from app.gallery.tables import faces

DEFAULT_BATCH = 500


@dataclass
class EncryptionReport:
    """What a run did, in templates."""

    encrypted: int = 0  # were stored plain
    rekeyed: int = 0  # were encrypted with the old key
    unchanged: int = 0  # the key already read them
    unreadable: list[str] = field(default_factory=list)  # face ids neither key reads


def encrypt_templates(
    engine: Engine,
    codec: TemplateCodec,
    old_codec: TemplateCodec | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> EncryptionReport:
    """Encrypt every template with ``codec``'s key; ``old_codec`` reads those to re-key.

    Raises:
        ValueError: ``codec`` has no key.
    """
    if not codec.encrypts:
        raise ValueError("a key is needed to encrypt the templates")
    report, after = EncryptionReport(), ""
    while True:
        with engine.begin() as connection:
            rows = connection.execute(
                select(faces.c.id, faces.c.embedding, faces.c.encrypted, faces.c.dimension)
                .where(faces.c.id > after)
                .order_by(faces.c.id)
                .limit(batch_size)
                .with_for_update()
            ).all()
            if not rows:
                break
            changed = [_rewritten(row, codec, old_codec, report) for row in rows]
            changed = [change for change in changed if change is not None]
            if changed:
                connection.execute(
                    update(faces)
                    .where(faces.c.id == bindparam("face_id"))
                    .values(embedding=bindparam("data"), encrypted=True),
                    changed,
                )
            after = rows[-1].id
    truncate_wal(engine)  # no plain copy left in SQLite's write-ahead log
    return report


def _rewritten(
    row: Row[Any], codec: TemplateCodec, old_codec: TemplateCodec | None, report: EncryptionReport
) -> dict[str, object] | None:
    """Return the row's bytes under ``codec``'s key, or None when it stays as it is."""
    if row.encrypted and _reads(codec, row):
        report.unchanged += 1
        return None
    reader = old_codec if row.encrypted else codec  # plain rows decode without a key
    if reader is None or not _reads(reader, row):
        report.unreadable.append(row.id)
        return None
    embedding = reader.decode(row.embedding, row.encrypted, row.dimension)
    if row.encrypted:
        report.rekeyed += 1
    else:
        report.encrypted += 1
    return {"face_id": row.id, "data": codec.encode(embedding)}


def _reads(codec: TemplateCodec, row: Row[Any]) -> bool:
    try:
        codec.decode(row.embedding, row.encrypted, row.dimension)
    except TemplateDecodeError:
        return False
    return True


def unencrypted_templates(engine: Engine) -> int:
    """How many templates are stored without encryption."""
    with engine.connect() as connection:
        return connection.execute(
            select(func.count()).select_from(faces).where(faces.c.encrypted.is_(False))
        ).scalar_one()
