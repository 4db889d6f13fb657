"""The P10 harness (many small items, four worker processes) runs end to end on a
handful of items: every item is stored, every sample is a number, and the
catalog's table sizes are read. Timings mean nothing here."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import bench.services
from bench.ingest_scale import WORKERS, p10_ten_thousand
from bench.measures import Plan
from tests.integration.conftest import REDIS_TEST_DB

pytestmark = pytest.mark.timeout(300)


def test_scale_harness_stores_every_item_and_samples_the_run(
        tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench.services, "REDIS_DB", REDIS_TEST_DB)
    monkeypatch.setattr("bench.ingest_scale.SAMPLE_EVERY", 0.5)
    plan = Plan(scale_items=12)
    with bench.services.services(tmp_path) as svc:
        result = p10_ten_thousand(tmp_path, plan, lambda _line: None, svc)
    assert result["id"] == "P10" and f"{WORKERS} worker processes" in result["title"]
    last = result["samples"][-1]
    assert (last["done"], last["stored"], last["failed"]) == (12, 12, 0)
    for name, figure in result["figures"].items():
        assert all(math.isfinite(value) for value in figure["runs"]), name
    sizes = result["table_sizes"]
    assert sizes["packages"]["rows"] == 12
    # A row per payload file and per tag file: the same number for every version.
    assert sizes["files"]["rows"] > 12 and sizes["files"]["rows"] % 12 == 0
    assert sizes["events"]["bytes"] > sizes["events"]["index_bytes"] > 0
