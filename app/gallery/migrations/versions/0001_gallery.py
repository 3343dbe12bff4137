"""People, face templates, and the change counter replicas poll.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the gallery tables and the single change-counter row."""
    op.create_table(
        "people",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("display_name", sa.String(256), nullable=True),
        sa.Column("attributes", sa.JSON, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "faces",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column(
            "person_id",
            sa.String(128),
            sa.ForeignKey("people.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("model_name", sa.String(128), nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("dimension", sa.Integer, nullable=False),
        sa.Column("embedding", sa.LargeBinary, nullable=False),
        sa.Column("encrypted", sa.Boolean, nullable=False),
        sa.Column("box_x", sa.Float, nullable=True),
        sa.Column("box_y", sa.Float, nullable=True),
        sa.Column("box_width", sa.Float, nullable=True),
        sa.Column("box_height", sa.Float, nullable=True),
        sa.Column("confidence", sa.Float, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_faces_person", "faces", ["person_id"])
    op.create_index("ix_faces_model", "faces", ["model_name", "model_version"])
    state = op.create_table(
        "gallery_state",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
    )
    op.bulk_insert(state, [{"id": 1, "version": 0}])
    op.create_table(
        "gallery_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("face_id", sa.String(32), nullable=False),
        sa.Column("added", sa.Boolean, nullable=False),
    )
    op.create_index("ix_gallery_events_version", "gallery_events", ["version"])


def downgrade() -> None:
    """Drop everything the upgrade created."""
    op.drop_table("gallery_events")
    op.drop_table("gallery_state")
    op.drop_index("ix_faces_model", table_name="faces")
    op.drop_index("ix_faces_person", table_name="faces")
    op.drop_table("faces")
    op.drop_table("people")
