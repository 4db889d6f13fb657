"""Index batches by (submitted_at, batch_id): ``strongroom batches`` lists the
newest first, from a date, without reading every batch.

Revision ID: 0009_batches
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009_batches"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("batches",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_batches_submitted_at", "batches", ["submitted_at", "batch_id"])


def downgrade() -> None:
    op.drop_index("ix_batches_submitted_at", table_name="batches")
