"""Locations taken out of service.

``strongroom locations retire`` takes a storage location the settings no longer
name out of the catalog once every version it held is held whole in every
configured location: its copies are no longer noted, no check of it is planned,
and this table says when, by whom and why (with the audit event's number). A
location retired and named again later is a new location.

Revision ID: 0025_retired_locations
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_retired_locations"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "retired_locations",
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_by", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("copies", sa.BigInteger(), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("location", name="pk_retired_locations"),
    )


def downgrade() -> None:
    op.drop_table("retired_locations")
