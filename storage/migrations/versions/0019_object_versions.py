"""Object versions to read for objects of a package in a location: where a repair
wrote a new version over a damaged object that S3 Object Lock retains.

Revision ID: 0019_object_versions
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_object_versions"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("object_versions",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "object_versions",
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("object_key", sa.Text(), nullable=False),
        sa.Column("package_id", sa.String(), nullable=False),
        sa.Column("version_id", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("location", "object_key", name="pk_object_versions"),
    )
    op.create_index("ix_object_versions_package", "object_versions", ["package_id", "location"])


def downgrade() -> None:
    op.drop_index("ix_object_versions_package", table_name="object_versions")
    op.drop_table("object_versions")
