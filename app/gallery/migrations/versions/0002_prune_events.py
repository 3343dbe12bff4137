"""Record how far the change events were pruned, so that replicas behind that reload.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``gallery_state.pruned_through`` (0: nothing pruned yet)."""
    with op.batch_alter_table("gallery_state") as batch:
        batch.add_column(
            sa.Column("pruned_through", sa.BigInteger, nullable=False, server_default="0")
        )


def downgrade() -> None:
    """Drop ``gallery_state.pruned_through``."""
    with op.batch_alter_table("gallery_state") as batch:
        batch.drop_column("pruned_through")
