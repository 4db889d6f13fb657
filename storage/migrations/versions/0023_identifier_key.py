"""Each package's identifier as compared for sameness (``ingest.models.identifier_key``).

``SG-PR-0021`` and ``sg-pr-0021`` (or ``Müller`` in NFC and NFD) are one record
to a person; as identifiers they made two packages. A new package whose
identifier has the key of an existing package's is refused
(``ingest.batch_identifiers.stored_twin``), which reads this indexed column.

- ``packages.identifier_key``: NFKC, case-folded, without characters that show
  nothing, as the ingest computes it when it writes the row (the function is
  copied here: a migration keeps the rule it was written with), filled for the
  packages already there. Not unique: an archive may already hold such twins,
  which stay as they are.

Revision ID: 0023_identifier_key
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023_identifier_key"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = ("identifier_key",)
depends_on: str | Sequence[str] | None = None


def identifier_key(identifier: str) -> str:
    folded = unicodedata.normalize("NFKC", identifier).casefold()
    return unicodedata.normalize("NFKC", "".join(
        char for char in folded
        if not (unicodedata.category(char) == "Cf" or ord(char) == 0x034F
                or 0xFE00 <= ord(char) <= 0xFE0F or 0xE0100 <= ord(char) <= 0xE01EF)))


def upgrade() -> None:
    with op.batch_alter_table("packages") as batch:
        batch.add_column(sa.Column("identifier_key", sa.Text(), nullable=True))
    packages = sa.table("packages", sa.column("package_id", sa.String),
                        sa.column("identifier", sa.Text), sa.column("identifier_key", sa.Text))
    connection = op.get_bind()
    rows = connection.execute(sa.select(packages.c.package_id, packages.c.identifier))
    keys = [{"id": package_id, "key": identifier_key(identifier)} for package_id, identifier in rows]
    if keys:
        connection.execute(packages.update().where(packages.c.package_id == sa.bindparam("id"))
                           .values(identifier_key=sa.bindparam("key")), keys)
    op.create_index("ix_packages_identifier_key", "packages", ["identifier_key"])


def downgrade() -> None:
    op.drop_index("ix_packages_identifier_key", table_name="packages")
    with op.batch_alter_table("packages") as batch:
        batch.drop_column("identifier_key")
