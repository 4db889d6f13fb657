"""Fixity checks of every copy, and the queue of planned checks.

Revision ID: 0002
Revises: 0001
Create Date: 2024-06-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("fixity",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fixity_checks",
        sa.Column("check_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("package_id", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("tier", sa.String(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("check_id", name="pk_fixity_checks"),
        sa.ForeignKeyConstraint(["package_id", "number"],
                                ["versions.package_id", "versions.number"],
                                name="fk_fixity_checks_version", ondelete="CASCADE"),
        sa.CheckConstraint("tier IN ('deep', 'shallow')", name="ck_fixity_checks_tier"),
        sa.CheckConstraint("outcome IN ('ok', 'failed')", name="ck_fixity_checks_outcome"),
    )
    op.create_index("ix_fixity_checks_copy", "fixity_checks",
                    ["package_id", "number", "location", "tier", "checked_at"])
    op.create_index("ix_fixity_checks_checked_at", "fixity_checks", ["checked_at"])
    op.create_table(
        "fixity_queue",
        sa.Column("package_id", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("tier", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("package_id", "number", "location", "tier",
                                name="pk_fixity_queue"),
        sa.ForeignKeyConstraint(["package_id", "number"],
                                ["versions.package_id", "versions.number"],
                                name="fk_fixity_queue_version", ondelete="CASCADE"),
        sa.CheckConstraint("state IN ('queued', 'done')", name="ck_fixity_queue_state"),
    )


def downgrade() -> None:
    op.drop_table("fixity_queue")
    op.drop_index("ix_fixity_checks_checked_at", table_name="fixity_checks")
    op.drop_index("ix_fixity_checks_copy", table_name="fixity_checks")
    op.drop_table("fixity_checks")
