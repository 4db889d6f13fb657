"""GET /metrics: what an operator's Prometheus scrapes from the API, parsed with
Prometheus's own text parser, after a real embedded ingest through the API."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ingest.anchoring import anchor_audit_head
from tests.unit.api_support import EXAMPLES, Api, make_api, zip_of

TELEGRAM = "telegram-1951-06-21-mao-to-filippov"
LETTER = "letter-1952-03-sample"


def scrape(api: Api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of GET /metrics by (name, sorted labels)."""
    reply = api.client.get("/metrics", headers=api.auth("admin"))
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(reply.text)
            for sample in family.samples}


def payload_bytes_stored(api: Api) -> int:
    catalog = api.services.catalog
    return sum(f.size for package in catalog.list_packages()
               for version in catalog.list_versions(package.package_id)
               for f in version.files if f.path.startswith("data/"))


@pytest.fixture
def api(tmp_path: Path) -> Api:
    api = make_api(tmp_path / "data", STRONGROOM_REPLICAS=(tmp_path / "replica").as_uri())
    api.upload(zip_of(EXAMPLES), "application/zip")
    return api


def test_metrics_count_the_items_and_bytes_the_api_ingested(api: Api, tmp_path: Path) -> None:
    samples = scrape(api)

    # the state, from the catalog: two records stored, one rejected
    assert samples[("strongroom_items", (("status", "stored"),))] == 2
    assert samples[("strongroom_items", (("status", "rejected"),))] == 1
    assert samples[("strongroom_items", (("status", "accepted"),))] == 0
    assert samples[("strongroom_items_stuck", ())] == 0
    # the work this process did: the same items, and every payload byte stored
    assert samples[("strongroom_items_finished_total", (("status", "stored"),))] == 2
    assert samples[("strongroom_items_finished_total", (("status", "rejected"),))] == 1
    assert samples[("strongroom_ingested_bytes_total", ())] == payload_bytes_stored(api) > 0
    assert samples[("strongroom_ingest_duration_seconds_count", (("status", "stored"),))] == 2
    # the audit chain has events; once its head is anchored, the anchor's age shows
    assert samples[("strongroom_audit_head_sequence", ())] > 0
    anchor_audit_head(api.services)
    anchored = scrape(api)
    assert anchored[("strongroom_audit_anchor_sequence", ())] == \
        anchored[("strongroom_audit_head_sequence", ())]
    assert 0 <= anchored[("strongroom_audit_anchor_age_seconds", ())] < 60


def test_metrics_show_coverage_per_location_and_a_damaged_copy_as_a_failure(
        api: Api, tmp_path: Path) -> None:
    primary, replica = (store.location for store in api.services.locations)
    before = scrape(api)
    # Fresh copies: none deep-checked yet (only a deep check counts), nothing failing.
    for location in (primary, replica):
        assert before[("strongroom_fixity_coverage_ratio", (("location", location),))] == 0.0
        assert before[("strongroom_fixity_copies", (("location", location),))] == 2
    assert before[("strongroom_fixity_failures_outstanding", ())] == 0

    package = api.client.get(f"/packages/{TELEGRAM}", headers=api.auth("auditor")).json()
    stored = (tmp_path / "data" / "objects" / package["package_id"] / "v1" / "data" / "notes"
              / "provenance.md")
    stored.chmod(0o644)
    stored.write_bytes(b"tampered")
    for ref in (TELEGRAM, LETTER):  # deep checks of the primary copies
        reply = api.client.post(f"/packages/{ref}/fixity-checks", headers=api.auth("auditor"))
        assert reply.status_code == 202
    api.app.state.strongroom.wait(timeout=60)

    after = scrape(api)
    assert after[("strongroom_fixity_failures_outstanding", ())] == 1
    assert after[("strongroom_fixity_coverage_ratio", (("location", primary),))] == 0.5
    assert after[("strongroom_fixity_copies_covered", (("location", primary),))] == 1
    assert after[("strongroom_fixity_coverage_ratio", (("location", replica),))] == 0.0
    assert after[("strongroom_fixity_checks_total", (("outcome", "failed"), ("tier", "deep")))] == 1
    assert after[("strongroom_fixity_checks_total", (("outcome", "ok"), ("tier", "deep")))] == 1


def test_metrics_refuse_a_request_without_an_admin_token(tmp_path: Path) -> None:
    api = make_api(tmp_path / "data")

    assert api.client.get("/metrics").status_code == 401
    for role in ("submitter", "auditor", "reader"):
        reply = api.client.get("/metrics", headers=api.auth(role))
        assert reply.status_code == 403, role
        assert "strongroom_" not in reply.text
    assert api.client.get("/metrics", headers=api.auth("admin")).status_code == 200
