"""Objects holding the same bytes are found by digest through an index on
PostgreSQL (``ix_files_sha256``), not by reading every file row: the plan is
asked of the very statements the catalog sends (``objects_with_digests``, which
``strongroom repair`` asks for each damaged file)."""

from __future__ import annotations

from storage.catalog import SqlCatalog
from tests.query_plans import postgres_plans, statements_run_by


def test_objects_with_the_same_digests_are_found_through_the_digest_index(pg_url: str) -> None:
    catalog = SqlCatalog.from_url(pg_url)
    try:
        seen = statements_run_by(catalog, lambda: catalog.objects_with_digests(
            1234, "a" * 64, "b" * 128, package_id="p-1"))
        asked = [(sql, params) for sql, params in seen if "FROM files" in sql]
        assert len(asked) == 2, seen
        [others] = postgres_plans(catalog, [(sql, params) for sql, params in asked if "!=" in sql])
    finally:
        catalog.engine.dispose()
    assert "ix_files_sha256" in others, others
    assert "Seq Scan on files" not in others, others
