"""Damage found on the way out is recorded as what it was: a refused delivery, not a
deep check.

A delivery that is refused because the bytes read did not match is evidence
that the copy is damaged: the copy fails, the report lists it, ``show`` says the
version failed, until a deep check or a repair finds it whole again. But it is
no deep check: it did not re-read every file of the copy against both digests
and the sealed manifests, so the schedule's deep deadline still counts from the
copy's last real deep check, and the coverage figure never counts it as one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.findings import Finding
from ingest.fixity_audit import verify_packages, verify_version
from ingest.fixity_policy import FixityPolicy
from ingest.fixity_report import fixity_report
from ingest.local_targets import fetch_to_folder
from ingest.services import Services
from tests.unit.test_fixity_schedule import AT, DAY, at, object_path, package
from tests.unit.test_fixity_schedule import services as stored  # noqa: F401 (the fixture)

DELIVERY = "delivery"
POLICY = FixityPolicy(window=90 * DAY, shallow_interval=0 * DAY)
VERIFIED = AT + 10 * DAY  # every copy deep-checked, found whole
FETCHED = AT + 20 * DAY  # the primary copy of package(0) damaged, and fetched


@pytest.fixture
def refused(stored: Services, tmp_path: Path) -> Iterator[Services]:  # noqa: F811
    assert all(c.status == "ok" for c in verify_packages(at(stored, VERIFIED)))
    path = object_path(stored, 0, f"{package()}/v1/data/scan/page-01.txt")
    data = bytearray(path.read_bytes())
    data[3] ^= 0x01
    path.write_bytes(bytes(data))
    _, findings = fetch_to_folder(at(stored, FETCHED), package(), 1, tmp_path / "out")
    assert [f.code for f in findings] == ["FIXITY_MISMATCH"]
    yield stored


def test_a_refused_delivery_is_recorded_as_a_delivery_check_not_a_deep_one(
        refused: Services) -> None:
    primary = refused.store.location
    recorded = refused.catalog.fixity_checks(since=FETCHED)
    assert [(c.location, c.tier, c.outcome) for c in recorded] == [(primary, DELIVERY, "failed")]

    # the damage is news: the copy fails, in the report (as a delivery) and in `show`
    report = fixity_report(at(refused, FETCHED + DAY), POLICY, reconcile_stores=False).to_dict()
    assert [(c["package_id"], c["location"], c["tier"]) for c in report["failures"]] == [
        (package(), primary, DELIVERY)]
    assert report["status"] == "failed"
    assert report["coverage"]["covered"] == 1  # package(1) only
    assert refused.catalog.get_version(package(), 1).last_fixity_outcome == "failed"
    assert (package(), 1) in refused.catalog.failing_copies(primary)

    # but it was no deep check: the copy's deep deadline counts from VERIFIED still
    late = fixity_report(at(refused, VERIFIED + 91 * DAY), POLICY,
                         reconcile_stores=False).to_dict()
    overdue = {(o["package_id"], o["location"]): o for o in late["overdue"]}
    assert overdue[(package(), primary)]["last_deep"] == VERIFIED.isoformat()


def test_a_deep_check_after_a_refused_delivery_has_the_last_word(refused: Services) -> None:
    primary = refused.store.location
    path = object_path(refused, 0, f"{package()}/v1/data/scan/page-01.txt")
    data = bytearray(path.read_bytes())
    data[3] ^= 0x01  # put right behind the service's back: the next deep check finds it whole
    path.write_bytes(bytes(data))
    assert verify_version(at(refused, FETCHED + DAY), package(), 1, primary).findings == ()
    report = fixity_report(at(refused, FETCHED + 2 * DAY), POLICY,
                           reconcile_stores=False).to_dict()
    assert report["failures"] == [] and report["coverage"]["covered"] == 2
    assert refused.catalog.get_version(package(), 1).last_fixity_outcome == "ok"
    assert refused.catalog.failing_copies(primary) == set()


# --------------------------------------------------------------------------- the migration


def test_the_migration_relabels_deliveries_recorded_as_deep_checks_and_restores_the_deadline(
        tmp_path: Path) -> None:
    deliveries_recorded_as_deep_are_relabelled(f"sqlite:///{tmp_path / 'catalog.db'}")


def deliveries_recorded_as_deep_are_relabelled(url: str) -> None:
    """A catalog from before the delivery tier, where a refused delivery of one copy
    was recorded as a failed deep check after a good deep check: upgraded, the
    check is a delivery, the copy still fails, and its deep deadline counts from
    the good deep check again. (``url``: an empty database; PostgreSQL's run is in
    tests/integration/test_fixity_state_postgres.py.)"""
    from storage.catalog import SqlCatalog
    from storage.database import create_engine_for, known_revisions, migrate
    from storage.tables import Event, File, Package, Version
    from storage.tables_fixity import FixityBacklog, FixityCheck, FixityLocation, FixityState
    from tests.catalog_revisions import upgrade_to

    engine = create_engine_for(url)
    upgrade_to(engine, sorted(known_revisions()[1] - {"0025_delivery_checks"}))
    location, made = "file:///primary", AT
    old_state = {c.name for c in FixityState.__table__.c} - {"delivery_failed_at",
                                                            "delivery_failed_check_id"}
    with engine.begin() as connection:
        connection.execute(Package.__table__.insert().values(
            package_id=package(), identifier="letter-1", latest_version=1))
        connection.execute(Version.__table__.insert().values(
            package_id=package(), number=1, state="committed", identifier="letter-1",
            created_at=made, committed_at=made, last_fixity_at=FETCHED,
            last_fixity_outcome="failed"))
        connection.execute(File.__table__.insert().values(
            package_id=package(), number=1, path="data/a", size=500, sha256="a" * 64,
            sha512="b" * 128))
        connection.execute(FixityLocation.__table__.insert().values(location=location,
                                                                    added_at=made))
        for check_id, tier, at, outcome in ((1, "deep", VERIFIED, "ok"),
                                            (2, "deep", FETCHED, "failed")):
            connection.execute(FixityCheck.__table__.insert().values(
                check_id=check_id, package_id=package(), number=1, location=location, tier=tier,
                checked_at=at, outcome=outcome,
                findings=[] if outcome == "ok" else [Finding("FIXITY_MISMATCH", path="data/a",
                                                             location=location).to_dict()]))
        for seq, (tier, at) in enumerate((("deep", VERIFIED), ("delivery", FETCHED)), start=1):
            connection.execute(Event.__table__.insert().values(
                seq=seq, event_id=f"e{seq}", event_type="fixity check", outcome="failure",
                agent="strongroom", occurred_at=at, package_id=package(), version=1,
                detail={"location": location, "tier": tier}, prev_hash="0" * 64,
                hash=str(seq) * 64))
        # as the old code left the copy: the delivery taken for its last deep check
        state = dict(package_id=package(), number=1, location=location, octets=500,
                     made_at=made, deep_base_at=FETCHED, shallow_base_at=FETCHED,
                     last_deep_at=FETCHED, last_deep_ok_at=VERIFIED, last_deep_check_id=2,
                     last_deep_outcome="failed")
        assert set(state) <= old_state
        connection.execute(FixityState.__table__.insert().values(**state))
        connection.execute(FixityBacklog.__table__.insert().values(
            location=location, hour=int(FETCHED.timestamp()) // 3600, copies=1, octets=500))
    migrate(engine)
    engine.dispose()

    catalog = SqlCatalog.from_url(url)
    try:
        assert [(c.tier, c.outcome) for c in catalog.fixity_checks()] == [
            ("deep", "ok"), (DELIVERY, "failed")]
        failures, total = catalog.fixity_failures([location])
        assert total == 1 and [(c.tier, c.checked_at) for c in failures] == [(DELIVERY, FETCHED)]
        assert catalog.failing_copies(location) == {(package(), 1)}
        (oldest,) = catalog.fixity_oldest([location], None)
        assert (oldest.last_deep, oldest.deep_since) == (VERIFIED, VERIFIED)
        assert catalog.fixity_backlog([location], AT) == [
            (datetime.fromtimestamp(int(VERIFIED.timestamp()) // 3600 * 3600, UTC), 500)]
        tally = catalog.fixity_tally([location], VERIFIED, AT)
        assert tally.covered == 0  # found damaged on the way out since its good deep check
    finally:
        catalog.engine.dispose()
