"""The audit log's identity, and a fast way to the event that sealed a version.

``audit_log`` holds one row: the ``log_id`` made when this catalog's log was
created. Anchors of the log are written under ``_audit/logs/{log_id}/anchors/``,
so that the logs of two catalogs on one store (a trial rebuild, a test catalog,
a second deployment) are each held to their own anchors only.

A catalog that already anchored its log before logs had an identity wrote its
anchors under the shared ``_audit/anchors/``: it keeps them as its own
(``legacy_anchors``); a new catalog does not read them.

``ix_events_sealing`` finds the ingestion event of one version (the digests of
its manifests sealed in the chain) without reading every event of the package.

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = ("audit_log",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("log_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("legacy_anchors", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
        sa.CheckConstraint("id = 1", name="ck_audit_log_single_row"),
    )
    bind = op.get_bind()
    anchored = bind.execute(sa.text("SELECT COUNT(*) FROM audit_anchors")).scalar_one()
    now = datetime.now(UTC)
    if bind.dialect.name == "sqlite":  # UTC wall time, as storage.tables_base.UtcDateTime keeps it
        now = now.replace(tzinfo=None)
    op.bulk_insert(table, [{"id": 1, "log_id": str(uuid.uuid4()), "created_at": now,
                            "legacy_anchors": anchored > 0}])
    op.create_index("ix_events_sealing", "events", ["package_id", "version", "event_type"])


def downgrade() -> None:
    op.drop_index("ix_events_sealing", table_name="events")
    op.drop_table("audit_log")
