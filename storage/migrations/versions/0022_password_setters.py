"""Everyone who has ever set an account's password, its own owner aside.

Whoever knew a password of an account could have signed in with it and
"changed their own password" to one they also know: the last setter alone let
one administrator make an admin account, change its password as its "owner"
and approve her own deaccession request with it. The two-person rule of a
deaccession asks this list (``ingest.identities``).

- ``accounts.password_setters``: a JSON list of agents (``Actor.to_dict``),
  the account's maker first, each other agent who set its password after,
  each once. Filled for accounts made before from the audit log (the agents of
  their "account created" and "password set" events, in order) and from
  ``password_set_by`` when that was someone else.

Revision ID: 0022_password_setters
Revises: 0020_identity_provenance
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0022_password_setters"
down_revision: str | Sequence[str] | None = "0020_identity_provenance"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.add_column(sa.Column("password_setters", sa.JSON(), nullable=True))
    accounts = sa.table("accounts", sa.column("account_id", sa.String),
                        sa.column("password_set_by", sa.JSON),
                        sa.column("password_setters", sa.JSON))
    events = sa.table("events", sa.column("seq", sa.BigInteger), sa.column("event_type", sa.String),
                      sa.column("detail", sa.JSON), sa.column("actor", sa.JSON))
    connection = op.get_bind()
    setters: dict[str, list[dict[str, Any]]] = {}
    made = connection.execute(sa.select(events.c.detail, events.c.actor)
                              .where(events.c.event_type == "policy assignment")
                              .order_by(events.c.seq))
    for detail, actor in made:
        account = (detail or {}).get("account") or {}
        if (detail or {}).get("action") in ("account created", "password set") and actor \
                and account.get("account_id") and actor.get("account_id") != account["account_id"]:
            known = setters.setdefault(account["account_id"], [])
            if actor not in known:
                known.append(actor)
    rows = connection.execute(sa.select(accounts.c.account_id, accounts.c.password_set_by)).all()
    for account_id, set_by in rows:
        known = setters.get(account_id, [])
        if set_by and set_by.get("account_id") != account_id and set_by not in known:
            known.append(set_by)
        if known:
            connection.execute(accounts.update().where(accounts.c.account_id == account_id)
                               .values(password_setters=known))


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("password_setters")
