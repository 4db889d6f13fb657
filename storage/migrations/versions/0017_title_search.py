"""Title words found by an index on PostgreSQL: a trigram index (pg_trgm) on the
title, which the search's ``title ILIKE '%word%'`` uses, so a rare word among a
hundred thousand packages is not a scan of every title.

pg_trgm ships with PostgreSQL and is a trusted extension (13 and later): the
database's owner may create it. Where it may not be created, the search works
as before, by scanning; the migration says so and goes on. SQLite (the
embedded catalog) scans, as before.

Revision ID: 0017_title_search
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_title_search"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("title_search",)
depends_on: str | Sequence[str] | None = None

INDEX = "ix_packages_title_trgm"
log = logging.getLogger(__name__)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:
        savepoint.rollback()
        log.warning("title words are searched without an index: the extension pg_trgm "
                    "could not be created (%s); a superuser can run "
                    "CREATE EXTENSION pg_trgm in this database, then `strongroom init` again",
                    str(exc.orig).strip().splitlines()[0])
        return
    savepoint.commit()
    bind.execute(sa.text(f"CREATE INDEX IF NOT EXISTS {INDEX} ON packages "
                         "USING gin (title gin_trgm_ops)"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {INDEX}")
