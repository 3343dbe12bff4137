"""How the gallery's database rows map to its records and back (the ``faces`` and ``people`` rows).

Pure functions over SQLAlchemy rows: the column lists and queries the store reads templates
with, the row a new template is stored as, and the records (``FaceRecord``, ``Person``,
``Template``) read rows become. Embeddings pass through a :class:`TemplateCodec`.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import RowMapping, and_, select

from app.gallery.codec import TemplateCodec
from app.gallery.records import FaceRecord, ModelKey, NewFace, Person, Template
from app.gallery.tables import faces

FACE_COLUMNS = (
    faces.c.id,
    faces.c.person_id,
    faces.c.model_name,
    faces.c.model_version,
    faces.c.box_x,
    faces.c.box_y,
    faces.c.box_width,
    faces.c.box_height,
    faces.c.confidence,
    faces.c.created_at,
)


def templates_query(model: ModelKey):  # noqa: ANN201 - an SQLAlchemy Select
    """Select the embedding columns of every template ``model`` made."""
    return select(
        faces.c.id, faces.c.person_id, faces.c.embedding, faces.c.encrypted, faces.c.dimension
    ).where(
        and_(
            faces.c.model_name == model.name,
            faces.c.model_version == model.version,
            faces.c.dimension == model.dimension,
        )
    )


def new_face_id(number: int) -> str:
    """32 hex digits, sorting in enrolment order: nanoseconds (+ place in batch), then random."""
    return f"{time.time_ns() + number:016x}{uuid.uuid4().hex[:16]}"


def face_row(
    codec: TemplateCodec,
    face_id: str,
    person_id: str,
    model: ModelKey,
    face: NewFace,
    now: datetime,
) -> dict[str, Any]:
    """Return the ``faces`` row that stores ``face`` (its embedding encoded by ``codec``)."""
    x, y, width, height = face.box if face.box is not None else (None,) * 4
    return {
        "id": face_id,
        "person_id": person_id,
        "model_name": model.name,
        "model_version": model.version,
        "dimension": model.dimension,
        "embedding": codec.encode(face.embedding),
        "encrypted": codec.encrypts,
        "box_x": x,
        "box_y": y,
        "box_width": width,
        "box_height": height,
        "confidence": face.confidence,
        "created_at": now,
    }


def template(codec: TemplateCodec, row: RowMapping) -> Template:
    """Return the template a :func:`templates_query` row holds (decoded by ``codec``)."""
    embedding = codec.decode(row["embedding"], row["encrypted"], row["dimension"])
    return Template(row["id"], row["person_id"], embedding)


def face_record(row: RowMapping | dict[str, Any]) -> FaceRecord:
    """Return the description of a ``faces`` row (:data:`FACE_COLUMNS`), without its embedding."""
    box = (
        None
        if row["box_x"] is None
        else (row["box_x"], row["box_y"], row["box_width"], row["box_height"])
    )
    return FaceRecord(
        row["id"],
        row["person_id"],
        row["model_name"],
        row["model_version"],
        box,
        row["confidence"],
        _utc(row["created_at"]),
    )


def person_record(row: RowMapping, face_records: tuple[FaceRecord, ...] = ()) -> Person:
    """Return the person a ``people`` row holds, with the given face records."""
    return Person(
        row["id"], row["display_name"], row["attributes"], _utc(row["created_at"]), face_records
    )


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
