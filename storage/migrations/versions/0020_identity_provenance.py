"""Who made each token, and who last set each account's password: whoever made
a credential, or chose its password, can act with it, so the two-person rule of
a deaccession asks it (``ingest.identities``).

- ``api_tokens.created_by``: the agent who made the token (JSON).
- ``accounts.password_set_by``: the agent who last set the account's password
  (JSON): the administrator who made the account, until its owner changes it.

Credentials made before stay without either (NULL: not known).

Revision ID: 0020_identity_provenance
Revises: 0007, 0010_accounts
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_identity_provenance"
down_revision: str | Sequence[str] | None = ("0007", "0010_accounts")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("created_by", sa.JSON(), nullable=True))
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("password_set_by", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("password_set_by")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("created_by")
