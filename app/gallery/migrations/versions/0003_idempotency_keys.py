"""Keep the answers of requests made with an Idempotency-Key header, for their retries.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``idempotency_keys``."""
    op.create_table(
        "idempotency_keys",
        sa.Column("route", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("person_id", sa.String(128), nullable=True),
        sa.Column("response", sa.Text, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_idempotency_keys_created", "idempotency_keys", ["created_at"])
    op.create_index("ix_idempotency_keys_person", "idempotency_keys", ["person_id"])


def downgrade() -> None:
    """Drop ``idempotency_keys``."""
    op.drop_table("idempotency_keys")
