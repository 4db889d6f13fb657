"""The SHA-256 of each staged listing, kept in the catalog when a staged batch
is registered: a worker holds the listing it reads from the staging area to
it, so that whoever can write the store but not the catalog cannot rewrite a
staged file and its listing together (``ingest.staged_batch``).

- ``batches.staged_sha256``: of ``_staging/{batch}/batch/staged.json``.
- ``items.staged_sha256``: of ``_staging/{batch}/items/{item}/staged.json``.

Batches registered before stay without (NULL: the listing is taken as it is).

Revision ID: 0021_staged_listings
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_staged_listings"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("staged_listings",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("batches") as batch:
        batch.add_column(sa.Column("staged_sha256", sa.String(64), nullable=True))
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("staged_sha256", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("staged_sha256")
    with op.batch_alter_table("batches") as batch:
        batch.drop_column("staged_sha256")
