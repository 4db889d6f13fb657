"""P6: the catalog with a million packages in PostgreSQL (rows generated in SQL).

Rows are made with ``INSERT … SELECT generate_series`` in a throwaway database
migrated by Strongroom itself; the queries are timed through ``SqlCatalog``,
the same code the CLI and workers use.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from typing import Any

from bench.measures import Log, Plan, summary

_PACKAGES = """
INSERT INTO packages (package_id, identifier, title, latest_version)
SELECT md5('p' || i)::uuid::text, 'bench-' || lpad(i::text, 8, '0'), 'Benchmark package ' || i, 1
FROM generate_series(1, :n) AS i
"""
_VERSIONS = """
INSERT INTO versions (package_id, number, state, identifier, title, record, created_at,
                      committed_at, last_fixity_at, last_fixity_outcome)
SELECT md5('p' || i)::uuid::text, 1, 'committed', 'bench-' || lpad(i::text, 8, '0'),
       'Benchmark package ' || i,
       json_build_object('identifier', 'bench-' || lpad(i::text, 8, '0'),
                         'title', 'Benchmark package ' || i, 'date', '1951-06'),
       now() - i * interval '1 second', now() - i * interval '1 second',
       now() - (i % 500000) * interval '1 minute', 'success'
FROM generate_series(1, :n) AS i
"""
_FILES = """
INSERT INTO files (package_id, number, path, size, sha256, sha512)
SELECT md5('p' || i)::uuid::text, 1, 'data/page-01.tif', 8192,
       encode(sha256(i::text::bytea), 'hex'), encode(sha512(i::text::bytea), 'hex')
FROM generate_series(1, :n) AS i
"""


def _timed_ms(action: Callable[[], Any], repeats: int) -> list[float]:
    values = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        values.append((time.perf_counter() - start) * 1000)
    return values


def p6_catalog(plan: Plan, log: Log) -> dict[str, Any]:
    """Lookup by identifier, one listing page, next due for fixity on N packages."""
    from sqlalchemy import text

    from storage.catalog import SqlCatalog
    from tests.integration.services import (
        createdb,
        dropdb,
        ensure_postgres,
        postgres_url,
    )

    ensure_postgres()
    database = f"strongroom_bench_{uuid.uuid4().hex[:12]}"
    createdb(database)
    try:
        catalog = SqlCatalog.from_url(postgres_url(database), migrate=True)
        start = time.perf_counter()
        with catalog._write() as session:
            for statement in (_PACKAGES, _VERSIONS, _FILES):
                session.execute(text(statement), {"n": plan.catalog_packages})
        with catalog._write() as session:
            session.execute(text("ANALYZE"))
        log(f"  P6: {plan.catalog_packages} packages generated in "
            f"{time.perf_counter() - start:.1f} s")
        rng = random.Random(6)
        wanted = [f"bench-{rng.randint(1, plan.catalog_packages):08d}" for _ in range(50)]
        lookups = iter(wanted * 2)

        def lookup() -> None:
            package_id = catalog.resolve_package(next(lookups))
            catalog.get_version(package_id)

        figures: dict[str, Any] = {"lookup by identifier (resolve + get_version)":
                                   summary(_timed_ms(lookup, 50), "ms")}
        notes = []
        paged = _paged_listing(catalog)
        if paged is not None:
            figures["one page of the listing"] = summary(_timed_ms(paged, 30), "ms")
        else:
            figures["list_packages() (no paging: every package)"] = summary(
                _timed_ms(catalog.list_packages, 1), "ms")
            notes.append("the catalog has no paged listing: list_packages() returns every package")

            def page_in_sql() -> None:
                with catalog._read() as session:
                    session.execute(text(
                        "SELECT package_id, identifier, title, latest_version FROM packages "
                        "WHERE latest_version IS NOT NULL AND identifier > :after "
                        "ORDER BY identifier LIMIT 50"), {"after": "bench-00500000"}).all()
            figures["one page in SQL (keyset, 50 rows; what a paged listing would cost)"] = \
                summary(_timed_ms(page_in_sql, 30), "ms")
        due = _next_due(catalog)
        if due is not None:
            figures["next due for fixity (fixity_copies: every copy's state)"] = summary(
                _timed_ms(due, 1), "ms")
            notes.append("fixity_copies reads every committed version; the fixity_checks "
                         "table is empty here, so this is its lower bound")
        else:
            notes.append("next due for fixity not measured: the catalog has no fixity schedule yet")
        catalog.engine.dispose()  # dropdb needs no open connection
    finally:
        dropdb(database)
    met = all(fig["median"] < 20 for fig in figures.values())
    return {"id": "P6", "title": f"catalog of {plan.catalog_packages:,} packages in PostgreSQL",
            "figures": figures, "ratios": {}, "target": "each < 20 ms median", "met": met,
            "notes": notes}


def _paged_listing(catalog: Any) -> Callable[[], Any] | None:
    """One page (50) of the package listing, if the catalog can list by pages."""
    search = getattr(catalog, "search_packages", None)
    if search is None:
        return None
    from storage.catalog_access import PackageQuery

    return lambda: search(PackageQuery(), limit=50)


def _next_due(catalog: Any) -> Callable[[], Any] | None:
    """What the fixity scheduler reads to decide what is due, if the catalog has it."""
    copies = getattr(catalog, "fixity_copies", None)
    if copies is None:
        return None
    return lambda: copies(["file:///bench-objects"])
