"""Damage found on the way out is a check of its own tier, ``delivery``, not a deep one.

A delivery refused because the bytes read did not match was recorded in
``fixity_checks`` as a failed *deep* check: reports showed a deep check that
never ran, and it moved the copy's deep deadline (and shallow interval) as a
deep check does. Now (``ingest.fixity_policy.DELIVERY``):

- ``fixity_checks.tier`` may be ``delivery`` (its check constraint);
- ``fixity_state.delivery_failed_at`` and ``delivery_failed_check_id`` note the
  last delivery refused for damage since the copy's last deep check: the copy
  fails until a deep check after it, with its deadline and coverage left to
  its deep checks; ``ix_fixity_state_failing`` takes such copies in too;
- the deliveries recorded before are found by their audit events (a fixity
  check event whose detail says tier "delivery", matched by package, version,
  location and moment) and relabelled ``delivery``; the state of each copy they
  touched is worked out again from its checks (last deep check, last good one,
  deadlines, a delivery failure since), and the backlog of deep checks from the
  rows. The audit events are not touched: they said "delivery" all along.

Revision ID: 0025_delivery_checks
Revises: 0005 (the fixity state)
Create Date: 2026-12-07
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0025_delivery_checks"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = ("delivery_checks",)
depends_on: str | Sequence[str] | None = None

OLD_FAILING = "last_deep_outcome = 'failed' OR last_shallow_outcome = 'failed'"
FAILING = ("last_deep_outcome = 'failed' OR last_shallow_outcome = 'failed'"
           " OR delivery_failed_check_id IS NOT NULL")
#: ``ingest.models.EventType.FIXITY_CHECK`` at this revision
FIXITY_CHECK = "fixity check"

_checks = sa.table("fixity_checks", sa.column("check_id", sa.Integer),
                   sa.column("package_id", sa.String), sa.column("number", sa.Integer),
                   sa.column("location", sa.Text), sa.column("tier", sa.String),
                   sa.column("checked_at", sa.DateTime(timezone=True)),
                   sa.column("outcome", sa.String))
_state = sa.table("fixity_state", sa.column("package_id", sa.String),
                  sa.column("number", sa.Integer), sa.column("location", sa.Text),
                  sa.column("made_at", sa.DateTime(timezone=True)),
                  sa.column("deep_base_at", sa.DateTime(timezone=True)),
                  sa.column("shallow_base_at", sa.DateTime(timezone=True)),
                  sa.column("last_deep_at", sa.DateTime(timezone=True)),
                  sa.column("last_deep_ok_at", sa.DateTime(timezone=True)),
                  sa.column("last_deep_check_id", sa.Integer),
                  sa.column("last_deep_outcome", sa.String),
                  sa.column("last_shallow_at", sa.DateTime(timezone=True)),
                  sa.column("delivery_failed_at", sa.DateTime(timezone=True)),
                  sa.column("delivery_failed_check_id", sa.Integer))
_events = sa.table("events", sa.column("event_type", sa.String),
                   sa.column("package_id", sa.String), sa.column("version", sa.Integer),
                   sa.column("occurred_at", sa.DateTime(timezone=True)),
                   sa.column("detail", sa.JSON))


def upgrade() -> None:
    with op.batch_alter_table("fixity_checks") as batch:
        batch.drop_constraint("ck_fixity_checks_tier", type_="check")
        batch.create_check_constraint("ck_fixity_checks_tier",
                                      "tier IN ('deep', 'shallow', 'delivery')")
    op.drop_index("ix_fixity_state_failing", table_name="fixity_state")
    with op.batch_alter_table("fixity_state") as batch:
        batch.add_column(sa.Column("delivery_failed_at", sa.DateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column("delivery_failed_check_id", sa.Integer(), nullable=True))
    op.create_index("ix_fixity_state_failing", "fixity_state", ["location"],
                    postgresql_where=sa.text(FAILING), sqlite_where=sa.text(FAILING))
    copies = _relabel_deliveries()
    for copy in sorted(copies):
        _restate(*copy)
    if copies:
        _rebuild_backlog()


def _utc(moment: datetime) -> datetime:
    """A moment as read back from either database, as naive UTC, to compare."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _relabel_deliveries() -> set[tuple[str, int, str]]:
    """Relabel the deep checks that were refused deliveries; return the copies."""
    bind = op.get_bind()
    deep_failures: dict[tuple[str, int, str, datetime], list[int]] = {}
    for row in bind.execute(sa.select(_checks.c.check_id, _checks.c.package_id,
                                      _checks.c.number, _checks.c.location,
                                      _checks.c.checked_at)
                            .where(_checks.c.tier == "deep", _checks.c.outcome == "failed")):
        key = (row.package_id, row.number, row.location, _utc(row.checked_at))
        deep_failures.setdefault(key, []).append(row.check_id)
    if not deep_failures:
        return set()
    relabel: list[int] = []
    copies: set[tuple[str, int, str]] = set()
    events = bind.execute(
        sa.select(_events.c.package_id, _events.c.version, _events.c.occurred_at,
                  _events.c.detail)
        .where(_events.c.event_type == FIXITY_CHECK,
               sa.cast(_events.c.detail, sa.Text).like("%delivery%")))
    for event in events:
        detail: Any = event.detail
        if isinstance(detail, str):
            detail = json.loads(detail)
        if not isinstance(detail, dict) or detail.get("tier") != "delivery":
            continue
        key = (event.package_id, event.version, detail.get("location"), _utc(event.occurred_at))
        ids = deep_failures.get(key)
        if ids:
            relabel.append(ids.pop(0))  # one check per event
            copies.add((event.package_id, event.version, detail["location"]))
    if relabel:
        bind.execute(_checks.update().where(_checks.c.check_id.in_(relabel))
                     .values(tier="delivery"))
    return copies


def _restate(package_id: str, number: int, location: str) -> None:
    """Work one copy's row out again from its recorded checks."""
    bind = op.get_bind()
    copy = sa.and_(_checks.c.package_id == package_id, _checks.c.number == number,
                   _checks.c.location == location)
    row = bind.execute(sa.select(_state.c.made_at, _state.c.last_shallow_at).where(
        _state.c.package_id == package_id, _state.c.number == number,
        _state.c.location == location)).one_or_none()
    if row is None:
        return
    latest = (_checks.c.checked_at.desc(), _checks.c.check_id.desc())
    deep = bind.execute(sa.select(_checks.c.check_id, _checks.c.checked_at, _checks.c.outcome)
                        .where(copy, _checks.c.tier == "deep").order_by(*latest)
                        .limit(1)).one_or_none()
    deep_ok = bind.execute(sa.select(sa.func.max(_checks.c.checked_at))
                           .where(copy, _checks.c.tier == "deep",
                                  _checks.c.outcome == "ok")).scalar()
    refused = sa.select(_checks.c.check_id, _checks.c.checked_at).where(
        copy, _checks.c.tier == "delivery", _checks.c.outcome == "failed")
    if deep is not None:
        refused = refused.where(_checks.c.checked_at >= deep.checked_at)
    delivery = bind.execute(refused.order_by(*latest).limit(1)).one_or_none()
    last_deep_at = deep.checked_at if deep is not None else None
    shallow_base = max(_utc(t) for t in (row.made_at, row.last_shallow_at, last_deep_at) if t)
    bind.execute(_state.update().where(
        _state.c.package_id == package_id, _state.c.number == number,
        _state.c.location == location).values(
            last_deep_at=last_deep_at, last_deep_ok_at=deep_ok,
            last_deep_check_id=deep.check_id if deep is not None else None,
            last_deep_outcome=deep.outcome if deep is not None else None,
            deep_base_at=last_deep_at or row.made_at,
            shallow_base_at=_aware(shallow_base),
            delivery_failed_at=delivery.checked_at if delivery is not None else None,
            delivery_failed_check_id=delivery.check_id if delivery is not None else None))


def _aware(moment: datetime) -> datetime:
    """Naive UTC as each database keeps it: SQLite the UTC wall time."""
    if op.get_bind().dialect.name == "sqlite":
        return moment
    return moment.replace(tzinfo=UTC)


def _hour(column: str) -> str:
    """Whole hours since 1970 of a time column, in this database's SQL (as 0005)."""
    if op.get_bind().dialect.name == "postgresql":
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM {column}) / 3600) AS BIGINT)"
    return f"(CAST(strftime('%s', substr({column}, 1, 19)) AS INTEGER) / 3600)"


def _rebuild_backlog() -> None:
    """The bytes of each location's copies by the hour of their deep baseline, anew."""
    op.execute("DELETE FROM fixity_backlog")
    op.execute(
        "INSERT INTO fixity_backlog (location, hour, copies, octets) "
        f"SELECT location, {_hour('deep_base_at')}, COUNT(*), SUM(octets) FROM fixity_state "
        f"GROUP BY location, {_hour('deep_base_at')}")


def downgrade() -> None:
    # The schema before knew no delivery tier: its checks become the failed deep
    # checks it recorded them as.
    op.execute("UPDATE fixity_checks SET tier = 'deep' WHERE tier = 'delivery'")
    op.drop_index("ix_fixity_state_failing", table_name="fixity_state")
    with op.batch_alter_table("fixity_state") as batch:
        batch.drop_column("delivery_failed_check_id")
        batch.drop_column("delivery_failed_at")
    op.create_index("ix_fixity_state_failing", "fixity_state", ["location"],
                    postgresql_where=sa.text(OLD_FAILING), sqlite_where=sa.text(OLD_FAILING))
    with op.batch_alter_table("fixity_checks") as batch:
        batch.drop_constraint("ck_fixity_checks_tier", type_="check")
        batch.create_check_constraint("ck_fixity_checks_tier", "tier IN ('deep', 'shallow')")
