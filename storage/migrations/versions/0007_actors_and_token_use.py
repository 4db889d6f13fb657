"""Who caused each event and who submitted each batch; one live token per name,
and when each token was last used.

- ``events.actor``: the agent who caused an event (JSON; sealed into the event's
  hash when present; events recorded before stay without one and still verify).
- ``batches.submitted_by``: the agent who submitted a batch (JSON); the existing
  ``batches.submitter`` keeps batch.json's claimed name.
- ``api_tokens.last_used_at``, and a unique index on the names of live tokens.
  Live tokens that already share a name keep working: all but the oldest are
  renamed ``NAME~<first 8 characters of the token id>`` (``token list`` shows it).

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE = sa.text("revoked_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("actor", sa.JSON(), nullable=True))
    with op.batch_alter_table("batches") as batch:
        batch.add_column(sa.Column("submitted_by", sa.JSON(), nullable=True))
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
    _rename_shared_live_names()
    op.create_index("uq_api_tokens_live_name", "api_tokens", ["name"], unique=True,
                    sqlite_where=_LIVE, postgresql_where=_LIVE)


def _rename_shared_live_names() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT token_id, name FROM api_tokens WHERE revoked_at IS NULL "
        "ORDER BY created_at, token_id")).all()
    seen: set[str] = set()
    for token_id, name in rows:
        if name in seen:
            bind.execute(sa.text("UPDATE api_tokens SET name = :name WHERE token_id = :id"),
                         {"name": f"{name}~{token_id[:8]}", "id": token_id})
        seen.add(name)


def downgrade() -> None:
    op.drop_index("uq_api_tokens_live_name", table_name="api_tokens")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("last_used_at")
    with op.batch_alter_table("batches") as batch:
        batch.drop_column("submitted_by")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("actor")
