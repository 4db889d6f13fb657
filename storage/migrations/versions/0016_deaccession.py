"""Deaccession requests and their tombstones: what was withdrawn, when, why and by whom.

Revision ID: 0016_deaccession
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_deaccession"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("deaccession",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deaccession_requests",
        sa.Column("request_id", sa.String(), nullable=False),
        sa.Column("package_id", sa.String(), nullable=False),
        sa.Column("identifier", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("requested_by", sa.JSON(none_as_null=True), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("request_id", name="pk_deaccession_requests"),
        sa.CheckConstraint("state IN ('requested', 'rejected', 'deleting', 'deaccessioned')",
                           name="ck_deaccession_requests_state"),
    )
    op.create_index("ix_deaccession_requests_package", "deaccession_requests",
                    ["package_id", "state"])
    op.create_table(
        "tombstones",
        sa.Column("package_id", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("request_id", sa.String(), nullable=False),
        sa.Column("files", sa.JSON(none_as_null=True), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["deaccession_requests.request_id"],
                                name="fk_tombstones_request_id_deaccession_requests"),
        sa.PrimaryKeyConstraint("package_id", "number", name="pk_tombstones"),
    )


def downgrade() -> None:
    op.drop_table("tombstones")
    op.drop_index("ix_deaccession_requests_package", table_name="deaccession_requests")
    op.drop_table("deaccession_requests")
