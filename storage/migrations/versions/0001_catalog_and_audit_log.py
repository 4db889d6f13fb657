"""The catalog (batches, items, packages, versions, files) and the audit log.

Revision ID: 0001
Revises:
Create Date: 2024-05-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "batches",
        sa.Column("batch_id", sa.String(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitter", sa.String(), nullable=True),
        sa.Column("collection", sa.String(), nullable=True),
        sa.Column("schema", sa.String(), nullable=False),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", name="pk_batches"),
    )
    op.create_table(
        "items",
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("batch_id", sa.String(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("package_id", sa.String(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("item_id", name="pk_items"),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.batch_id"],
                                name="fk_items_batch_id_batches"),
        sa.UniqueConstraint("batch_id", "name", name="uq_items_batch_id_name"),
        sa.CheckConstraint(
            "status IN ('accepted', 'stored', 'unchanged', 'rejected', 'failed')",
            name="ck_items_status",
        ),
    )
    op.create_table(
        "packages",
        sa.Column("package_id", sa.String(), nullable=False),
        sa.Column("identifier", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("latest_version", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("package_id", name="pk_packages"),
        sa.UniqueConstraint("identifier", name="uq_packages_identifier"),
    )
    op.create_table(
        "versions",
        sa.Column("package_id", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("item_id", sa.String(), nullable=True),
        sa.Column("batch_id", sa.String(), nullable=True),
        sa.Column("identifier", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("record", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_fixity_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_fixity_outcome", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("package_id", "number", name="pk_versions"),
        sa.ForeignKeyConstraint(["package_id"], ["packages.package_id"],
                                name="fk_versions_package_id_packages"),
        sa.CheckConstraint("state IN ('pending', 'committed')", name="ck_versions_state"),
    )
    op.create_table(
        "files",
        sa.Column("package_id", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("sha512", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("package_id", "number", "path", name="pk_files"),
        sa.ForeignKeyConstraint(["package_id", "number"],
                                ["versions.package_id", "versions.number"],
                                name="fk_files_version", ondelete="CASCADE"),
    )
    op.create_table(
        "events",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("event_type", sa.String(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=False),
        sa.Column("agent", sa.Text(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("batch_id", sa.String(), nullable=True),
        sa.Column("item_id", sa.String(), nullable=True),
        sa.Column("package_id", sa.String(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_events"),
        sa.UniqueConstraint("event_id", name="uq_events_event_id"),
        sa.UniqueConstraint("hash", name="uq_events_hash"),
    )
    op.create_index("ix_events_package_id", "events", ["package_id"])
    audit_head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
        sa.CheckConstraint("id = 1", name="ck_audit_head_single_row"),
    )
    # The empty chain: no event yet, the next one links to GENESIS.
    op.bulk_insert(audit_head, [{"id": 1, "seq": 0, "hash": GENESIS}])


def downgrade() -> None:
    for table in ("audit_head", "events", "files", "versions", "packages", "items", "batches"):
        op.drop_table(table)
