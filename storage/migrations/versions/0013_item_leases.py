"""Leases on items at work: the token of the attempt that holds each item (renewed
in updated_at), so that the catalog tells the current holder from one that was
paused past its lease and taken over (ingest.lease).

Revision ID: 0013_item_leases
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_item_leases"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("item_leases",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("items") as table:
        table.add_column(sa.Column("lease_holder", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items") as table:
        table.drop_column("lease_holder")
