"""A deep check is also the last look at what a shallow check sees.

A copy's row kept its last shallow check apart from its deep ones, and a copy
whose last shallow check failed stayed failing (``strongroom locations``, the
fixity report, retirement) after a repair or a fill had mended it and a deep
check had found it whole, until the next shallow check, days later. Since this
revision a deep check later than the last shallow one is taken as that look too
(``storage.catalog_fixity_state``); here the rows already kept are brought to
the same rule: where the last deep check is the later, it is the last look.

Revision ID: 0028_deep_check_last_look
Revises: 0005
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0028_deep_check_last_look"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("UPDATE fixity_state SET last_shallow_at = last_deep_at, "
               "last_shallow_check_id = last_deep_check_id, "
               "last_shallow_outcome = last_deep_outcome "
               "WHERE last_deep_at IS NOT NULL "
               "AND (last_shallow_at IS NULL OR last_deep_at >= last_shallow_at)")


def downgrade() -> None:
    # The shallow checks before are still in fixity_checks; the rows would be
    # computed from them again by the release before, which took them apart.
    pass
