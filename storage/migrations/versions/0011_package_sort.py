"""Package search in several orders: sort keys on each package (its latest
version's title case-folded, the start of its record's date, when it was last
committed), each indexed with the identifier, so a page of any order is read
from an index, not by sorting every package; and the end of the record's date,
so that a date range is filtered by the database.

Revision ID: 0011_package_sort
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_package_sort"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("package_sort",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("packages") as table:
        table.add_column(sa.Column("sort_title", sa.Text(), server_default="", nullable=False))
        table.add_column(sa.Column("sort_date", sa.String(), server_default="", nullable=False))
        table.add_column(sa.Column("date_end", sa.String(), server_default="", nullable=False))
        table.add_column(sa.Column("latest_at", sa.DateTime(timezone=True), nullable=True))
    _fill_sort_keys()
    op.create_index("ix_packages_sort_title", "packages", ["sort_title", "identifier"])
    op.create_index("ix_packages_sort_date", "packages", ["sort_date", "identifier"])
    op.create_index("ix_packages_latest_at", "packages", ["latest_at", "identifier"])


def _fill_sort_keys() -> None:
    """The keys of packages committed before this revision, from their latest version
    (as ``ingest.access.title_sort_key`` and ``date_sort_key`` make them; written out
    here so that this revision does not change when they do)."""
    bind = op.get_bind()
    packages = sa.table("packages", sa.column("package_id"), sa.column("latest_version"),
                        sa.column("sort_title"), sa.column("sort_date"), sa.column("date_end"),
                        sa.column("latest_at"))
    versions = sa.table("versions", sa.column("package_id"), sa.column("number"),
                        sa.column("title"), sa.column("record", sa.JSON()),
                        sa.column("committed_at", sa.DateTime(timezone=True)),
                        sa.column("created_at", sa.DateTime(timezone=True)))
    rows = bind.execute(
        sa.select(versions.c.package_id, versions.c.title, versions.c.record,
                  versions.c.committed_at, versions.c.created_at)
        .join(packages, sa.and_(packages.c.package_id == versions.c.package_id,
                                packages.c.latest_version == versions.c.number))).all()
    for row in rows:
        record = row.record if isinstance(row.record, dict) else {}
        bind.execute(
            packages.update().where(packages.c.package_id == row.package_id)
            .values(sort_title=(row.title or "").casefold(),
                    sort_date=date.partition("/")[0] if isinstance(date := record.get("date"), str)
                    else "",
                    date_end=(date.partition("/")[2] or date) if isinstance(date, str) else "",
                    latest_at=row.committed_at or row.created_at))


def downgrade() -> None:
    op.drop_index("ix_packages_latest_at", table_name="packages")
    op.drop_index("ix_packages_sort_date", table_name="packages")
    op.drop_index("ix_packages_sort_title", table_name="packages")
    with op.batch_alter_table("packages") as table:
        table.drop_column("latest_at")
        table.drop_column("date_end")
        table.drop_column("sort_date")
        table.drop_column("sort_title")
