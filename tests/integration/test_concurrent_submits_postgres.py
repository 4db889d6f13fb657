"""Two submits of the same changed item make one new version on PostgreSQL too
(the race of ``tests/unit/test_concurrent_submits.py``, on a real server)."""

from __future__ import annotations

from pathlib import Path

from tests.unit.test_concurrent_submits import assert_one_new_version, race_two_submits_of_one_change


def test_two_submits_of_one_change_on_postgres_make_one_version(pg_url: str, tmp_path: Path) -> None:
    services, results = race_two_submits_of_one_change(pg_url, tmp_path)
    assert_one_new_version(services, results, tmp_path / "objects")
    services.catalog.engine.dispose()
