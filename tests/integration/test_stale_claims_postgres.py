"""A claim left by a crashed item is taken over on PostgreSQL too
(``tests/unit/test_stale_claims.py``, on a real server)."""

from __future__ import annotations

from pathlib import Path

from tests.unit.test_stale_claims import take_over_a_crashed_claim


def test_claim_of_a_crashed_item_is_taken_over_on_postgres(pg_url: str, tmp_path: Path) -> None:
    take_over_a_crashed_claim(pg_url, tmp_path)
