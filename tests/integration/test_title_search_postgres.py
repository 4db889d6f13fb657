"""Title words and creators are found through trigram indexes on PostgreSQL, not by
reading every package: the plan is asked of the very statement the catalog sends.
And what the archivist typed finds on PostgreSQL what it finds on SQLite: no
accents, other capitals, a part of a creator's name."""

from __future__ import annotations

from pathlib import Path

from ingest.access import package_query
from storage.catalog import SqlCatalog
from tests.query_plans import postgres_plans, statements_run_by


def _plans(pg_url: str, **asked: str) -> dict[str, str]:
    """The plan of each statement a search sends, by statement."""
    catalog = SqlCatalog.from_url(pg_url)
    try:
        seen = statements_run_by(catalog, lambda: catalog.search_packages(package_query(**asked)))
        searches = [(statement, parameters) for statement, parameters in seen
                    if "FROM packages" in statement]
        return dict(zip([statement for statement, _ in searches], postgres_plans(catalog, searches),
                        strict=True))
    finally:
        catalog.engine.dispose()


def test_a_title_word_search_can_use_the_trigram_index(pg_url: str) -> None:
    plans = _plans(pg_url, title="Zürich")
    assert plans and all("ix_packages_title_key_trgm" in plan for plan in plans.values()), plans


def test_a_creator_search_can_use_the_trigram_index(pg_url: str) -> None:
    plans = _plans(pg_url, creator="Müller")
    assert plans and all("ix_packages_creators_key_trgm" in plan for plan in plans.values()), plans


def test_a_collection_search_can_use_its_index(pg_url: str) -> None:
    plans = _plans(pg_url, collection="Parish registers of Sankt Gallen")
    assert plans and all("ix_packages_collection_key" in plan for plan in plans.values()), plans


def test_mueller_zurich_and_a_lower_case_collection_are_found_on_postgresql(
        pg_url: str, tmp_path: Path) -> None:
    from tests.unit.api_support import EXAMPLES, make_api, zip_of
    from tests.unit.test_search_by_creator_and_accents import _batch, _found

    api = make_api(tmp_path / "data", STRONGROOM_DATABASE_URL=pg_url)
    try:
        api.upload(zip_of(EXAMPLES), "application/zip")
        api.upload(zip_of(_batch(tmp_path / "records")), "application/zip")
        assert _found(api, "creator=hans%20muller") == ["sg-pr-0001"]
        assert _found(api, "creator=M%C3%BCller") == ["sg-pr-0001", "sg-pr-0002"]
        assert _found(api, "title=ZURICH") == ["sg-pr-0001", "sg-pr-0002"]
        assert _found(api, "collection=parish%20registers%20of%20sankt%20gallen") == [
            "sg-pr-0001", "sg-pr-0002"]
        reply = api.client.get("/packages?title=zurich&limit=1", headers=api.auth("reader"))
        assert reply.json()["matched"] == {"count": 2, "more": False}
    finally:
        api.services.catalog.engine.dispose()  # type: ignore[attr-defined]
