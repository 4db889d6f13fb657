"""Package search without regard to case or accents, and by creator: each
package keeps its latest version's title, creators' names and collection in the
form a search compares (``ingest.access.search_fold``: NFKD, combining marks
dropped, case-folded), so ``zurich`` finds ``Zürich`` and ``müller`` finds
``Hans Müller``.

- ``packages.title_key``, ``creators_key`` (one folded name a line, a line
  break before the first and after the last) and ``collection_key``, filled
  for the packages already there from their latest version's record.
- ``ix_packages_collection_key`` on (collection_key, identifier).
- On PostgreSQL, trigram indexes on ``title_key`` and ``creators_key``, which
  ``LIKE '%word%'`` uses. pg_trgm is created as 0017 creates it (this branch may
  run before that one); where it may not be, these searches scan, as SQLite's
  do, and the migration says so and goes on.

Revision ID: 0024_folded_search
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0024_folded_search"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("folded_search",)
depends_on: str | Sequence[str] | None = None

_TRIGRAM = {"ix_packages_title_key_trgm": "title_key",
            "ix_packages_creators_key_trgm": "creators_key"}
log = logging.getLogger(__name__)


def upgrade() -> None:
    with op.batch_alter_table("packages") as batch:
        for column in ("title_key", "creators_key", "collection_key"):
            batch.add_column(sa.Column(column, sa.Text(), server_default="", nullable=False))
    _fill_keys()
    op.create_index("ix_packages_collection_key", "packages", ["collection_key", "identifier"])
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:
        savepoint.rollback()
        log.warning("title words and creators are searched without an index: the extension "
                    "pg_trgm could not be created (%s); a superuser can run "
                    "CREATE EXTENSION pg_trgm in this database, then `strongroom init` again",
                    str(exc.orig).strip().splitlines()[0])
        return
    savepoint.commit()
    for index, column in _TRIGRAM.items():
        bind.execute(sa.text(f"CREATE INDEX IF NOT EXISTS {index} ON packages "
                             f"USING gin ({column} gin_trgm_ops)"))


def _fold(text: str) -> str:
    """``ingest.access.search_fold`` as it was at this revision (written out, so that
    this revision does not change when it does)."""
    bare = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def _keys(title: str | None, record: Any) -> dict[str, str]:
    record = record if isinstance(record, dict) else {}
    creators = record.get("creators")
    names = [_fold(c["name"]) for c in creators if isinstance(c, dict)
             and isinstance(c.get("name"), str)] if isinstance(creators, list) else []
    collection = record.get("collection")
    return {"title_key": _fold(title or ""),
            "creators_key": "\n" + "".join(f"{name}\n" for name in names if name),
            "collection_key": _fold(collection) if isinstance(collection, str) else ""}


def _fill_keys() -> None:
    bind = op.get_bind()
    packages = sa.table("packages", sa.column("package_id", sa.String),
                        sa.column("latest_version", sa.Integer), sa.column("title_key", sa.Text),
                        sa.column("creators_key", sa.Text), sa.column("collection_key", sa.Text))
    versions = sa.table("versions", sa.column("package_id", sa.String),
                        sa.column("number", sa.Integer), sa.column("title", sa.Text),
                        sa.column("record", sa.JSON()))
    rows = bind.execute(
        sa.select(versions.c.package_id, versions.c.title, versions.c.record)
        .join(packages, sa.and_(packages.c.package_id == versions.c.package_id,
                                packages.c.latest_version == versions.c.number)))
    keys = [{"id": row.package_id, **_keys(row.title, row.record)} for row in rows]
    if keys:
        bind.execute(packages.update().where(packages.c.package_id == sa.bindparam("id"))
                     .values(title_key=sa.bindparam("title_key"),
                             creators_key=sa.bindparam("creators_key"),
                             collection_key=sa.bindparam("collection_key")), keys)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for index in _TRIGRAM:
            bind.execute(sa.text(f"DROP INDEX IF EXISTS {index}"))
    op.drop_index("ix_packages_collection_key", table_name="packages")
    with op.batch_alter_table("packages") as batch:
        for column in ("collection_key", "creators_key", "title_key"):
            batch.drop_column(column)
