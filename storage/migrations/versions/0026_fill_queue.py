"""Versions queued to be copied into a location (``strongroom locations fill``
with workers).

Each copy's row in ``fixity_state`` notes when a task to fill it was sent and
not yet finished, as it notes the checks queued: filling again while tasks are
still queued sends none twice, and ``strongroom locations`` counts them.

Revision ID: 0026_fill_queue
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026_fill_queue"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

QUEUED = "queued_fill_at IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("fixity_state") as batch:
        batch.add_column(sa.Column("queued_fill_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_fixity_state_fill_queued", "fixity_state", ["location"],
                    postgresql_where=sa.text(QUEUED), sqlite_where=sa.text(QUEUED))


def downgrade() -> None:
    op.drop_index("ix_fixity_state_fill_queued", table_name="fixity_state")
    with op.batch_alter_table("fixity_state") as batch:
        batch.drop_column("queued_fill_at")
