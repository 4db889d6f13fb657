"""Each deaccession request's identifier as compared for sameness (``ingest.models.identifier_key``).

A package deaccessioned as a whole is not taken back in by submitting its
record again (PACKAGE_DEACCESSIONED), and neither by submitting it with the
identifier in other capitals, fullwidth letters, another Unicode normalization
form or with a character that shows nothing: every form that would be refused as
a twin of a live package (``ingest.batch_identifiers.identifier_refusal``), which
reads this indexed column.

- ``deaccession_requests.identifier_key``: NFKC, case-folded, without characters
  that show nothing, as the catalog computes it when it writes the row (the
  function is copied here: a migration keeps the rule it was written with),
  filled for the requests already there.

Revision ID: 0026_withdrawn_identifier_key
Revises: 0016_deaccession
Create Date: 2026-12-07
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026_withdrawn_identifier_key"
down_revision: str | Sequence[str] | None = "0016_deaccession"
branch_labels: str | Sequence[str] | None = ("withdrawn_identifier_key",)
depends_on: str | Sequence[str] | None = None


def identifier_key(identifier: str) -> str:
    folded = unicodedata.normalize("NFKC", identifier).casefold()
    return unicodedata.normalize("NFKC", "".join(
        char for char in folded
        if not (unicodedata.category(char) == "Cf" or ord(char) == 0x034F
                or 0xFE00 <= ord(char) <= 0xFE0F or 0xE0100 <= ord(char) <= 0xE01EF)))


def upgrade() -> None:
    with op.batch_alter_table("deaccession_requests") as batch:
        batch.add_column(sa.Column("identifier_key", sa.Text(), nullable=True))
    requests = sa.table("deaccession_requests", sa.column("request_id", sa.String),
                        sa.column("identifier", sa.Text), sa.column("identifier_key", sa.Text))
    connection = op.get_bind()
    rows = connection.execute(sa.select(requests.c.request_id, requests.c.identifier))
    keys = [{"id": request_id, "key": identifier_key(identifier)}
            for request_id, identifier in rows]
    if keys:
        connection.execute(
            requests.update().where(requests.c.request_id == sa.bindparam("id"))
            .values(identifier_key=sa.bindparam("key")), keys)
    op.create_index("ix_deaccession_requests_identifier_key", "deaccession_requests",
                    ["identifier_key"])


def downgrade() -> None:
    op.drop_index("ix_deaccession_requests_identifier_key", table_name="deaccession_requests")
    with op.batch_alter_table("deaccession_requests") as batch:
        batch.drop_column("identifier_key")
