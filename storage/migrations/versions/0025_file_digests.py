"""Files found by their SHA-256: ``files.sha256`` indexed.

``strongroom repair`` mends a damaged object from any stored object whose
recorded size and digests are the damaged file's (``ingest.repair_sources``:
another version or package holding the same bytes), and looks them up by
digest (``FixityCatalog.objects_with_digests``). Without this index that lookup
reads every file row of the archive (tens of millions of rows at a million
packages); with it, a few index pages.

Cost: one B-tree entry per file row (on PostgreSQL about 100 bytes each before
its deduplication of equal keys, so some 2-3 GB for 25 million file rows),
and one more index entry written per file of each new version. SHA-256 alone
is indexed: it already tells the files apart, and size and SHA-512 are then
compared on the few rows it finds. Building it reads every file row once, in
the upgrade (`strongroom init`), with the catalog locked as every migration is.

Revision ID: 0025_file_digests
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0025_file_digests"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("file_digests",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_files_sha256", "files", ["sha256"])


def downgrade() -> None:
    op.drop_index("ix_files_sha256", table_name="files")
