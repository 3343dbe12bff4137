"""Database tables of the gallery (SQLAlchemy Core); Alembic migrations create them.

What is stored about a person: the id, an optional display name and metadata given by the
caller, and per enrolled photo a template (the embedding, optionally encrypted), the model that
made it, the face box and detector confidence, and timestamps. Never an image.

``gallery_state`` holds one counter bumped by every change of the templates, and
``gallery_events`` says which face each change added or removed (face ids only, nothing about
the person), so replicas keep their in-memory index in step by polling.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

PERSON_ID_LENGTH = 128
FACE_ID_LENGTH = 32

metadata = MetaData()

people = Table(
    "people",
    metadata,
    Column("id", String(PERSON_ID_LENGTH), primary_key=True),
    Column("display_name", String(256), nullable=True),
    Column("attributes", JSON, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

faces = Table(
    "faces",
    metadata,
    Column("id", String(FACE_ID_LENGTH), primary_key=True),
    Column(
        "person_id",
        String(PERSON_ID_LENGTH),
        ForeignKey("people.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("model_name", String(128), nullable=False),
    Column("model_version", String(64), nullable=False),
    Column("dimension", Integer, nullable=False),
    Column("embedding", LargeBinary, nullable=False),
    Column("encrypted", Boolean, nullable=False),
    Column("box_x", Float, nullable=True),
    Column("box_y", Float, nullable=True),
    Column("box_width", Float, nullable=True),
    Column("box_height", Float, nullable=True),
    Column("confidence", Float, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_faces_person", "person_id"),
    Index("ix_faces_model", "model_name", "model_version"),
)

gallery_state = Table(
    "gallery_state",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", BigInteger, nullable=False),
    Column("pruned_through", BigInteger, nullable=False, server_default="0"),
)

gallery_events = Table(
    "gallery_events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("version", BigInteger, nullable=False),
    Column("face_id", String(FACE_ID_LENGTH), nullable=False),
    Column("added", Boolean, nullable=False),
    Index("ix_gallery_events_version", "version"),
)

# Answers of enrolments made with an Idempotency-Key header (app.api.idempotency): a retry with the
# key gets the stored answer. ``response`` is null while the first request is in progress.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("route", String(16), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("person_id", String(PERSON_ID_LENGTH), nullable=True),
    Column("response", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_idempotency_keys_created", "created_at"),
    Index("ix_idempotency_keys_person", "person_id"),
)
