"""Index items by (status, updated_at): finding stuck items reads only those.

``SqlCatalog.stuck_items`` asks for accepted items idle since a moment, the
longest idle first; without this index it scans every item ever submitted.

Revision ID: 0006
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("items",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_items_status_updated_at", "items", ["status", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_items_status_updated_at", table_name="items")
