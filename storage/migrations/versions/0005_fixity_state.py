"""The fixity state of every copy in a row of its own, and the backlog of deep checks.

Planning fixity checks read every committed version and grouped the whole
``files`` table at every run; with one row per copy (``fixity_state``) and the
bytes per hour of deep deadline kept beside it (``fixity_backlog``), "what is
due next" is an index scan. The queue of planned checks moves into the copy's
row (``queued_deep_at``, ``queued_shallow_at``) and ``fixity_queue`` goes.

The rows are filled from what the catalog knows: every committed version in
every location named by a check, a queued check or a noted copy, its size from
its files, its last checks from ``fixity_checks``. A location first named later
gets its rows the first time the schedule is asked about it.

Revision ID: 0005
Revises: 0002 (fixity checks), 0003 (copies per location): it joins the two branches
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = ("0002", "0003")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FAILING = "last_deep_outcome = 'failed' OR last_shallow_outcome = 'failed'"


def _hour(column: str) -> str:
    """Whole hours since 1970 of a time column, in this database's SQL."""
    if op.get_bind().dialect.name == "postgresql":
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM {column}) / 3600) AS BIGINT)"
    # SQLite keeps UTC wall time as text; strftime('%s') reads it as UTC and would
    # round the microseconds up into the next second (and hour): cut them first
    return f"(CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER) / 3600)"


def _latest(*columns: str) -> str:
    """The latest of non-null time columns."""
    name = "GREATEST" if op.get_bind().dialect.name == "postgresql" else "MAX"
    return f"{name}({', '.join(columns)})"


def upgrade() -> None:
    op.create_table(
        "fixity_state",
        sa.Column("package_id", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("octets", sa.BigInteger(), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deep_base_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shallow_base_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_deep_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_deep_ok_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_deep_check_id", sa.Integer(), nullable=True),
        sa.Column("last_deep_outcome", sa.String(), nullable=True),
        sa.Column("last_shallow_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_shallow_check_id", sa.Integer(), nullable=True),
        sa.Column("last_shallow_outcome", sa.String(), nullable=True),
        sa.Column("queued_deep_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("queued_shallow_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("package_id", "number", "location", name="pk_fixity_state"),
        sa.ForeignKeyConstraint(["package_id", "number"],
                                ["versions.package_id", "versions.number"],
                                name="fk_fixity_state_version", ondelete="CASCADE"),
        sa.CheckConstraint("last_deep_outcome IN ('ok', 'failed')",
                           name="ck_fixity_state_last_deep_outcome"),
        sa.CheckConstraint("last_shallow_outcome IN ('ok', 'failed')",
                           name="ck_fixity_state_last_shallow_outcome"),
    )
    op.create_table(
        "fixity_locations",
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("location", name="pk_fixity_locations"),
    )
    op.create_table(
        "fixity_backlog",
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("hour", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("copies", sa.BigInteger(), nullable=False),
        sa.Column("octets", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("location", "hour", name="pk_fixity_backlog"),
    )
    _backfill()
    # Indexes after the rows: one sort each instead of a million index inserts.
    op.create_index("ix_fixity_state_deep_due", "fixity_state",
                    ["location", "deep_base_at", "package_id", "number"])
    op.create_index("ix_fixity_state_shallow_due", "fixity_state",
                    ["location", "shallow_base_at", "package_id", "number"])
    op.create_index("ix_fixity_state_size", "fixity_state", ["location", "octets"])
    op.create_index("ix_fixity_state_failing", "fixity_state", ["location"],
                    postgresql_where=sa.text(FAILING), sqlite_where=sa.text(FAILING))
    op.drop_table("fixity_queue")


def _last(tier: str) -> str:
    """Each copy's last check of a tier (the latest; among checks made at the same
    moment, the last recorded)."""
    return (
        "SELECT package_id, number, location, check_id, checked_at, outcome FROM ("
        "SELECT c.*, ROW_NUMBER() OVER (PARTITION BY package_id, number, location "
        "ORDER BY checked_at DESC, check_id DESC) AS n "
        f"FROM fixity_checks c WHERE tier = '{tier}') AS ranked WHERE n = 1")


def _same_copy(alias: str) -> str:
    return (f"{alias}.package_id = v.package_id AND {alias}.number = v.number "
            f"AND {alias}.location = l.location")


def _backfill() -> None:
    """One pass: every committed version in every location, joined with its size,
    its last checks and its queued checks."""
    now = datetime.now(UTC)
    if op.get_bind().dialect.name == "sqlite":
        now = now.replace(tzinfo=None)
    op.get_bind().execute(sa.text(
        "INSERT INTO fixity_locations (location, added_at) "
        "SELECT location, :now FROM (SELECT location FROM fixity_checks "
        "UNION SELECT location FROM fixity_queue UNION SELECT location FROM version_copies) AS l"
    ), {"now": now})
    deep_base = "COALESCE(d.checked_at, v.created_at)"
    op.execute(
        "INSERT INTO fixity_state (package_id, number, location, octets, made_at, "
        "deep_base_at, shallow_base_at, last_deep_at, last_deep_ok_at, last_deep_check_id, "
        "last_deep_outcome, last_shallow_at, last_shallow_check_id, last_shallow_outcome, "
        "queued_deep_at, queued_shallow_at) "
        f"SELECT v.package_id, v.number, l.location, COALESCE(s.octets, 0), v.created_at, "
        f"{deep_base}, {_latest('COALESCE(h.checked_at, v.created_at)', deep_base)}, "
        "d.checked_at, ok.checked_at, d.check_id, d.outcome, "
        "h.checked_at, h.check_id, h.outcome, qd.queued_at, qh.queued_at "
        "FROM versions v CROSS JOIN fixity_locations l "
        "LEFT JOIN (SELECT package_id, number, SUM(size) AS octets FROM files "
        "GROUP BY package_id, number) s ON s.package_id = v.package_id AND s.number = v.number "
        f"LEFT JOIN ({_last('deep')}) d ON {_same_copy('d')} "
        f"LEFT JOIN ({_last('shallow')}) h ON {_same_copy('h')} "
        "LEFT JOIN (SELECT package_id, number, location, MAX(checked_at) AS checked_at "
        "FROM fixity_checks WHERE tier = 'deep' AND outcome = 'ok' "
        f"GROUP BY package_id, number, location) ok ON {_same_copy('ok')} "
        f"LEFT JOIN fixity_queue qd ON {_same_copy('qd')} "
        "AND qd.tier = 'deep' AND qd.state = 'queued' "
        f"LEFT JOIN fixity_queue qh ON {_same_copy('qh')} "
        "AND qh.tier = 'shallow' AND qh.state = 'queued' "
        "WHERE v.state = 'committed'")
    op.execute(
        "INSERT INTO fixity_backlog (location, hour, copies, octets) "
        f"SELECT location, {_hour('deep_base_at')}, COUNT(*), SUM(octets) FROM fixity_state "
        f"GROUP BY location, {_hour('deep_base_at')}")


def downgrade() -> None:
    op.create_table(
        "fixity_queue",
        sa.Column("package_id", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("tier", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("package_id", "number", "location", "tier",
                                name="pk_fixity_queue"),
        sa.ForeignKeyConstraint(["package_id", "number"],
                                ["versions.package_id", "versions.number"],
                                name="fk_fixity_queue_version", ondelete="CASCADE"),
        sa.CheckConstraint("state IN ('queued', 'done')", name="ck_fixity_queue_state"),
    )
    op.execute(
        "INSERT INTO fixity_queue (package_id, number, location, tier, state, queued_at) "
        "SELECT package_id, number, location, 'deep', 'queued', queued_deep_at "
        "FROM fixity_state WHERE queued_deep_at IS NOT NULL "
        "UNION ALL SELECT package_id, number, location, 'shallow', 'queued', queued_shallow_at "
        "FROM fixity_state WHERE queued_shallow_at IS NOT NULL")
    op.drop_table("fixity_backlog")
    op.drop_table("fixity_locations")
    op.drop_index("ix_fixity_state_failing", table_name="fixity_state")
    op.drop_index("ix_fixity_state_size", table_name="fixity_state")
    op.drop_index("ix_fixity_state_shallow_due", table_name="fixity_state")
    op.drop_index("ix_fixity_state_deep_due", table_name="fixity_state")
    op.drop_table("fixity_state")
