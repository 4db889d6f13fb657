"""The trigram index on the title as written goes (PostgreSQL).

Migration 0017 indexed ``packages.title`` for the search's ``ILIKE``; since
migration 0024 every search reads the folded title (``title_key``, its own
trigram index), so the first index was built and updated on each package
written, and read by nothing. This revision follows both (a catalog has both
before it) and drops it. SQLite never had it.

Revision ID: 0027_unused_title_index
Revises: 0017_title_search, 0024_folded_search
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0027_unused_title_index"
down_revision: str | Sequence[str] | None = ("0017_title_search", "0024_folded_search")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_packages_title_trgm"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {INDEX}")


def downgrade() -> None:
    # As 0017 made it, where pg_trgm is there (0017 went on without it when it was not).
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') "
                   f"THEN CREATE INDEX IF NOT EXISTS {INDEX} ON packages USING gin (title gin_trgm_ops); "
                   "END IF; END $$")
