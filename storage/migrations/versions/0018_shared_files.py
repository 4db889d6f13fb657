"""Versions share unchanged bytes: a file's ``held_by`` names the earlier version
of the same package whose object holds its bytes (the version's bag lists the
file in fetch.txt). Null for every file a version stores itself, which is every
file of every version stored before.

Revision ID: 0018_shared_files
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_shared_files"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("shared_files",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("files") as table:
        table.add_column(sa.Column("held_by", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("files") as table:
        table.drop_column("held_by")
