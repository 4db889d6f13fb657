"""Object versions to read for files of a copy: where a repair wrote a new version
over a damaged object that S3 Object Lock retains.

Revision ID: 0018_object_versions
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_object_versions"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("object_versions",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "object_versions",
        sa.Column("package_id", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("version_id", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["package_id", "number"],
                                ["versions.package_id", "versions.number"],
                                name="fk_object_versions_version", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("package_id", "number", "location", "path",
                                name="pk_object_versions"),
    )


def downgrade() -> None:
    op.drop_table("object_versions")
