"""Each payload file's format, as identified at ingest: its PRONOM identifier
(PUID), format name and version, media type, and how it was told (signature or
extension). Null for tag files, for files nothing identified, and for versions
stored before formats were identified (their bags have no metadata/formats.json).

Revision ID: 0012_file_formats
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_file_formats"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("file_formats",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("files") as table:
        table.add_column(sa.Column("puid", sa.String(), nullable=True))
        table.add_column(sa.Column("format_name", sa.Text(), nullable=True))
        table.add_column(sa.Column("format_version", sa.Text(), nullable=True))
        table.add_column(sa.Column("mime_type", sa.String(), nullable=True))
        table.add_column(sa.Column("format_basis", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("files") as table:
        table.drop_column("format_basis")
        table.drop_column("mime_type")
        table.drop_column("format_version")
        table.drop_column("format_name")
        table.drop_column("puid")
