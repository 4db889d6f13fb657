"""What an archivist found weak in package search: no search by creator ("Müller"
found nothing though many records name Hans Müller), title words that had to
carry the record's accents ("zurich" found none of the Zürich records), a
collection that had to be typed with its capitals, and no count of what matched."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.unit.api_support import EXAMPLES, Api, make_api, zip_of

_ITEMS = {
    "sg-pr-0001": ("Kirchenbuch der Pfarrei Zürich, Taufen", "Hans Müller",
                   "Parish registers of Sankt Gallen", "1851"),
    "sg-pr-0002": ("Kirchenbuch der Pfarrei Zürich, Ehen", "Müller, Anna",
                   "Parish registers of Sankt Gallen", "1852"),
    "sg-pr-0003": ("Protokoll des Stadtrats von Bern", "Stadtrat von Bern",
                   "Council minutes", "1853"),
    "dk-0004": ("Breve fra Århus", "Søren Kierkegaard", "Breve", "1854"),
}


def _batch(folder: Path) -> Path:
    """A batch of three records of its own, besides the example batch."""
    folder.mkdir()
    record = json.loads((EXAMPLES / "letter-1952-03-sample" / "metadata.json").read_text())
    (folder / "batch.json").write_text(json.dumps({"submitter": "Staatsarchiv",
                                                   "schema": "archival-record/v1"}))
    for identifier, (title, creator, collection, date) in _ITEMS.items():
        item = folder / identifier
        shutil.copytree(EXAMPLES / "letter-1952-03-sample" / "scan", item / "scan")
        (item / "metadata.json").write_text(json.dumps(
            {**record, "identifier": identifier, "title": title, "date": date,
             "creators": [{"name": creator, "role": "author"}], "collection": collection},
            ensure_ascii=False))
    return folder


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Api:
    root = tmp_path_factory.mktemp("creators")
    api = make_api(root / "data")
    api.upload(zip_of(EXAMPLES), "application/zip")
    api.upload(zip_of(_batch(root / "records")), "application/zip")
    return api


def _found(api: Api, query: str) -> list[str]:
    reply = api.client.get(f"/packages?{query}", headers=api.auth("reader"))
    assert reply.status_code == 200, reply.text
    return [p["identifier"] for p in reply.json()["packages"]]


def test_a_creator_search_for_mueller_finds_the_records_hans_mueller_made(api: Api) -> None:
    assert _found(api, "creator=Müller") == ["sg-pr-0001", "sg-pr-0002"]
    assert _found(api, "creator=hans%20muller") == ["sg-pr-0001"]
    assert _found(api, "creator=stadtrat") == ["sg-pr-0003"]
    assert _found(api, "creator=Meier") == []


def test_a_name_with_its_umlaut_spelled_out_finds_the_record_mueller_finds_mueller(
        api: Api) -> None:
    """A person without ü on the keyboard types Mueller (as German does); Danish
    and Norwegian names are typed with ø and å spelled out, or plainly."""
    assert _found(api, "creator=Mueller") == ["sg-pr-0001", "sg-pr-0002"]
    assert _found(api, "creator=hans%20MUELLER") == ["sg-pr-0001"]
    assert _found(api, "title=Zuerich%20taufen") == ["sg-pr-0001"]
    assert _found(api, "creator=Soeren") == _found(api, "creator=soren") == ["dk-0004"]
    assert _found(api, "creator=Søren%20kierkegaard") == ["dk-0004"]
    assert _found(api, "title=aarhus") == _found(api, "title=arhus") == ["dk-0004"]
    assert _found(api, "creator=muel") == ["sg-pr-0001", "sg-pr-0002"]  # part of a name
    assert _found(api, "creator=ller%0Ahans") == []  # never across two spellings


def test_zurich_typed_without_its_accent_finds_the_zuerich_records(api: Api) -> None:
    assert _found(api, "title=zurich") == ["sg-pr-0001", "sg-pr-0002"]
    assert _found(api, "title=ZÜRICH%20ehen") == ["sg-pr-0002"]


def test_a_collection_typed_in_lower_case_finds_its_records(api: Api) -> None:
    assert _found(api, "collection=parish%20registers%20of%20sankt%20gallen") == [
        "sg-pr-0001", "sg-pr-0002"]
    assert _found(api, "collection=parish%20registers") == []  # the whole name


def test_a_search_says_how_many_packages_matched(api: Api) -> None:
    reply = api.client.get("/packages?title=zurich&limit=1", headers=api.auth("reader"))
    assert reply.json()["matched"] == {"count": 2, "more": False}


def test_the_console_has_a_creator_field_and_says_how_many_matched(api: Api) -> None:
    from ingest.accounts import create_account
    from tests.unit.test_identities import PASSWORD, _signed_in

    create_account(api.services.catalog, "rita", "reader", PASSWORD, api.services.clock.now())
    rita = _signed_in(api, "rita")
    page = rita.get("/console/packages")
    assert '<label for="q-creator">' in page.text
    found = rita.get("/console/packages", params={"creator": "muller"})
    assert found.status_code == 200
    assert "sg-pr-0001" in found.text and "sg-pr-0003" not in found.text
    assert "2 packages match" in found.text


@contextmanager
def migrated_from(tmp_path: Path, revision: str, keys: Callable[[str, str, str], dict[str, str]]
                  ) -> Iterator[Callable[..., list[str]]]:
    """A catalog at ``revision`` holding ``_ITEMS`` (their package rows given
    ``keys(title, creator, collection)``), migrated to the newest; yields a search
    that answers the identifiers found."""
    from ingest.access import package_query
    from ingest.models import package_id_for
    from storage.catalog import SqlCatalog
    from storage.database import create_engine_for, migrate
    from storage.tables import Package, Version
    from tests.catalog_revisions import upgrade_to

    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    engine = create_engine_for(url)
    upgrade_to(engine, [revision])
    with engine.begin() as connection:
        for identifier, (title, creator, collection, _) in _ITEMS.items():
            package_id = package_id_for(identifier)
            connection.execute(Package.__table__.insert().values(
                package_id=package_id, identifier=identifier, title=title, latest_version=1,
                **keys(title, creator, collection)))
            connection.execute(Version.__table__.insert().values(
                package_id=package_id, number=1, state="committed", identifier=identifier,
                title=title, record={"title": title, "collection": collection,
                                     "creators": [{"name": creator, "role": "author"}]},
                created_at=datetime.now(UTC), committed_at=datetime.now(UTC)))
    migrate(engine)
    engine.dispose()

    catalog = SqlCatalog.from_url(url)
    try:
        yield lambda **asked: [hit.identifier
                               for hit in catalog.search_packages(package_query(**asked)).packages]
    finally:
        catalog.engine.dispose()


def test_packages_stored_before_the_upgrade_are_found_by_creator_and_without_accents(
        tmp_path: Path) -> None:
    """Migration 0024 fills the folded keys of packages already in the catalog."""
    with migrated_from(tmp_path, "0001", lambda *_: {}) as found:
        assert found(creator="muller") == ["sg-pr-0001", "sg-pr-0002"]
        assert found(title="zurich taufen") == ["sg-pr-0001"]
        assert found(collection="COUNCIL MINUTES") == ["sg-pr-0003"]


def test_packages_stored_before_spelled_out_names_were_kept_are_found_by_them(
        tmp_path: Path) -> None:
    """Migration 0029 makes the keys of packages already in the catalog again, with
    the spelled-out forms: their keys were made by 0024's rule alone."""
    def keys_of_0024(title: str, creator: str, collection: str) -> dict[str, str]:
        return {"title_key": title.casefold(), "creators_key": f"\n{creator.casefold()}\n",
                "collection_key": collection.casefold()}

    with migrated_from(tmp_path, "0027_unused_title_index", keys_of_0024) as found:
        assert found(creator="mueller") == ["sg-pr-0001", "sg-pr-0002"]
        assert found(creator="soren") == found(creator="SOEREN") == ["dk-0004"]
        assert found(title="aarhus") == ["dk-0004"]
        assert found(title="zurich taufen") == ["sg-pr-0001"]


def test_a_rebuilt_catalog_finds_packages_by_creator(tmp_path: Path) -> None:
    """The rebuild imports each version through the catalog, which fills the keys."""
    from ingest.access import package_query
    from ingest.rebuild import rebuild_catalog
    from tests.unit.test_replication import make_services, open_archive, record

    archive = next(open_archive(tmp_path / "archive"))
    archive.ingest(metadata={**record(), "creators": [{"name": "Mao Zédong", "role": "sender"}]})
    fresh = make_services(tmp_path / "fresh", replicas=archive.services.replicas,
                          store=archive.primary)
    rebuild_catalog(fresh)

    page = fresh.catalog.search_packages(package_query(creator="mao ZEDONG"))
    assert [hit.title for hit in page.packages] == ["Telegram, 21 June 1951"]
    assert (page.matched, page.matched_more) == (1, False)
