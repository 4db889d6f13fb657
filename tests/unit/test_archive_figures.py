"""The archive's figures an operator's alerts watch (ingest.archive_figures): bytes
due for a deep check once the window has passed, the audit chain's head and the age
of its newest anchor, and stuck items, on a real embedded archive."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingest.anchoring import anchor_audit_head
from ingest.archive_figures import archive_figures
from ingest.clock import FixedClock
from ingest.fixity_policy import FixityPolicy
from ingest.pipeline import ingest_item
from ingest.services import Services
from ingest.submission import submit_batch
from strongroom.bootstrap import build_services
from strongroom.settings import Settings
from tests.unit.api_support import EXAMPLES

POLICY = FixityPolicy(window=timedelta(days=90))


def archive(tmp_path: Path) -> Services:
    settings = Settings.from_env({"STRONGROOM_DATA_DIR": str(tmp_path / "data"),
                                  "STRONGROOM_REPLICAS": (tmp_path / "replica").as_uri()})
    services = build_services(settings)
    for item in submit_batch(EXAMPLES, services).items:
        ingest_item(item.item_id, services)
    return services


def copy_bytes(services: Services) -> int:
    catalog = services.catalog
    return sum(f.size for package in catalog.list_packages()
               for version in catalog.list_versions(package.package_id) for f in version.files)


def test_every_copy_is_due_for_a_deep_check_once_the_window_has_passed(tmp_path: Path) -> None:
    services = archive(tmp_path)
    now = archive_figures(services, POLICY)
    assert (now.octets_due_deep, now.copies_overdue) == (0, 0)
    assert [(c.copies, c.covered) for c in now.coverage] == [(2, 0), (2, 0)]

    later = replace(services, clock=FixedClock(datetime.now(UTC) + timedelta(days=91)))
    figures = archive_figures(later, POLICY)

    assert figures.copies_overdue == 4  # two versions, two locations
    assert figures.octets_due_deep == 2 * copy_bytes(services)  # each copy in both places


def test_the_audit_head_and_the_age_of_its_newest_anchor(tmp_path: Path) -> None:
    services = archive(tmp_path)
    before = archive_figures(services, POLICY)
    assert before.audit_head_seq > 0 and before.anchor_seq is None  # never anchored yet

    anchor_audit_head(services)
    hour_later = replace(services, clock=FixedClock(datetime.now(UTC) + timedelta(hours=1)))
    figures = archive_figures(hour_later, POLICY)

    assert figures.anchor_seq == figures.audit_head_seq == before.audit_head_seq
    assert figures.anchor_age_seconds is not None
    assert 3590 < figures.anchor_age_seconds < 3700


def test_items_left_accepted_past_the_stuck_limit_are_counted_stuck(tmp_path: Path) -> None:
    settings = Settings.from_env({"STRONGROOM_DATA_DIR": str(tmp_path / "data")})
    services = build_services(settings)
    submit_batch(EXAMPLES, services)  # accepted, never ingested

    fresh = archive_figures(services, POLICY)
    much_later = replace(services, clock=FixedClock(datetime.now(UTC) + timedelta(hours=2)))
    idle = archive_figures(much_later, POLICY)

    assert fresh.items_by_status["accepted"] == 3 and fresh.stuck_items == 0
    assert idle.stuck_items == 3
