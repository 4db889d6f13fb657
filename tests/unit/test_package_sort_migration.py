"""Packages stored before search had orders are found in every order after the
catalog is upgraded (migration 0011 fills their sort keys from their latest version)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingest.access import PackageQuery, PackageSort
from ingest.models import package_id_for
from storage.catalog import SqlCatalog
from storage.database import create_engine_for, migrate
from storage.tables import Package, Version
from tests.catalog_revisions import upgrade_to

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def test_packages_of_an_older_catalog_are_found_in_every_order_after_the_upgrade(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    engine = create_engine_for(url)
    upgrade_to(engine, ["0001"])
    packages = [("b-1", ["Banana letter", "apple letter"], ["1952", "1951-06/1951-08"]),
                ("a-1", ["Cherry telegram"], ["1953-01-02"]),
                ("c-1", ["Date report"], [None])]
    with engine.begin() as connection:
        for n, (identifier, titles, dates) in enumerate(packages):
            package_id = package_id_for(identifier)
            connection.execute(Package.__table__.insert().values(
                package_id=package_id, identifier=identifier, title=titles[-1],
                latest_version=len(titles)))
            for number, (title, date) in enumerate(zip(titles, dates, strict=True), start=1):
                record = {"title": title} | ({"date": date} if date else {})
                made = T0 + timedelta(days=n, hours=number)
                connection.execute(Version.__table__.insert().values(
                    package_id=package_id, number=number, state="committed", identifier=identifier,
                    title=title, record=record, created_at=made, committed_at=made))
    migrate(engine)
    engine.dispose()

    catalog = SqlCatalog.from_url(url)
    try:
        def order(sort: PackageSort, **asked: str) -> list[str]:
            page = catalog.search_packages(PackageQuery(**asked), sort=sort)
            return [hit.identifier for hit in page.packages]

        assert order(PackageSort.TITLE) == ["b-1", "a-1", "c-1"]          # apple, Cherry, Date
        assert order(PackageSort.DATE) == ["c-1", "b-1", "a-1"]           # no date, 1951-06/…, 1953
        assert order(PackageSort.NEWEST) == ["c-1", "a-1", "b-1"]
        assert order(PackageSort.DATE, date_from="1951-08", date_to="1951-08") == ["b-1"]
    finally:
        catalog.engine.dispose()
