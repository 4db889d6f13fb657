"""P6: the catalog with a million packages in PostgreSQL (rows generated in SQL).

Rows are made with ``INSERT … SELECT generate_series`` in a throwaway database
migrated by Strongroom itself; the queries are timed through ``SqlCatalog``,
the same code the CLI and workers use. The fixity state is generated too: one
copy per version in one location, two thirds of them deep-checked at some
moment of the last 85 days (one in a thousand of those failed), half
shallow-checked in the last week, with a ``fixity_checks`` row behind every
last check and the backlog summed from the rows, as the catalog keeps it.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import islice, takewhile
from typing import Any

from bench.measures import Log, Plan, summary

# Package i was made by "Creator <i mod 5000>" and, one in a thousand, by Hans Müller
# too; it belongs to "Collection <i mod 100>". The keys are as ``ingest.access``
# folds them.
_PACKAGES = """
INSERT INTO packages (package_id, identifier, title, latest_version, sort_title, sort_date,
                      date_end, latest_at, title_key, creators_key, collection_key)
SELECT md5('p' || i)::uuid::text, 'bench-' || lpad(i::text, 8, '0'), 'Benchmark package ' || i, 1,
       'benchmark package ' || i, '1951-06', '1951-06', now() - i * interval '1 second',
       'benchmark package ' || i,
       E'\\ncreator ' || (i % 5000) || CASE WHEN i % 1000 = 7 THEN E'\\nhans muller' ELSE '' END
       || E'\\n',
       'collection ' || (i % 100)
FROM generate_series(1, :n) AS i
"""
_VERSIONS = """
INSERT INTO versions (package_id, number, state, identifier, title, record, created_at,
                      committed_at, last_fixity_at, last_fixity_outcome)
SELECT md5('p' || i)::uuid::text, 1, 'committed', 'bench-' || lpad(i::text, 8, '0'),
       'Benchmark package ' || i,
       json_build_object('identifier', 'bench-' || lpad(i::text, 8, '0'),
                         'title', 'Benchmark package ' || i, 'date', '1951-06',
                         'collection', 'Collection ' || (i % 100),
                         'creators', json_build_array(json_build_object(
                             'name', 'Creator ' || (i % 5000), 'role', 'author'))),
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
#: the one location of the generated copies
LOCATION = "file:///bench-objects"
# Copy i: deep-checked when i % 3 <> 0, at now() minus (i * 7919 mod 85 days)
# seconds; that check failed when i % 1000 = 1; shallow-checked when i is even.
_DEEP_AT = "(now() - ((i::bigint * 7919) % (85 * 86400)) * interval '1 second')"
_SHALLOW_AT = "(now() - (i % (7 * 86400)) * interval '1 second')"
_CHECKS = f"""
INSERT INTO fixity_checks (check_id, package_id, number, location, tier, checked_at, outcome,
                           findings)
SELECT i, md5('p' || i)::uuid::text, 1, '{LOCATION}', 'deep', {_DEEP_AT},
       CASE WHEN i % 1000 = 1 THEN 'failed' ELSE 'ok' END,
       CASE WHEN i % 1000 = 1
            THEN '[{{"code": "FIXITY_MISMATCH", "path": "data/page-01.tif"}}]'::json
            ELSE '[]'::json END
FROM generate_series(1, :n) AS i WHERE i % 3 <> 0
UNION ALL
SELECT :n + i, md5('p' || i)::uuid::text, 1, '{LOCATION}', 'shallow', {_SHALLOW_AT}, 'ok',
       '[]'::json
FROM generate_series(1, :n) AS i WHERE i % 2 = 0
"""
_STATE = f"""
INSERT INTO fixity_state (package_id, number, location, octets, made_at, deep_base_at,
                          shallow_base_at, last_deep_at, last_deep_ok_at, last_deep_check_id,
                          last_deep_outcome, last_shallow_at, last_shallow_check_id,
                          last_shallow_outcome)
SELECT package_id, 1, '{LOCATION}', 8192, made_at, COALESCE(deep_at, made_at),
       GREATEST(made_at, deep_at, shallow_at), deep_at,
       CASE WHEN i % 1000 = 1 THEN NULL ELSE deep_at END,
       CASE WHEN deep_at IS NULL THEN NULL ELSE i END,
       CASE WHEN deep_at IS NULL THEN NULL WHEN i % 1000 = 1 THEN 'failed' ELSE 'ok' END,
       shallow_at, CASE WHEN shallow_at IS NULL THEN NULL ELSE :n + i END,
       CASE WHEN shallow_at IS NULL THEN NULL ELSE 'ok' END
FROM (SELECT i, md5('p' || i)::uuid::text AS package_id,
             now() - i * interval '1 second' AS made_at,
             CASE WHEN i % 3 <> 0 THEN {_DEEP_AT} END AS deep_at,
             CASE WHEN i % 2 = 0 THEN {_SHALLOW_AT} END AS shallow_at
      FROM generate_series(1, :n) AS i) AS copies
"""
_BACKLOG = """
INSERT INTO fixity_backlog (location, hour, copies, octets)
SELECT location, CAST(FLOOR(EXTRACT(EPOCH FROM deep_base_at) / 3600) AS BIGINT), COUNT(*),
       SUM(octets)
FROM fixity_state GROUP BY 1, 2
"""
_LOCATIONS = f"INSERT INTO fixity_locations (location, added_at) VALUES ('{LOCATION}', now())"

#: figures held to the target; the others are there to show what the rest costs
TARGETED = ("lookup by identifier (resolve + get_version)", "one page of the listing",
            "one page of a title-word search", "one page of a creator search",
            "one page of a collection search",
            "next due for fixity (the first 100 checks enqueue_due plans)")


def generate(catalog: Any, packages: int) -> None:
    """Fill a freshly migrated PostgreSQL catalog with ``packages`` packages, their
    files and their fixity state (see the module's text), then ANALYZE."""
    from sqlalchemy import text

    with catalog._write() as session:
        for statement in (_PACKAGES, _VERSIONS, _FILES, _CHECKS, _STATE, _BACKLOG, _LOCATIONS):
            session.execute(text(statement), {"n": packages})
    with catalog._write() as session:
        session.execute(text("ANALYZE"))


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
        generate(catalog, plan.catalog_packages)
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
            figures.update(_search_figures(catalog))
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
        figures.update(_fixity_figures(catalog))
        catalog.engine.dispose()  # dropdb needs no open connection
    finally:
        dropdb(database)
    met = all(figures[name]["median"] < 20 for name in TARGETED if name in figures)
    notes.append("the target applies to lookup, page, the searches by a rare title word, a "
                 "creator and a collection, and next due; a title word every package holds, "
                 "every due deep check and the report's counts are shown for what they cost")
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


def _search_figures(catalog: Any) -> dict[str, Any]:
    """One page (50) of a search by title word, creator and collection, each with
    its count of what matched (up to ``COUNT_LIMIT``): a rare title word, a name a
    thousandth of the packages hold, a collection a hundredth do; and, for what it
    costs, the rare word with one every title holds, whose trigrams the index
    must read for every package."""
    from ingest.access import package_query

    searches = {"one page of a title-word search": package_query(title="4242"),
                "one page of a search by a rare and a common title word":
                    package_query(title="PACKAGE 4242"),
                "one page of a creator search": package_query(creator="Müller"),
                "one page of a collection search": package_query(collection="COLLECTION 42")}
    return {name: summary(_timed_ms(lambda q=query: catalog.search_packages(q, limit=50), 30),
                          "ms")
            for name, query in searches.items()}


def _fixity_figures(catalog: Any) -> dict[str, Any]:
    """What the fixity scheduler and the report read, the way ``enqueue_due`` and
    ``strongroom fixity report`` read it (default policy: a 90-day window, no
    budget, a shallow check a week)."""
    from ingest.fixity_due import plan_due
    from ingest.fixity_policy import DEEP, FixityPolicy, tally_cutoffs

    policy = FixityPolicy()
    now = datetime.now(UTC)
    locations = [LOCATION]

    def next_due() -> None:
        list(islice(plan_due(catalog, locations, policy, now), 100))

    def every_deep_check() -> None:
        sum(1 for _ in takewhile(lambda p: p.tier == DEEP,
                                 plan_due(catalog, locations, policy, now)))

    def report() -> None:
        verified_since, due_before = tally_cutoffs(policy, now)
        catalog.fixity_tally(locations, verified_since, due_before)
        list(islice(takewhile(lambda c: c.deep_since < due_before,
                              catalog.fixity_oldest(locations, stale_before=None)), 1000))
        catalog.fixity_failures(locations, limit=1000)

    return {
        "next due for fixity (the first 100 checks enqueue_due plans)":
            summary(_timed_ms(next_due, 30), "ms"),
        "every deep check due today (the whole run's deep plan)":
            summary(_timed_ms(every_deep_check, 3), "ms"),
        "fixity report (counts, first 1,000 overdue and failures)":
            summary(_timed_ms(report, 5), "ms"),
    }
