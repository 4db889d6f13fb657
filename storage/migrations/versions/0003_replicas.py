"""Copies of versions per storage location, audit chain anchors, catalog rebuilds.

Revision ID: 0003
Revises: 0001
Create Date: 2024-06-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("replicas",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "version_copies",
        sa.Column("package_id", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("package_id", "number", "location", name="pk_version_copies"),
        sa.ForeignKeyConstraint(["package_id", "number"],
                                ["versions.package_id", "versions.number"],
                                name="fk_version_copies_version", ondelete="CASCADE"),
        sa.CheckConstraint("state IN ('verified', 'damaged')", name="ck_version_copies_state"),
    )
    op.create_table(
        "audit_anchors",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("anchored_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_anchors"),
    )
    op.create_table(
        "catalog_rebuilds",
        sa.Column("rebuild_id", sa.String(), nullable=False),
        sa.Column("rebuilt_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("rebuild_id", name="pk_catalog_rebuilds"),
    )


def downgrade() -> None:
    op.drop_table("catalog_rebuilds")
    op.drop_table("audit_anchors")
    op.drop_table("version_copies")
